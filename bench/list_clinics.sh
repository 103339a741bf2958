#!/usr/bin/env bash
# Lists the benchmark dataset's clinics for the load generators: writes bench.clinics (clinic n,
# its tenant id and FrontDesk user, readable by the application role: pgbench draws from it) and
# prints the first <count> clinics, with their providers, as the JSON hpms-loadgen reads.
#
#   bench/list_clinics.sh <database> <count> > clinics.json
#
# Expects DATABASE_ADMIN_URL (the owner).
set -euo pipefail
database=${1:?usage: bench/list_clinics.sh <database> <count>}
count=${2:?usage: bench/list_clinics.sh <database> <count>}
: "${DATABASE_ADMIN_URL:?DATABASE_ADMIN_URL must be set (make sets it)}"
cd "$(dirname "$0")/.."
source bench/common.sh
url=$(with_database "$DATABASE_ADMIN_URL" "$database")
"$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$url" -c "set client_min_messages = warning" \
  -c "drop schema if exists bench cascade" \
  -c "create schema bench" \
  -c "create table bench.clinics as
        select substr(t.slug, 7)::int as n, t.id as tenant_id, u.id as frontdesk_id
          from tenants t join users u on u.tenant_id = t.id and u.username = 'frontdesk'
         where t.slug like 'bench-%'" \
  -c "alter table bench.clinics add primary key (n)" \
  -c "grant usage on schema bench to hpms_app" -c "grant select on bench.clinics to hpms_app"
# Read from the clinics' own tables rather than bench.clinics: on Citus that is a local table,
# which the coordinator cannot join with the distributed users.
"$psql_bin" -X -q -At -v ON_ERROR_STOP=1 -d "$url" -c "
  select json_agg(json_build_object('tenant_id', t.id, 'frontdesk', f.id, 'providers', p.ids)
                  order by t.n)
    from (select id, substr(slug, 7)::int as n from tenants where slug like 'bench-%') t
    join users f on f.tenant_id = t.id and f.username = 'frontdesk'
    join (select tenant_id, json_agg(id order by username) as ids from users
           where role_id = 3 group by tenant_id) p on p.tenant_id = t.id
   where t.n <= $count"

#!/usr/bin/env bash
# Makes a fresh template database for the tests to clone, migrated by the given hpms binary
# (`scripts/prepare_test_template.sh target/debug/hpms`), after dropping the databases an
# earlier run left. Expects DATABASE_URL, DATABASE_ADMIN_URL and HPMS_TEST_TEMPLATE.
set -euo pipefail
hpms=${1:?usage: prepare_test_template.sh <path to the hpms binary>}
: "${DATABASE_URL:?DATABASE_URL must be set (make test sets it)}"
: "${DATABASE_ADMIN_URL:?DATABASE_ADMIN_URL must be set (make test sets it)}"
: "${HPMS_TEST_TEMPLATE:?HPMS_TEST_TEMPLATE must be set}"

# Swaps the database name (the URL path, before any ?query) of a postgres:// URL.
with_database() { sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$2#" <<<"$1"; }
# The owner's connection to the maintenance database, from which databases are created and dropped.
maintenance_url=$(with_database "$DATABASE_ADMIN_URL" postgres)
template_url=$(with_database "$DATABASE_ADMIN_URL" "$HPMS_TEST_TEMPLATE")

psql_bin=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$psql_bin" ] || { echo "prepare_test_template.sh: psql not found; install the PostgreSQL client (apt-get install postgresql-client)" >&2; exit 1; }
sql() { "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$maintenance_url" -tAc "$1"; }

# Databases left by an earlier run (tests do not drop their own: a failed test's data stays to inspect).
for leftover in $(sql "select datname from pg_database where datname like 'hpms\_test\_%'"); do
  sql "drop database \"$leftover\" with (force)"
done
sql "drop database if exists \"$HPMS_TEST_TEMPLATE\" with (force)"
# The statement statistics start empty too: the tenant predicate check (scripts/test.sh) reads
# what this run sends. Where pg_stat_statements is not installed, the check says how to add it.
sql "do \$\$ begin
       if exists (select from pg_extension where extname = 'pg_stat_statements') then
         perform pg_stat_statements_reset();
       end if;
     end \$\$"
sql "create database \"$HPMS_TEST_TEMPLATE\""
DATABASE_ADMIN_URL=$template_url "$hpms" migrate


#!/usr/bin/env bash
# A private three-node Citus cluster for the scale-out suite (`make test-citus`): a coordinator
# that holds no shards and two workers, each a PostgreSQL of this machine's with the Citus
# extension (../shared/tools/install-citus.sh builds it where Debian has no package), on ports of
# their own, under .pg/citus/ of this checkout.
#
#   scripts/citus_cluster.sh start   initialise (first time) and start the three nodes, join the
#                                    workers, create the roles and the hpms database
#   scripts/citus_cluster.sh env     print the coordinator's DATABASE_URL / DATABASE_ADMIN_URL,
#                                    CITUS_WORKERS (host:port,…) and development secrets
#                                    (starting the cluster if needed)
#   scripts/citus_cluster.sh schema <hpms>
#                                    the README's Scale-out steps up to distributing: `hpms
#                                    migrate` through the coordinator, sql/citus/settings.sql (as
#                                    the superuser) and policies.sql (as the owner)
#   scripts/citus_cluster.sh distribute
#                                    the last step, sql/citus/distribute.sql as shipped (Citus
#                                    copies rows already loaded into the shards)
#   scripts/citus_cluster.sh stop    stop the three nodes
#   scripts/citus_cluster.sh wipe    stop them and delete the cluster
#
# What Citus needs, as found on a real cluster (README, Scale-out):
# - Each node has a certificate of its own, X.509 v3: `create extension citus` would otherwise
#   make a v1 self-signed one, which rustls (the server's TLS) refuses even under sslmode=prefer.
# - The roles are created through the coordinator after the workers have joined, so Citus
#   creates them on the workers too and tracks them; created on each node by hand, `hpms migrate`
#   fails at its first CREATE SCHEMA (Citus re-creating the owner role on the workers).
# - The workers trust connections from 127.0.0.1: the coordinator connects to them as the
#   requesting role, with no password to give; so does the coordinator for its own superuser.
#   Every node listens on loopback only.
set -euo pipefail
root_dir=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/postgres.sh
source "$root_dir/scripts/lib/postgres.sh"

checkout_hash=$(printf %s "$root_dir" | cksum | cut -d' ' -f1)
# Three ports above the private cluster's range (scripts/devdb.sh uses 20000–29999).
base_port=$((30000 + checkout_hash % 9000 * 3))
nodes=(coordinator worker1 worker2)
database=hpms
socket_dir=/tmp
owner_role=hpms_owner
owner_password=hpms_owner
app_role=hpms_app
app_password=hpms_app

pg_bin=$(find_pg_bin)
cluster_dir="$(private_cluster_root "$root_dir" "$checkout_hash")/citus"

port_of() {
  local index
  for index in "${!nodes[@]}"; do
    if [ "${nodes[$index]}" = "$1" ]; then echo $((base_port + index)); return; fi
  done
  die "no node $1"
}
data_of() { echo "$cluster_dir/$1"; }
node_psql() {
  local node=$1; shift
  as_pg_user "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$socket_dir" -p "$(port_of "$node")" -U postgres "$@"
}
is_running() {
  [ -f "$(data_of "$1")/postmaster.pid" ] && as_pg_user "$pg_bin/pg_ctl" -D "$(data_of "$1")" status >/dev/null 2>&1
}

require_citus() {
  local libdir
  libdir=$(as_pg_user "$pg_bin/pg_config" --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)
  [ -f "$libdir/citus.so" ] || die "the Citus extension is not installed ($libdir/citus.so).
Install it with ../shared/tools/install-citus.sh (as root; it builds Citus 13.2.2 from source),
or your platform's package (https://docs.citusdata.com/en/stable/installation/)."
}

initialise() {
  local node=$1 data
  data=$(data_of "$node")
  mkdir -p "$cluster_dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$cluster_dir"; fi
  local host_auth=scram-sha-256
  [ "$node" = coordinator ] || host_auth=trust
  as_pg_user "$pg_bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host="$host_auth" \
    --encoding=UTF8 --no-locale >"$cluster_dir/$node-initdb.log" 2>&1 ||
    die "initdb of $node failed; see $cluster_dir/$node-initdb.log"
  # A v3 certificate of the node's own (see the header).
  as_pg_user openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$data/server.key" -out "$data/server.crt" \
    >/dev/null 2>&1 || die "openssl could not make $node's certificate (apt-get install openssl)"
  as_pg_user chmod 600 "$data/server.key"
  if [ "$node" = coordinator ]; then
    # Citus connects to the coordinator itself as the superuser (shard moves do), with no
    # password to give: trusted from loopback, before initdb's scram rule for everyone else.
    as_pg_user sed -i '/^# TYPE/a host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' \
      "$data/pg_hba.conf"
  fi
  as_pg_user tee -a "$data/postgresql.conf" >/dev/null <<CONF
# HPMS private Citus cluster: $node
listen_addresses = '127.0.0.1'
port = $(port_of "$node")
unix_socket_directories = '$socket_dir'
shared_preload_libraries = 'citus'
max_connections = 300
shared_buffers = 128MB
ssl = on
# Shard moves copy a clinic's shards by logical replication.
wal_level = logical
# Citus' counters of single- and multi-shard executions, which the suite reads.
citus.enable_stat_counters = on
CONF
}

start_node() {
  local node=$1
  [ -d "$(data_of "$node")" ] || initialise "$node"
  if ! is_running "$node"; then
    as_pg_user "$pg_bin/pg_ctl" -D "$(data_of "$node")" -l "$cluster_dir/$node.log" -w -t 300 start >/dev/null ||
      die "$node did not start; see $cluster_dir/$node.log"
  fi
  if ! node_psql "$node" -d postgres -tAc "select 1 from pg_database where datname = '$database'" | grep -q 1; then
    node_psql "$node" -d postgres -c "create database $database"
  fi
  node_psql "$node" -d "$database" -c "set client_min_messages = warning" -c "create extension if not exists citus"
}

# The workers join the coordinator's metadata, then the roles are made through the coordinator,
# which creates them on every node; the database belongs to the owner role everywhere.
join_and_create_roles() {
  node_psql coordinator -d "$database" -tAc \
    "select citus_set_coordinator_host('127.0.0.1', $(port_of coordinator))" >/dev/null
  local worker
  for worker in worker1 worker2; do
    node_psql coordinator -d "$database" -tAc \
      "select citus_add_node('127.0.0.1', $(port_of "$worker"))
        where not exists (select from pg_dist_node where nodeport = $(port_of "$worker"))" >/dev/null
  done
  node_psql coordinator -d "$database" -v owner_password="$owner_password" \
    -v app_password="$app_password" <"$root_dir/sql/roles.sql"
  local node
  for node in "${nodes[@]}"; do
    node_psql "$node" -d postgres >/dev/null <<SQL
select format('alter database %I owner to $owner_role', datname)
  from pg_database where datname = '$database' and datdba <> '$owner_role'::regrole \gexec
SQL
  done
  # Through the coordinator, which grants it on the workers too (on a worker, Citus refuses DDL
  # on objects it distributes).
  node_psql coordinator -d "$database" -c "grant create on schema public to $owner_role"
}

start() {
  require_citus
  local node
  for node in "${nodes[@]}"; do start_node "$node"; done
  join_and_create_roles
}

stop() {
  local node
  for node in "${nodes[@]}"; do
    if is_running "$node"; then
      as_pg_user "$pg_bin/pg_ctl" -D "$(data_of "$node")" -m fast -w stop >/dev/null
    fi
  done
}

print_env() {
  local url="127.0.0.1:$(port_of coordinator)/$database"
  echo "export DATABASE_URL=postgres://$app_role:$app_password@$url"
  echo "export DATABASE_ADMIN_URL=postgres://$owner_role:$owner_password@$url"
  echo "export CITUS_SUPERUSER_URL=postgres://postgres@localhost:$(port_of coordinator)/$database?host=$socket_dir"
  echo "export CITUS_WORKERS=127.0.0.1:$(port_of worker1),127.0.0.1:$(port_of worker2)"
  dev_secrets "$cluster_dir/dev-secrets.env" citus-1
}

coordinator_sql() { # <url> <file>
  PGOPTIONS=--client-min-messages=warning "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 "$1" -f "$2" >/dev/null
}

schema() { # <hpms binary>
  start >&2
  eval "$(print_env)"
  HPMS_LOG=error "$1" migrate >/dev/null
  coordinator_sql "$CITUS_SUPERUSER_URL" "$root_dir/sql/citus/settings.sql"
  coordinator_sql "$DATABASE_ADMIN_URL" "$root_dir/sql/citus/policies.sql"
}

distribute() {
  eval "$(print_env)"
  coordinator_sql "$CITUS_SUPERUSER_URL" "$root_dir/sql/citus/distribute.sql"
}

case "${1:-}" in
  start) start ;;
  schema) schema "${2:?usage: $0 schema <hpms binary>}" ;;
  distribute) distribute ;;
  env) start >&2; print_env ;;
  stop) stop ;;
  wipe) stop; rm -rf "$cluster_dir" ;;
  psql) shift; node=${1:-coordinator}; shift || true; node_psql "$node" -d "$database" "$@" ;;
  *) die "usage: $0 start|env|schema <hpms>|distribute|stop|wipe|psql [node]" ;;
esac

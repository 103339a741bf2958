#!/usr/bin/env bash
# The private PostgreSQL cluster that `make run` and `make test` use when no DATABASE_URL is given.
#
#   scripts/devdb.sh start   initialise (first time) and start the cluster under .pg/, create the roles
#   scripts/devdb.sh env     print `export DATABASE_URL=… DATABASE_ADMIN_URL=…` for it (starting it if needed),
#                            plus development secrets HPMS_TOKEN_SECRET, HPMS_PHI_KEYS and
#                            HPMS_API_KEY_ENCRYPTION_KEYS
#   scripts/devdb.sh stop    stop it
#   scripts/devdb.sh psql    a superuser psql on it (for debugging; bench/citus.sh copies with it)
#
# The cluster lives in the git-ignored .pg/ folder of this checkout and listens on 127.0.0.1 only,
# on a port derived from the checkout's path so two clones on one machine do not collide; its
# Unix socket is in /tmp, whose path is short enough for any checkout (sockets allow ~107 bytes).
# PostgreSQL refuses to run as root, so when invoked as root the server runs as the `postgres`
# OS user; if that user cannot reach the checkout (a clone under /root, say), the cluster lives
# in /var/tmp instead and .pg/ is a link to it. HPMS_DEVDB_DIR (with HPMS_DEVDB_PORT) puts a
# cluster elsewhere: the database-restart test runs one of its own, to stop and start at will.
set -euo pipefail

root_dir=$(cd "$(dirname "$0")/.." && pwd)
checkout_hash=$(printf %s "$root_dir" | cksum | cut -d' ' -f1)
port=${HPMS_DEVDB_PORT:-$((20000 + checkout_hash % 10000))}
database=${HPMS_DEVDB_NAME:-hpms}
socket_dir=/tmp

# The role names are fixed by sql/roles.sql and the migrations' grants (schema.sql lists them).
# Development-only passwords: the cluster accepts TCP connections from 127.0.0.1 only.
owner_role=hpms_owner
owner_password=hpms_owner
app_role=hpms_app
app_password=hpms_app

# shellcheck source=scripts/lib/postgres.sh
source "$root_dir/scripts/lib/postgres.sh"

pg_bin=$(find_pg_bin)

if [ -n "${HPMS_DEVDB_DIR:-}" ]; then
  pg_dir=$HPMS_DEVDB_DIR
else
  pg_dir=$(private_cluster_root "$root_dir" "$checkout_hash")
fi
data_dir="$pg_dir/data"
log_file="$pg_dir/server.log"

superuser_psql() {
  as_pg_user "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$socket_dir" -p "$port" -U postgres "$@"
}

is_running() {
  [ -f "$data_dir/postmaster.pid" ] && as_pg_user "$pg_bin/pg_ctl" -D "$data_dir" status >/dev/null 2>&1
}

initialise() {
  mkdir -p "$pg_dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$pg_dir"; fi
  as_pg_user "$pg_bin/initdb" -D "$data_dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --no-locale >"$pg_dir/initdb.log" 2>&1 ||
    die "initdb failed; see $pg_dir/initdb.log"
  cat >>"$data_dir/postgresql.conf" <<CONF
# HPMS private cluster
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$socket_dir'
max_connections = 300
shared_buffers = 256MB
CONF
}

# pg_stat_statements collects what the application role sent during a test run, for the check that
# every statement on a tenant table filters on tenant_id (tests/integration/database/tenant_predicates.rs).
# Utility statements (the per-request SET LOCALs, a distinct text per clinic and user) are not
# tracked, so they cannot crowd the statements out. A cluster made before this gets the settings
# and a restart.
statement_stats_conf() {
  cat <<CONF
# HPMS statement statistics
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 10000
pg_stat_statements.track_utility = off
CONF
}
ensure_statement_stats() {
  grep -q "^shared_preload_libraries = 'pg_stat_statements'" "$data_dir/postgresql.conf" && return
  statement_stats_conf | as_pg_user tee -a "$data_dir/postgresql.conf" >/dev/null
  if is_running; then
    as_pg_user "$pg_bin/pg_ctl" -D "$data_dir" -l "$log_file" -m fast -w -t 60 restart >/dev/null ||
      die "the server did not restart; see $log_file"
  fi
}

create_roles_and_database() {
  superuser_psql -d postgres -v owner_password="$owner_password" -v app_password="$app_password" \
    <"$root_dir/sql/roles.sql"
  if ! superuser_psql -d postgres -tAc "select 1 from pg_database where datname = '$database'" | grep -q 1; then
    superuser_psql -d postgres -c "create database \"$database\" owner $owner_role"
  fi
  # In the maintenance database, where scripts/test.sh resets it as the owner role and the check
  # reads it as the application role (which sees its own statements' text).
  superuser_psql -d postgres -c "set client_min_messages = warning" -c "create extension if not exists pg_stat_statements" \
    -c "grant execute on function pg_stat_statements_reset(oid, oid, bigint) to $owner_role"
}

# After a crash PostgreSQL first syncs the whole data directory, which on a cluster full of test
# databases takes over a minute.
start() {
  [ -d "$data_dir" ] || initialise
  ensure_statement_stats
  if ! is_running; then
    as_pg_user "$pg_bin/pg_ctl" -D "$data_dir" -l "$log_file" -w -t 300 start >/dev/null ||
      die "the server did not start; see $log_file"
  fi
  create_roles_and_database
}


print_env() {
  echo "export DATABASE_URL=postgres://$app_role:$app_password@127.0.0.1:$port/$database"
  echo "export DATABASE_ADMIN_URL=postgres://$owner_role:$owner_password@127.0.0.1:$port/$database"
  dev_secrets "$pg_dir/dev-secrets.env" dev-1
}

case "${1:-}" in
  start) start ;;
  env) start >&2; print_env ;;
  stop) if is_running; then as_pg_user "$pg_bin/pg_ctl" -D "$data_dir" -m fast -w stop >/dev/null; fi ;;
  psql) shift; superuser_psql -d "$database" "$@" ;;
  *) die "usage: $0 start|env|stop|psql" ;;
esac

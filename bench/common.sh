# What the benchmark scripts share; sourced by bench/*.sh, never run.
#   with_database <url> <name>   the URL with its database replaced
#   psql_bin                     the PostgreSQL client (the error says what to install)
#   drop_database <name>         drops a database as the owner (DATABASE_ADMIN_URL), see below
with_database() { sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$2#" <<<"$1"; }

psql_bin=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$psql_bin" ] || {
  echo "$(basename "$0"): psql not found; install the PostgreSQL client (apt-get install postgresql-client)" >&2
  exit 1
}

# A backend of pgbench's or the server's lives on for a moment after its client has closed, and
# the owner may not terminate the application role's backends (DROP … WITH (FORCE) then fails
# with "must be a member of the role whose process is being terminated"): so the drop first waits,
# up to 10 s, until only the owner's own sessions remain there, which FORCE may end.
drop_database() {
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$(with_database "$DATABASE_ADMIN_URL" postgres)" -c "
    do \$\$ begin
      for attempt in 1..200 loop
        exit when not exists (select from pg_stat_activity where datname = '$1' and usename <> current_user);
        perform pg_sleep(0.05);
      end loop;
    end \$\$" -c "set client_min_messages = warning" -c "drop database if exists \"$1\" with (force)"
}

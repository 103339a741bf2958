# What the benchmark scripts share; sourced by bench/*.sh, never run.
#   with_database <url> <name>   the URL with its database replaced
#   psql_bin, pgbench_bin        the PostgreSQL client and pgbench (the error says what to install)
#   drop_database <name>         drops a database as the owner (DATABASE_ADMIN_URL), see below
#   tree_ticks <pid>             CPU clock ticks of a process tree, see below
#   cluster_postmaster           the pid of the postmaster of DATABASE_ADMIN_URL's cluster
with_database() { sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$2#" <<<"$1"; }

psql_bin=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$psql_bin" ] || {
  echo "$(basename "$0"): psql not found; install the PostgreSQL client (apt-get install postgresql-client)" >&2
  exit 1
}
pgbench_bin=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pgbench_bin" ] || {
  echo "$(basename "$0"): pgbench is needed; install the PostgreSQL client (apt-get install postgresql-client)" >&2
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

# CPU time in clock ticks of a process tree: the process, the children it has reaped (cutime,
# cstime) and, recursively, its live children. A backend that ends during a run is counted by the
# postmaster's reaped time; one alive throughout, by its own. A child reaped while the tree is
# being read would be counted in neither place (the parent's reaped time was read before, the
# child is gone after: pgbench's backends, which all exit as it ends, went missing this way), so
# a reading counts only when the tree's children were the same before and after it.
tree_ticks() { # <pid>
  local before after ticks attempt
  for attempt in $(seq 1 100); do
    before=$(tree_children "$1")
    ticks=$(tree_ticks_now "$1")
    after=$(tree_children "$1")
    [ "$before" = "$after" ] && break
  done
  echo "$ticks"
}
tree_children() { # <pid>: every descendant's pid
  local child
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$child"
    tree_children "$child"
  done
}
tree_ticks_now() { # <pid>
  local pid=$1 total child
  [ -r "/proc/$pid/stat" ] || { echo 0; return; }
  # The fields after the command name, which is in parentheses and may hold spaces.
  total=$(sed -E 's/^.*\) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }') || total=0
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
    total=$((total + $(tree_ticks_now "$child")))
  done
  echo "$((${total:-0}))"
}
# The cluster's postmaster: the process listening on DATABASE_ADMIN_URL's port (pg_stat_activity
# hides other users' processes from a role that is not a superuser).
cluster_postmaster() {
  local port pid
  port=$(sed -nE 's#^postgres(ql)?://[^@]*@[^:/]*:([0-9]+).*#\2#p' <<<"$DATABASE_ADMIN_URL")
  pid=$(ss -Hltnp "sport = :${port:-5432}" 2>/dev/null | sed -nE 's/.*"postgres",pid=([0-9]+).*/\1/p' | head -n 1)
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || {
    echo "$(basename "$0"): the PostgreSQL cluster's processes are not on this machine; CPU per request needs them" >&2
    return 1
  }
  echo "$pid"
}

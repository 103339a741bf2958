#!/usr/bin/env bash
# The benchmark (BENCHMARKS.md explains it and its results). In order:
#   1. the scale curve: loads the synthetic dataset (bench/load_dataset.sh) in three steps (1%,
#      10%, 100% of its clinics) and after each measures scenario (a) for one clinic;
#   2. HPMS: each scenario at each concurrency, each request for a random clinic;
#   3. the ceilings: pgbench running what a perfect server would send for (a) and (b)
#      (bench/pgbench/), and PostGraphile v4 (bench/postgraphile/) for (a);
#   4. the cost of safety, in a throwaway copy of the database: (c) with the audit trigger on and
#      off, and (a)'s SQL with row-level security on and off.
# Prints markdown tables (also written to target/bench/report.md), the server's peak memory, and
# the CPU each system spends a request: the server process (with its workers) and the PostgreSQL
# cluster (the postmaster, its live backends and the backends it reaped), read from /proc around
# each measured run, so both must run on this machine.
#
#   bench/run.sh <hpms binary> <hpms-loadgen binary>
#
# Expects DATABASE_URL (the application role) and DATABASE_ADMIN_URL (the owner); the Makefile
# provides them. Settings: BENCH_SECONDS (20) a measured run, BENCH_WARMUP_SECONDS (3) before
# each, BENCH_CONNECTIONS ("8 32"), BENCH_SCENARIOS ("schedule search book mix"), and the
# dataset sizes of bench/load_dataset.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
hpms=${1:?usage: bench/run.sh <hpms binary> <hpms-loadgen binary>}
loadgen=${2:?usage: bench/run.sh <hpms binary> <hpms-loadgen binary>}
: "${DATABASE_URL:?DATABASE_URL must be set (make sets it)}"
: "${DATABASE_ADMIN_URL:?DATABASE_ADMIN_URL must be set (make sets it)}"
database=${BENCH_DATABASE:-hpms_bench}
throwaway=${database}_safety
seconds=${BENCH_SECONDS:-20}
warmup=${BENCH_WARMUP_SECONDS:-3}
connections=${BENCH_CONNECTIONS:-8 32}
scenarios=${BENCH_SCENARIOS:-schedule search book mix}
clinics=${BENCH_CLINICS:-200}
per_clinic=${BENCH_APPOINTMENTS:-5000}
pool_size=${HPMS_DB_POOL_SIZE:-16}
export BENCH_DATABASE=$database

source bench/common.sh
pgbench_bin=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pgbench_bin" ] || {
  echo "bench/run.sh: pgbench is needed; install the PostgreSQL client (apt-get install postgresql-client)" >&2
  exit 1
}
owner_sql() { "$psql_bin" -X -q -At -v ON_ERROR_STOP=1 -d "$(with_database "$DATABASE_ADMIN_URL" "$1")" -c "$2"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

work=$(mktemp -d)
server= postgraphile=
stop_server() { [ -z "$server" ] || { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=; }; }
stop_postgraphile() {
  [ -z "$postgraphile" ] || { kill "$postgraphile" 2>/dev/null; wait "$postgraphile" 2>/dev/null || true; postgraphile=; }
}
trap 'stop_server; stop_postgraphile; drop_database "$throwaway" || true; rm -rf "$work"' EXIT
export HPMS_TOKEN_SECRET
HPMS_TOKEN_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')

list_clinics() { bench/list_clinics.sh "$1" "$2" >"$work/clinics-$2.json"; }

start_server() {
  port=$(free_port)
  DATABASE_URL=$(with_database "$DATABASE_URL" "$1") HPMS_DB_POOL_SIZE=$pool_size \
  HPMS_PHI_KEYS=bench:$(head -c 32 /dev/urandom | base64 | tr -d '\n') \
  HPMS_API_KEY_ENCRYPTION_KEYS=bench:$(head -c 32 /dev/urandom | base64 | tr -d '\n') \
  HPMS_LISTEN=127.0.0.1:$port HPMS_LOG=warn HPMS_BOOKING_HORIZON_DAYS=36500 "$hpms" serve 2>"$work/server.log" &
  server=$! serving=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "bench/run.sh: the server did not become ready" >&2
  exit 1
}

# CPU time in clock ticks of a process tree: the process, the children it has reaped (cutime,
# cstime) and, recursively, its live children. A backend that ends during a run is counted by the
# postmaster's reaped time; one alive throughout, by its own.
tree_ticks() { # <pid>
  local pid=$1 total child
  [ -r "/proc/$pid/stat" ] || { echo 0; return; }
  # The fields after the command name, which is in parentheses and may hold spaces.
  total=$(sed -E 's/^.*\) //' "/proc/$pid/stat" | awk '{ print $12 + $13 + $14 + $15 }')
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
    total=$((total + $(tree_ticks "$child")))
  done
  echo "$total"
}
clock_ticks=$(getconf CLK_TCK)
# The cluster's postmaster: the process listening on the database's port (pg_stat_activity hides
# other users' processes from a role that is not a superuser).
database_port=$(sed -nE 's#^postgres(ql)?://[^@]*@[^:/]*:([0-9]+).*#\2#p' <<<"$DATABASE_ADMIN_URL")
postmaster=$(ss -Hltnp "sport = :${database_port:-5432}" 2>/dev/null | sed -nE 's/.*"postgres",pid=([0-9]+).*/\1/p' | head -n 1)
[ -n "$postmaster" ] && [ -r "/proc/$postmaster/stat" ] || {
  echo "bench/run.sh: the PostgreSQL cluster's processes are not on this machine; CPU per request needs them" >&2
  exit 1
}
# The process whose CPU a run charges to the server: HPMS, or PostGraphile (set as each starts).
serving=
# Milliseconds of CPU a request from a delta of ticks: "n/a" when there is no process to read.
ms_per_request() { # <ticks> <requests>
  awk -v ticks="$1" -v requests="$2" -v hz="$clock_ticks" \
    'BEGIN { if (requests > 0 && ticks >= 0) printf "%.2f", 1000 * ticks / hz / requests; else print "n/a" }'
}

# One load generator run after a warm-up, as "req/s p50 p99 server-CPU-ms db-CPU-ms" (CPU a
# request, of the process in `serving` and of the cluster). Each run books in a year of its own
# (counted in a file: callers run this in a subshell), years ahead: hence the server's booking
# horizon of a century (HPMS_BOOKING_HORIZON_DAYS) rather than the default two years.
echo 2027 >"$work/booking_year"
drive() { # <url> <clinics json> <scenario> <connections> [loadgen options]
  local url=$1 clinics_json=$2 scenario=$3 n=$4 year
  shift 4
  local run=("$loadgen" --url "$url" --clinics "$clinics_json" --scenario "$scenario"
    --connections "$n" --days "$days" "$@")
  year=$(($(cat "$work/booking_year") + 2))
  echo "$year" >"$work/booking_year"
  "${run[@]}" --seconds "$warmup" --booking-year "$year" >/dev/null
  local server_before db_before out requests
  server_before=$(tree_ticks "$serving") db_before=$(tree_ticks "$postmaster")
  out=$("${run[@]}" --seconds "$seconds" --booking-year "$((year + 1))")
  requests=$(sed -nE 's/.* requests=([0-9]+) .*/\1/p' <<<"$out")
  printf '%s %s %s\n' \
    "$(sed -E 's/.* req\/s=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+).*$/\1 \2 \3/' <<<"$out")" \
    "$(ms_per_request $(($(tree_ticks "$serving") - server_before)) "$requests")" \
    "$(ms_per_request $(($(tree_ticks "$postmaster") - db_before)) "$requests")"
}

# pgbench after a warm-up, as "req/s p50 p99 n/a db-CPU-ms" (percentiles from its per-transaction
# log; pgbench is the client, so there is no server process to charge).
pgbench_drive() { # <database> <script> <connections>
  local url script=$2 n=$3
  url=$(with_database "$DATABASE_URL" "$1")
  local run=("$pgbench_bin" -n -M prepared -f "$script" -D clinics="$clinics" -D days="$days"
    -c "$n" -j 2)
  "${run[@]}" -T "$(printf '%.0f' "$warmup")" "$url" >/dev/null 2>&1 || true
  rm -f "$work"/pgbench_log.*
  local db_before db_ticks
  db_before=$(tree_ticks "$postmaster")
  "${run[@]}" -T "$(printf '%.0f' "$seconds")" -l --log-prefix="$work/pgbench_log" "$url" \
    >"$work/pgbench.out" 2>&1 || { cat "$work/pgbench.out" >&2; exit 1; }
  db_ticks=$(($(tree_ticks "$postmaster") - db_before))
  grep -q 'number of failed transactions: 0 ' "$work/pgbench.out" ||
    { cat "$work/pgbench.out" >&2; exit 1; }
  local tps requests
  tps=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$work/pgbench.out")
  requests=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$work/pgbench.out")
  cat "$work"/pgbench_log.* | awk '{ print $3 }' | sort -n | awk -v tps="$tps" '
    { latency[NR] = $1 }
    END { p50 = latency[int((NR - 1) * 0.50 + 1.5)]; p99 = latency[int((NR - 1) * 0.99 + 1.5)]
          printf "%.0f %.2f %.2f", tps, p50 / 1000, p99 / 1000 }'
  echo " n/a $(ms_per_request "$db_ticks" "$requests")"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }'; }
rss_mib() { awk '/'"$1"'/ { printf "%.1f", $2 / 1024 }' "/proc/$server/status"; }
report() { tee -a "$work/report.md"; }
days=$(((per_clinic / ${BENCH_PROVIDERS:-5} + 15) / 16))
schedule_url() { echo "http://127.0.0.1:$port/graphql"; }

echo "# HPMS benchmark, $(date -u +%Y-%m-%dT%H:%MZ)" | report
echo "$(nproc) cores ($(sed -nE 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $("$psql_bin" -X -At -d "$(with_database "$DATABASE_ADMIN_URL" postgres)" -c 'show server_version'); server, database and load generator on this machine; $seconds s a run after $warmup s of warm-up." | report

# 1. The scale curve.
steps=$(printf '%s\n' $((clinics / 100)) $((clinics / 10)) "$clinics" | awk '$1 < 1 { $1 = 1 } { print }' | uniq)
scale_rows= loaded=0
for step in $steps; do
  BENCH_FIRST_CLINIC=$((loaded + 1)) BENCH_CLINICS=$step bench/load_dataset.sh "$hpms"
  loaded=$step
  list_clinics "$database" 1
  [ -n "$server" ] || start_server "$database"
  read -r rps p50 p99 _ < <(drive "$(schedule_url)" "$work/clinics-1.json" schedule 8)
  scale_rows+="| $((step * per_clinic)) | $rps | $p50 | $p99 | $(rss_mib VmRSS) |"$'\n'
done
list_clinics "$database" "$clinics"

# 2. HPMS, each scenario at each concurrency.
declare -A hpms_figures
for scenario in $scenarios; do
  for n in $connections; do
    hpms_figures[$scenario/$n]=$(drive "$(schedule_url)" "$work/clinics-$clinics.json" "$scenario" "$n")
  done
done
hpms_peak=$(rss_mib VmHWM)
stop_server

# 3. The ceilings.
declare -A pgbench_figures postgraphile_figures
for scenario in schedule search; do
  for n in $connections; do
    pgbench_figures[$scenario/$n]=$(pgbench_drive "$database" "bench/pgbench/$scenario.sql" "$n")
  done
done
if command -v node >/dev/null && command -v npm >/dev/null; then
  [ -d bench/postgraphile/node_modules ] ||
    npm ci --prefix bench/postgraphile --no-audit --no-fund --loglevel=error >&2
  port=$(free_port)
  DATABASE_URL=$(with_database "$DATABASE_URL" "$database") PORT=$port POOL_SIZE=$pool_size \
    node bench/postgraphile/server.js 2>"$work/postgraphile.log" &
  postgraphile=$! serving=$!
  until curl -s -o /dev/null -X POST "http://127.0.0.1:$port/graphql"; do
    kill -0 "$postgraphile" 2>/dev/null || { cat "$work/postgraphile.log" >&2; exit 1; }
    sleep 0.2
  done
  for n in $connections; do
    postgraphile_figures[schedule/$n]=$(drive "http://127.0.0.1:$port/graphql" \
      "$work/clinics-$clinics.json" schedule "$n" --server postgraphile)
  done
  stop_postgraphile
else
  echo "PostGraphile skipped: it needs Node.js 18 or later with npm (apt-get install nodejs npm)." | report
fi

# 4. The cost of safety, in a throwaway copy.
drop_database "$throwaway"
owner_sql postgres "create database \"$throwaway\" template \"$database\""
start_server "$throwaway"
audit_on=$(drive "$(schedule_url)" "$work/clinics-$clinics.json" book 8)
owner_sql "$throwaway" "alter table appointments disable trigger audit;
  alter table appointment_events disable trigger audit;
  alter table appointment_event_counters disable trigger audit;"
audit_off=$(drive "$(schedule_url)" "$work/clinics-$clinics.json" book 8)
stop_server
# With row-level security off nothing limits the query to the clinic, so both runs name the
# clinic in the query too: the same rows either way, and the difference is the policies' cost.
sed 's/^ WHERE NOT a.is_deleted$/ WHERE NOT a.is_deleted AND a.tenant_id = current_setting('"'app.tenant_id'"')::uuid/' \
  bench/pgbench/schedule.sql >"$work/schedule_by_clinic.sql"
grep -q "a.tenant_id = current_setting" "$work/schedule_by_clinic.sql"
rls_on=$(pgbench_drive "$throwaway" "$work/schedule_by_clinic.sql" 8)
owner_sql "$throwaway" "alter table appointments disable row level security;
  alter table patients disable row level security; alter table users disable row level security;
  alter table appointment_types disable row level security;"
rls_off=$(pgbench_drive "$throwaway" "$work/schedule_by_clinic.sql" 8)
drop_database "$throwaway"

# The tables.
# A run's req/s, p50 and p99 as three cells; its CPU a request (server, database) as two.
cell() { [ -n "${1:-}" ] && cut -d' ' -f1-3 <<<"$1" | sed 's/ / | /g' || echo "n/a | n/a | n/a"; }
cpu_cells() { [ -n "${1:-}" ] && cut -d' ' -f4-5 <<<"$1" | sed 's/ / | /g' || echo "n/a | n/a"; }
rps_of() { cut -d' ' -f1 <<<"${1:-0}"; }
{
  echo
  echo "## Scenarios: HPMS and the ceilings"
  echo
  echo "| scenario | conns | HPMS req/s | p50 ms | p99 ms | pgbench req/s | p50 ms | p99 ms | HPMS / pgbench | PostGraphile req/s | p50 ms | p99 ms | HPMS / PostGraphile |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for scenario in $scenarios; do
    for n in $connections; do
      key=$scenario/$n
      mine=${hpms_figures[$key]:-}
      ceiling=${pgbench_figures[$key]:-} other=${postgraphile_figures[$key]:-}
      to_ceiling=n/a to_other=n/a
      [ -z "$ceiling" ] || to_ceiling=$(ratio "$(rps_of "$mine")" "$(rps_of "$ceiling")")
      [ -z "$other" ] || to_other=$(ratio "$(rps_of "$mine")" "$(rps_of "$other")")
      echo "| $scenario | $n | $(cell "$mine") | $(cell "$ceiling") | $to_ceiling | $(cell "$other") | $to_other |"
    done
  done
  echo
  echo "HPMS peak RSS over these runs: $hpms_peak MiB."
  echo
  echo "## CPU a request: the server process and the PostgreSQL cluster"
  echo
  echo "Read from /proc around each measured run: the server (HPMS, or PostGraphile with its workers) and the cluster (postmaster, live backends, reaped backends). pgbench is the client, so it has no server column."
  echo
  echo "| scenario | conns | HPMS server ms | HPMS database ms | pgbench database ms | PostGraphile server ms | PostGraphile database ms | HPMS database / pgbench database | HPMS server / pgbench database |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for scenario in $scenarios; do
    for n in $connections; do
      key=$scenario/$n
      mine=${hpms_figures[$key]:-} ceiling=${pgbench_figures[$key]:-}
      other=${postgraphile_figures[$key]:-}
      db_ratio=n/a server_ratio=n/a
      if [ -n "$ceiling" ]; then
        db_ratio=$(awk -v a="$(cut -d' ' -f5 <<<"$mine")" -v b="$(cut -d' ' -f5 <<<"$ceiling")" \
          'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }')
        server_ratio=$(awk -v a="$(cut -d' ' -f4 <<<"$mine")" -v b="$(cut -d' ' -f5 <<<"$ceiling")" \
          'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }')
      fi
      pgbench_db=n/a
      [ -z "$ceiling" ] || pgbench_db=$(cut -d' ' -f5 <<<"$ceiling")
      echo "| $scenario | $n | $(cpu_cells "$mine") | $pgbench_db | $(cpu_cells "$other") | $db_ratio | $server_ratio |"
    done
  done
  echo
  echo "## Scale curve: scenario (a) for one clinic at 8 connections as the dataset grows"
  echo
  echo "| appointments in all | req/s | p50 ms | p99 ms | server RSS MiB |"
  echo "|---|---|---|---|---|"
  printf '%s' "$scale_rows"
  echo
  echo "## The cost of safety (8 connections, a throwaway copy of the dataset)"
  echo
  echo "| measured | on: req/s | p50 ms | p99 ms | off: req/s | p50 ms | p99 ms | overhead |"
  echo "|---|---|---|---|---|---|---|---|"
  overhead() { awk -v on="$(rps_of "$1")" -v off="$(rps_of "$2")" 'BEGIN { printf "%.0f%%", 100 * (off - on) / off }'; }
  echo "| (c) bookAppointment, audit trigger | $(cell "$audit_on") | $(cell "$audit_off") | $(overhead "$audit_on" "$audit_off") |"
  echo "| (a)'s SQL (pgbench), row-level security | $(cell "$rls_on") | $(cell "$rls_off") | $(overhead "$rls_on" "$rls_off") |"
} | report
mkdir -p target/bench
cp "$work/report.md" target/bench/report.md

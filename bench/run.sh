#!/usr/bin/env bash
# The benchmark (BENCHMARKS.md explains it and its results). In order:
#   1. the scale curve: loads the synthetic dataset (bench/load_dataset.sh) in three steps (1%,
#      10%, 100% of its clinics) and after each measures scenario (a) for one clinic;
#   2. HPMS: each scenario at each concurrency, each request for a random clinic;
#   3. the pgbench ceilings: what a perfect server would send for (a) and (b) (bench/pgbench/);
#   4. side by side: scenario (a) at 8 connections in interleaved rounds (BENCH_ROUNDS of
#      BENCH_ROUND_SECONDS) of HPMS, PostGraphile v5 (bench/postgraphile5/), PostGraphile v4
#      (bench/postgraphile/) and pgbench, with the ratios issue 18 sets its targets in;
#   5. the cost of safety, in a throwaway copy of the database: (c) with the audit trigger on and
#      off, and (a)'s SQL with row-level security on and off.
# The reading scenarios, (a) and (b), are driven by wrk (bench/wrk/requests.lua, with requests the
# load generator writes); bookings, which each need a slot of their own, by the load generator.
# Every answer is checked: any failed request fails the run.
# Prints markdown tables (also written to target/bench/report.md), the server's peak memory, and
# the CPU each system spends a request: the server process (with its workers) and the PostgreSQL
# cluster (the postmaster, its live backends and the backends it reaped), read from /proc around
# each measured run, so both must run on this machine.
#
#   bench/run.sh <hpms binary> <hpms-loadgen binary>
#
# Expects DATABASE_URL (the application role) and DATABASE_ADMIN_URL (the owner); the Makefile
# provides them. Settings: BENCH_SECONDS (20) a measured run, BENCH_WARMUP_SECONDS (3) before
# each, BENCH_CONNECTIONS ("8 32"), BENCH_SCENARIOS ("schedule search book mix"), BENCH_ROUNDS (3)
# and BENCH_ROUND_SECONDS (15) for the side-by-side (at BENCH_SIDE_BY_SIDE_CONNECTIONS, 8),
# BENCH_PARTS (all of "scale scenarios side-by-side safety"; without scale the dataset must be
# loaded already), and the dataset sizes of
# bench/load_dataset.sh.
set -euo pipefail
# A failure inside $(…) (a failed request in a measured run) fails the whole benchmark.
shopt -s inherit_errexit
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
scripts/ensure_commands.sh "the benchmark (bench/run.sh)" wrk=wrk
parts=${BENCH_PARTS:-scale scenarios side-by-side safety}
part() { [[ " $parts " == *" $1 "* ]]; }
side_connections=${BENCH_SIDE_BY_SIDE_CONNECTIONS:-8}
rounds=${BENCH_ROUNDS:-3}
round_seconds=${BENCH_ROUND_SECONDS:-15}
owner_sql() { "$psql_bin" -X -q -At -v ON_ERROR_STOP=1 -d "$(with_database "$DATABASE_ADMIN_URL" "$1")" -c "$2"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

work=$(mktemp -d)
server=
declare -A postgraphile_pids postgraphile_ports
stop_server() { [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=; }; }
stop_postgraphiles() {
  local pid
  for pid in "${postgraphile_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  postgraphile_pids=()
}
trap 'stop_server; stop_postgraphiles; drop_database "$throwaway" || true; rm -rf "$work"' EXIT
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

clock_ticks=$(getconf CLK_TCK)
postmaster=$(cluster_postmaster)
# The process whose CPU a run charges to the server: HPMS, or PostGraphile (set as each starts).
serving=
# Milliseconds of CPU a request from a delta of ticks: "n/a" when there is no process to read.
ms_per_request() { # <ticks> <requests>
  awk -v ticks="$1" -v requests="$2" -v hz="$clock_ticks" \
    'BEGIN { if (requests > 0 && ticks >= 0) printf "%.2f", 1000 * ticks / hz / requests; else print "n/a" }'
}

# One run of a scenario for <seconds>, as the load generator's line of figures. (a) and (b) are
# sent by wrk, from a file of requests the load generator writes once per server, scenario and
# clinics (seeded, so every server is asked for the same clinics and days); a booking run by the
# load generator, each in a year of its own, years ahead: hence the server's booking horizon of a
# century (HPMS_BOOKING_HORIZON_DAYS) rather than the default two years. The years taken are kept
# in the dataset's bench.booking_years, so a run of some parts only (BENCH_PARTS) on a dataset an
# earlier run booked into still finds its slots free.
next_booking_year() {
  owner_sql "$database" "insert into bench.booking_years
    select coalesce(max(year), 2027) + 1 from bench.booking_years returning year"
}
requests_file() { # <url> <clinics json> <scenario> [loadgen options]: writes it the first time
  local file
  file=$work/requests-$3-$(basename "$2" .json)$(tr -c 'a-z0-9\n' - <<<"${*:4}").txt
  [ -f "$file" ] || "$loadgen" --url "$1" --clinics "$2" --scenario "$3" --days "$days" "${@:4}" \
    --write-requests "$file"
  echo "$file"
}
generate_load() { # <url> <clinics json> <scenario> <connections> <seconds> [loadgen options]
  local url=$1 clinics_json=$2 scenario=$3 n=$4 duration=$5 year
  shift 5
  local loadgen_run=("$loadgen" --url "$url" --clinics "$clinics_json" --scenario "$scenario"
    --days "$days" "$@")
  case $scenario in
    schedule | search)
      local requests out
      requests=$(requests_file "$url" "$clinics_json" "$scenario" "$@")
      out=$(wrk --timeout 10s -c "$n" -t "$((n < 2 ? n : 2))" -d "$(printf '%.0f' "$duration")s" \
        -s bench/wrk/requests.lua "$url" -- "$requests" 2>"$work/wrk.err" | grep '^wrk requests=') ||
        { cat "$work/wrk.err" >&2; exit 1; }
      grep -q ' errors=0 ' <<<"$out" || { echo "$out" >&2; cat "$work/wrk.err" >&2; exit 1; }
      echo "$out"
      ;;
    *)
      year=$(next_booking_year)
      "${loadgen_run[@]}" --connections "$n" --seconds "$duration" --booking-year "$year"
      ;;
  esac
}

# One measured run after a warm-up, as "req/s p50 p99 server-CPU-ms db-CPU-ms" (CPU a request, of
# the process in `serving` and of the cluster). The run lasts BENCH_SECONDS, or `run_seconds`
# when the caller sets it.
drive() { # <url> <clinics json> <scenario> <connections> [loadgen options]
  local url=$1 clinics_json=$2 scenario=$3 n=$4
  shift 4
  generate_load "$url" "$clinics_json" "$scenario" "$n" "$warmup" "$@" >/dev/null
  local server_before db_before out requests
  server_before=$(tree_ticks "$serving") db_before=$(tree_ticks "$postmaster")
  out=$(generate_load "$url" "$clinics_json" "$scenario" "$n" "${run_seconds:-$seconds}" "$@")
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
  "${run[@]}" -T "$(printf '%.0f' "${run_seconds:-$seconds}")" -l --log-prefix="$work/pgbench_log" "$url" \
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

# 1. The scale curve (without it, the dataset must be loaded already).
scale_rows=
if part scale; then
  steps=$(printf '%s\n' $((clinics / 100)) $((clinics / 10)) "$clinics" | awk '$1 < 1 { $1 = 1 } { print }' | uniq)
  loaded=0
  for step in $steps; do
    BENCH_FIRST_CLINIC=$((loaded + 1)) BENCH_CLINICS=$step bench/load_dataset.sh "$hpms"
    loaded=$step
    list_clinics "$database" 1
    [ -n "$server" ] || start_server "$database"
    figures=$(drive "$(schedule_url)" "$work/clinics-1.json" schedule 8)
    read -r rps p50 p99 _ <<<"$figures"
    scale_rows+="| $((step * per_clinic)) | $rps | $p50 | $p99 | $(rss_mib VmRSS) |"$'\n'
  done
fi
list_clinics "$database" "$clinics"
owner_sql "$database" "create table if not exists bench.booking_years (year int not null)"

# 2. HPMS, each scenario at each concurrency.
declare -A hpms_figures
hpms_peak=n/a
if part scenarios; then
  [ -n "$server" ] || start_server "$database"
  for scenario in $scenarios; do
    for n in $connections; do
      hpms_figures[$scenario/$n]=$(drive "$(schedule_url)" "$work/clinics-$clinics.json" "$scenario" "$n")
    done
  done
  hpms_peak=$(rss_mib VmHWM)
fi
stop_server

# 3. The pgbench ceilings.
declare -A pgbench_figures
if part scenarios; then
  for scenario in schedule search; do
    for n in $connections; do
      pgbench_figures[$scenario/$n]=$(pgbench_drive "$database" "bench/pgbench/$scenario.sql" "$n")
    done
  done
fi

# 4. Side by side: (a) at 8 connections, in interleaved rounds of every system, so that what the
# machine does meanwhile falls on all of them alike.
start_postgraphile() { # <system> <its directory under bench/> <its script>
  [ -d "bench/$2/node_modules" ] || npm ci --prefix "bench/$2" --no-audit --no-fund --loglevel=error >&2
  postgraphile_ports[$1]=$(free_port)
  DATABASE_URL=$(with_database "$DATABASE_URL" "$database") PORT=${postgraphile_ports[$1]} \
    POOL_SIZE=$pool_size node "bench/$2/$3" 2>"$work/$1.log" &
  postgraphile_pids[$1]=$!
  until curl -s -o /dev/null -X POST "http://127.0.0.1:${postgraphile_ports[$1]}/graphql"; do
    kill -0 "${postgraphile_pids[$1]}" 2>/dev/null || { cat "$work/$1.log" >&2; exit 1; }
    sleep 0.2
  done
}
# The appointments a requests file's first request is answered with, so that a system answering
# nothing (PostGraphile v5 on a Node.js without Promise.withResolvers) is caught before it is
# timed: every system must answer the same rows.
first_answer_rows() { # <url> <requests file>
  local token body
  IFS=$'\t' read -r token body <"$2"
  curl -sf -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
    --data-raw "$body" "$1" | python3 -c '
import json, sys
page = next(iter(json.load(sys.stdin)["data"].values()))
print(len(page["edges"] if "edges" in page else page["nodes"]))'
}
systems=
declare -A system_url system_options side_by_side
if part side-by-side; then
  systems=hpms
  start_server "$database"
  system_url[hpms]=$(schedule_url)
  if command -v node >/dev/null && command -v npm >/dev/null; then
    start_postgraphile postgraphile5 postgraphile5 server.mjs
    start_postgraphile postgraphile4 postgraphile server.js
    systems+=" postgraphile5 postgraphile4"
    for system in postgraphile5 postgraphile4; do
      system_url[$system]=http://127.0.0.1:${postgraphile_ports[$system]}/graphql
    done
    system_options[postgraphile5]="--server postgraphile5"
    system_options[postgraphile4]="--server postgraphile"
  else
    echo "PostGraphile skipped: it needs Node.js 18 or later with npm (apt-get install nodejs npm)." | report
  fi
  expected_rows=
  for system in $systems; do
    # shellcheck disable=SC2086 # the options are words
    rows=$(first_answer_rows "${system_url[$system]}" \
      "$(requests_file "${system_url[$system]}" "$work/clinics-$clinics.json" schedule ${system_options[$system]:-})")
    : "${expected_rows:=$rows}"
    [ "$rows" -gt 0 ] && [ "$rows" = "$expected_rows" ] || {
      echo "bench/run.sh: $system answered the first schedule request with $rows appointments, HPMS with $expected_rows" >&2
      exit 1
    }
  done
  for round in $(seq 1 "$rounds"); do
    for system in $systems; do
      if [ "$system" = hpms ]; then serving=$server; else serving=${postgraphile_pids[$system]}; fi
      # shellcheck disable=SC2086 # the options are words
      side_by_side[$system/$round]=$(run_seconds=$round_seconds drive "${system_url[$system]}" \
        "$work/clinics-$clinics.json" schedule "$side_connections" ${system_options[$system]:-})
    done
    side_by_side[pgbench/$round]=$(run_seconds=$round_seconds pgbench_drive "$database" bench/pgbench/schedule.sql "$side_connections")
  done
  stop_server
  stop_postgraphiles
  systems+=" pgbench"
fi

# 5. The cost of safety, in a throwaway copy.
if part safety; then
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
fi

# The tables.
# A run's req/s, p50 and p99 as three cells; its CPU a request (server, database) as two.
cell() { [ -n "${1:-}" ] && cut -d' ' -f1-3 <<<"$1" | sed 's/ / | /g' || echo "n/a | n/a | n/a"; }
cpu_cells() { [ -n "${1:-}" ] && cut -d' ' -f4-5 <<<"$1" | sed 's/ / | /g' || echo "n/a | n/a"; }
rps_of() { cut -d' ' -f1 <<<"${1:-0}"; }
# A run's CPU a request: "server" or "database".
cpu_of() { if [ "$2" = server ]; then cut -d' ' -f4 <<<"$1"; else cut -d' ' -f5 <<<"$1"; fi; }
multiple() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
{
  echo
  if part scenarios; then
    echo "## Scenarios: HPMS and the ceilings"
    echo
    echo "| scenario | conns | HPMS req/s | p50 ms | p99 ms | pgbench req/s | p50 ms | p99 ms | HPMS / pgbench |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for scenario in $scenarios; do
      for n in $connections; do
        key=$scenario/$n
        mine=${hpms_figures[$key]:-} ceiling=${pgbench_figures[$key]:-}
        to_ceiling=n/a
        [ -z "$ceiling" ] || to_ceiling=$(ratio "$(rps_of "$mine")" "$(rps_of "$ceiling")")
        echo "| $scenario | $n | $(cell "$mine") | $(cell "$ceiling") | $to_ceiling |"
      done
    done
    echo
    echo "HPMS peak RSS over these runs: $hpms_peak MiB."
    echo
    echo "## CPU a request: the server process and the PostgreSQL cluster"
    echo
    echo "Read from /proc around each measured run: the server (HPMS) and the cluster (postmaster, live backends, reaped backends). pgbench is the client, so it has no server column."
    echo
    echo "| scenario | conns | HPMS server ms | HPMS database ms | pgbench database ms | HPMS database / pgbench database | HPMS server / pgbench database |"
    echo "|---|---|---|---|---|---|---|"
    for scenario in $scenarios; do
      for n in $connections; do
        key=$scenario/$n
        mine=${hpms_figures[$key]:-} ceiling=${pgbench_figures[$key]:-}
        db_ratio=n/a server_ratio=n/a pgbench_db=n/a
        if [ -n "$ceiling" ]; then
          pgbench_db=$(cpu_of "$ceiling" database)
          db_ratio=$(multiple "$(cpu_of "$mine" database)" "$pgbench_db")
          server_ratio=$(multiple "$(cpu_of "$mine" server)" "$pgbench_db")
        fi
        echo "| $scenario | $n | $(cpu_cells "$mine") | $pgbench_db | $db_ratio | $server_ratio |"
      done
    done
    echo
  fi
  if part side-by-side; then
    echo "## Side by side: scenario (a) at $side_connections connections, $rounds interleaved rounds of $round_seconds s"
    echo
    echo "Each round runs every system in turn, after a warm-up of its own; wrk sends the same request file's requests to each HTTP server (PostGraphile's in its schema: the same rows and fields)."
    echo
    echo "| round | system | req/s | p50 ms | p99 ms | server CPU ms/req | database CPU ms/req |"
    echo "|---|---|---|---|---|---|---|"
    for round in $(seq 1 "$rounds"); do
      for system in $systems; do
        echo "| $round | $system | $(cell "${side_by_side[$system/$round]}") | $(cpu_cells "${side_by_side[$system/$round]}") |"
      done
    done
    echo
    echo "Against issue 18's targets (the range over the rounds, each round's ratio of its own runs):"
    echo
    echo "| target | rounds | met |"
    echo "|---|---|---|"
    # Each round's value of <expression> over the round's figures (hpms, pgbench, postgraphile5,
    # postgraphile4: "req/s p50 p99 server database" each), as "min–max" and whether all meet <test>.
    over_rounds() { # <label> <awk expression> <awk test on v> <format>
      local values=
      for round in $(seq 1 "$rounds"); do
        values+="${side_by_side[hpms/$round]:-} | ${side_by_side[pgbench/$round]:-} | ${side_by_side[postgraphile5/$round]:-} | ${side_by_side[postgraphile4/$round]:-}"$'\n'
      done
      awk -F' [|] ' -v label="$1" -v format="$4" '
        function field(column, n,   parts) { split($column, parts, " "); return parts[n] }
        NF == 4 && $1 != "" {
          v = '"$2"'
          if (v == "") next
          if (count == 0 || v < low) low = v
          if (count == 0 || v > high) high = v
          count++
          if (!('"$3"')) missed = 1
        }
        END {
          if (count == 0) { printf "| %s | n/a | n/a |\n", label; exit }
          printf "| %s | " format "–" format " | %s |\n", label, low, high, missed ? "**not met**" : "met"
        }' <<<"$values"
    }
    # Columns: 1 HPMS, 2 pgbench, 3 PostGraphile v5, 4 v4; fields: 1 req/s, 2 p50, 3 p99,
    # 4 server CPU, 5 database CPU.
    over_rounds "(a) HPMS / PostGraphile v5 req/s ≥ 3×" 'field(3, 1) ? field(1, 1) / field(3, 1) : 0' 'v >= 3' '%.2f×'
    over_rounds "(a) HPMS / PostGraphile v4 req/s ≥ 3×" 'field(4, 1) ? field(1, 1) / field(4, 1) : 0' 'v >= 3' '%.2f×'
    over_rounds "(a) HPMS / pgbench req/s ≥ 40%" '100 * field(1, 1) / field(2, 1)' 'v >= 40' '%.0f%%'
    over_rounds "(a) database CPU a request, HPMS / pgbench ≤ 1.5×" 'field(1, 5) / field(2, 5)' 'v <= 1.5' '%.2f×'
    over_rounds "(a) HPMS server CPU / pgbench database CPU ≤ 1×" 'field(1, 4) / field(2, 5)' 'v <= 1' '%.2f×'
    over_rounds "(a) HPMS p99 ≤ 25 ms" 'field(1, 3)' 'v <= 25' '%.1f ms'
    echo
  fi
  if part scale; then
    echo "## Scale curve: scenario (a) for one clinic at 8 connections as the dataset grows"
    echo
    echo "| appointments in all | req/s | p50 ms | p99 ms | server RSS MiB |"
    echo "|---|---|---|---|---|"
    printf '%s' "$scale_rows"
    echo
  fi
  if part safety; then
    echo "## The cost of safety (8 connections, a throwaway copy of the dataset)"
    echo
    echo "| measured | on: req/s | p50 ms | p99 ms | off: req/s | p50 ms | p99 ms | overhead |"
    echo "|---|---|---|---|---|---|---|---|"
    overhead() { awk -v on="$(rps_of "$1")" -v off="$(rps_of "$2")" 'BEGIN { printf "%.0f%%", 100 * (off - on) / off }'; }
    echo "| (c) bookAppointment, audit trigger | $(cell "$audit_on") | $(cell "$audit_off") | $(overhead "$audit_on" "$audit_off") |"
    echo "| (a)'s SQL (pgbench), row-level security | $(cell "$rls_on") | $(cell "$rls_off") | $(overhead "$rls_on" "$rls_off") |"
  fi
} | report
mkdir -p target/bench
cp "$work/report.md" target/bench/report.md

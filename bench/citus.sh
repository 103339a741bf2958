#!/usr/bin/env bash
# Scenario (a), a clinic's day, on Citus against one PostgreSQL (`make bench-citus`; BENCHMARKS.md
# has the results). The synthetic dataset (bench/dataset.sql) is loaded once, into one PostgreSQL:
# the private cluster's database hpms_bench_single (bench/load_dataset.sh). A fresh three-node
# Citus cluster (scripts/citus_cluster.sh: a coordinator holding no shards and two workers on this
# machine) is set up as the README's Scale-out says, and the same rows are copied into its
# distributed tables, table by table, with triggers off (session_replication_role = replica,
# propagated to the shards' connections): the audit rows and events the load wrote are copied
# as they are rather than written again. (Running dataset.sql on Citus does not work: its
# multi-shard inserts commit in two phases, in which the event trigger's NOTIFY is refused.)
# Then the same server build runs against each in turn, the load generator driving scenario (a)
# at BENCH_CONNECTIONS, in BENCH_ROUNDS interleaved rounds of BENCH_SECONDS each (after a warm-up).
# Prints a markdown table (also written to target/bench/citus.md).
#
#   bench/citus.sh <hpms binary> <hpms-loadgen binary>
#
# Expects DATABASE_URL / DATABASE_ADMIN_URL of the one PostgreSQL: the Makefile provides the
# private cluster's, which the copy reads as its superuser (scripts/devdb.sh psql). Sizes as
# bench/load_dataset.sh's, but BENCH_CLINICS defaults to 40 (200,000 appointments): the load and
# the copy stay within two minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
hpms=${1:?usage: bench/citus.sh <hpms binary> <hpms-loadgen binary>}
loadgen=${2:?usage: bench/citus.sh <hpms binary> <hpms-loadgen binary>}
: "${DATABASE_URL:?DATABASE_URL must be set (make sets it)}"
: "${DATABASE_ADMIN_URL:?DATABASE_ADMIN_URL must be set (make sets it)}"
export BENCH_CLINICS=${BENCH_CLINICS:-40}
per_clinic=${BENCH_APPOINTMENTS:-5000}
providers=${BENCH_PROVIDERS:-5}
seconds=${BENCH_SECONDS:-15}
warmup=${BENCH_WARMUP_SECONDS:-3}
rounds=${BENCH_ROUNDS:-3}
connections=${BENCH_CONNECTIONS:-8}
days=$(((per_clinic / providers + 15) / 16))
single_database=hpms_bench_single

source bench/common.sh
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
server=
stop_server() { [ -z "$server" ] || { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=; }; }
trap 'stop_server; scripts/citus_cluster.sh stop; rm -rf "$work"' EXIT
export HPMS_TOKEN_SECRET
HPMS_TOKEN_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')

# One PostgreSQL.
single_app_url=$(with_database "$DATABASE_URL" "$single_database")
single_admin_url=$DATABASE_ADMIN_URL
BENCH_DATABASE=$single_database bench/load_dataset.sh "$hpms"
DATABASE_ADMIN_URL=$single_admin_url bench/list_clinics.sh "$single_database" "$BENCH_CLINICS" \
  >"$work/clinics-single.json"

# Citus: the schema distributed while empty, then the rows copied in foreign-key order.
scripts/citus_cluster.sh wipe
scripts/citus_cluster.sh schema "$hpms"
scripts/citus_cluster.sh distribute
eval "$(scripts/citus_cluster.sh env 2>/dev/null)"
citus_app_url=$DATABASE_URL
citus_admin_url=$DATABASE_ADMIN_URL
started=$(date +%s)
for table in tenants users user_sessions appointment_types patients appointments appointment_events \
  appointment_event_counters audit_logs; do
  scripts/devdb.sh psql -d "$single_database" -c "copy $table to stdout" |
    scripts/citus_cluster.sh psql coordinator -c "set citus.propagate_set_commands = 'local'" \
      -c "begin" -c "set local session_replication_role = replica" -c "copy $table from stdin" -c "commit"
done
scripts/citus_cluster.sh psql coordinator -c "vacuum analyze"
echo "citus: copied in $(( $(date +%s) - started )) s" >&2
DATABASE_ADMIN_URL=$citus_admin_url bench/list_clinics.sh hpms "$BENCH_CLINICS" >"$work/clinics-citus.json"

start_server() { # <application role's URL>
  port=$(free_port)
  DATABASE_URL=$1 HPMS_DB_POOL_SIZE=16 \
  HPMS_PHI_KEYS=bench:$(head -c 32 /dev/urandom | base64 | tr -d '\n') \
  HPMS_API_KEY_ENCRYPTION_KEYS=bench:$(head -c 32 /dev/urandom | base64 | tr -d '\n') \
  HPMS_LISTEN=127.0.0.1:$port HPMS_LOG=warn "$hpms" serve 2>"$work/server.log" &
  server=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "bench/citus.sh: the server did not become ready" >&2
  exit 1
}

drive() { # <clinics json> -> "req/s p50 p99"
  local run=("$loadgen" --url "http://127.0.0.1:$port/graphql" --clinics "$1" --scenario schedule
    --connections "$connections" --days "$days")
  "${run[@]}" --seconds "$warmup" >/dev/null
  "${run[@]}" --seconds "$seconds" |
    sed -E 's/.* req\/s=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+)$/\1 \2 \3/'
}

declare -A figures
for round in $(seq 1 "$rounds"); do
  for system in single citus; do
    if [ "$system" = single ]; then start_server "$single_app_url"; else start_server "$citus_app_url"; fi
    figures[$system/$round]=$(drive "$work/clinics-$system.json")
    stop_server
  done
done

mkdir -p target/bench
{
  echo "# Scenario (a) on Citus and on one PostgreSQL, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "$(nproc) cores; $BENCH_CLINICS clinics x $per_clinic appointments; $connections connections;" \
    "$rounds interleaved rounds of $seconds s after $warmup s of warm-up; server, databases and" \
    "load generator on this machine (Citus: coordinator + 2 workers)."
  echo
  echo "| round | one PostgreSQL req/s | p50 ms | p99 ms | Citus req/s | p50 ms | p99 ms | Citus / one |"
  echo "|---|---|---|---|---|---|---|---|"
  for round in $(seq 1 "$rounds"); do
    read -r s_rps s_p50 s_p99 <<<"${figures[single/$round]}"
    read -r c_rps c_p50 c_p99 <<<"${figures[citus/$round]}"
    ratio=$(awk -v a="$c_rps" -v b="$s_rps" 'BEGIN { printf "%.0f%%", 100 * a / b }')
    echo "| $round | $s_rps | $s_p50 | $s_p99 | $c_rps | $c_p50 | $c_p99 | $ratio |"
  done
} | tee target/bench/citus.md

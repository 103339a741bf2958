#!/usr/bin/env bash
# Runs the benchmark: loads the synthetic dataset (bench/load_dataset.sh), starts `hpms serve` on
# it, and drives each scenario at each concurrency with the load generator, each request for a
# random clinic; then prints one table and the server's peak memory.
#
#   bench/run.sh <hpms binary> <hpms-loadgen binary>
#
# Expects DATABASE_URL and DATABASE_ADMIN_URL (the Makefile provides them). Settings:
#   BENCH_SECONDS (20) per run, BENCH_CONNECTIONS ("8 32"), BENCH_SCENARIOS ("schedule search
#   mix book"), and the dataset sizes of bench/load_dataset.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
hpms=${1:?usage: bench/run.sh <hpms binary> <hpms-loadgen binary>}
loadgen=${2:?usage: bench/run.sh <hpms binary> <hpms-loadgen binary>}
: "${DATABASE_URL:?DATABASE_URL must be set (make sets it)}"
: "${DATABASE_ADMIN_URL:?DATABASE_ADMIN_URL must be set (make sets it)}"
database=${BENCH_DATABASE:-hpms_bench}
seconds=${BENCH_SECONDS:-20}
connections=${BENCH_CONNECTIONS:-8 32}
scenarios=${BENCH_SCENARIOS:-schedule search mix book}
export BENCH_DATABASE=$database

bench/load_dataset.sh "$hpms"

with_database() { sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$2#" <<<"$1"; }
psql_bin=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1)
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

# The clinics, their FrontDesk user and providers (the owner reads tenants and users through the
# sign-in lookup's policies; the load generator asks the API for the rest).
"$psql_bin" -X -q -At -d "$(with_database "$DATABASE_ADMIN_URL" "$database")" -c "
  select json_agg(json_build_object(
           'tenant_id', t.id,
           'frontdesk', (select id from users where tenant_id = t.id and username = 'frontdesk'),
           'providers', (select json_agg(id order by username) from users
                          where tenant_id = t.id and role_id = 3)))
  from tenants t where t.slug like 'bench-%'" >"$work/clinics.json"
days=$(( (${BENCH_APPOINTMENTS:-5000} / ${BENCH_PROVIDERS:-5} + 15) / 16 ))

export HPMS_TOKEN_SECRET
HPMS_TOKEN_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL=$(with_database "$DATABASE_URL" "$database") \
HPMS_PHI_KEYS=bench:$(head -c 32 /dev/urandom | base64 | tr -d '\n') \
HPMS_API_KEY_ENCRYPTION_KEYS=bench:$(head -c 32 /dev/urandom | base64 | tr -d '\n') \
HPMS_LISTEN=127.0.0.1:$port HPMS_LOG=warn "$hpms" serve 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done

echo "| scenario | connections | requests | errors | req/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|---|"
booking_year=2027
for scenario in $scenarios; do
  for n in $connections; do
    booking_year=$((booking_year + 1))
    "$loadgen" --url "http://127.0.0.1:$port/graphql" --clinics "$work/clinics.json" \
      --scenario "$scenario" --connections "$n" --seconds "$seconds" --days "$days" \
      --booking-year "$booking_year" |
      sed -E 's/^([a-z]+) connections=([0-9]+) requests=([0-9]+) errors=([0-9]+) req\/s=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+)$/| \1 | \2 | \3 | \4 | \5 | \6 | \7 |/'
  done
done
echo
echo "server peak RSS: $(awk '/VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server/status")"

#!/usr/bin/env bash
# `make soak`: the benchmark's 90/10 read/write mix at 8 connections against a release build for
# SOAK_SECONDS (600), in 30-second slices, with the database stopped for SOAK_OUTAGE_SECONDS (5)
# and started again halfway through. Prints, per slice, requests, errors by code, p50 and p99, and
# the server's memory; the run fails if the server dies, if any error is not UNAVAILABLE, or if
# the slices after the restart still fail. Uses the private cluster (it must restart it): run it
# without DATABASE_URL. Loads a dataset of SOAK_CLINICS (20) clinics first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -z "${DATABASE_URL:-}" ] || { echo "soak.sh restarts the private cluster, so it cannot run against DATABASE_URL; unset it" >&2; exit 2; }
hpms=target/release/hpms loadgen=target/release/hpms-loadgen
seconds=${SOAK_SECONDS:-600} slice=30 outage=${SOAK_OUTAGE_SECONDS:-5}
export BENCH_DATABASE=hpms_soak BENCH_CLINICS=${SOAK_CLINICS:-20}
eval "$(scripts/devdb.sh env 2>/dev/null)"
bench/load_dataset.sh "$hpms"
work=$(mktemp -d)
server=
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; scripts/devdb.sh start >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
bench/list_clinics.sh "$BENCH_DATABASE" "$BENCH_CLINICS" >"$work/clinics.json"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL=$(sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$BENCH_DATABASE#" <<<"$DATABASE_URL") \
HPMS_LISTEN=127.0.0.1:$port HPMS_LOG=warn HPMS_DB_ACQUIRE_TIMEOUT_SECONDS=2 HPMS_BOOKING_HORIZON_DAYS=36500 "$hpms" serve 2>"$work/server.log" &
server=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
rss() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$server/status"; }
echo "| slice | from s | requests | errors by code | p50 ms | p99 ms | server RSS MiB |"
echo "|---|---|---|---|---|---|---|"
echo "| start | 0 | | | | | $(rss) |"
slices=$((seconds / slice)) restart_slice=$((seconds / slice / 2)) failed=0
for n in $(seq 1 "$slices"); do
  if [ "$n" -eq "$restart_slice" ]; then
    # Halfway: the database goes away for a while, then comes back, during this slice's load.
    (sleep 10; scripts/devdb.sh stop; sleep "$outage"; scripts/devdb.sh start >/dev/null 2>&1) &
    restarter=$!
  fi
  line=$("$loadgen" --url "http://127.0.0.1:$port/graphql" --clinics "$work/clinics.json" \
    --scenario mix --connections 8 --seconds "$slice" --booking-year $((2100 + n)) \
    --days $(((${BENCH_APPOINTMENTS:-5000} / ${BENCH_PROVIDERS:-5} + 15) / 16)) --keep-going 2>/dev/null)
  [ "$n" -ne "$restart_slice" ] || wait "$restarter"
  kill -0 "$server" 2>/dev/null || { echo "the server died" >&2; exit 1; }
  requests=$(sed -nE 's/.* requests=([0-9]+).*/\1/p' <<<"$line")
  p50=$(sed -nE 's/.* p50_ms=([0-9.]+).*/\1/p' <<<"$line")
  p99=$(sed -nE 's/.* p99_ms=([0-9.]+).*/\1/p' <<<"$line")
  errors=$(sed -nE 's/.* errors_by_kind=(.*)$/\1/p' <<<"$line")
  echo "| $n | $(((n - 1) * slice)) | $requests | ${errors:-none} | $p50 | $p99 | $(rss) |"
  if [ -n "$errors" ] && { [ "$n" -ne "$restart_slice" ] || grep -qv '^UNAVAILABLE:[0-9]*$' <<<"${errors//,/$'\n'}"; }; then
    failed=1
  fi
done
echo
if [ "$failed" -ne 0 ]; then
  echo "soak: errors outside the restart, or other than UNAVAILABLE, above" >&2
  exit 1
fi
echo "soak: no errors but UNAVAILABLE during the restart; the server ran throughout"

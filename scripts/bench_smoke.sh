#!/usr/bin/env bash
# The benchmark (bench/run.sh) on a tiny dataset, a second a run, on the debug build: every part
# of it runs (the scale steps, each scenario, pgbench, the side-by-side with both PostGraphiles
# when Node.js is installed, the safety comparisons, then bench/profile_database.sh) and any
# failed request fails it, so `make test` keeps the benchmark working.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DATABASE=hpms_bench_smoke BENCH_CLINICS=2 BENCH_PROVIDERS=2 BENCH_PATIENTS=50 \
BENCH_APPOINTMENTS=200 BENCH_SECONDS=1 BENCH_WARMUP_SECONDS=1 BENCH_CONNECTIONS=2 \
BENCH_ROUNDS=1 BENCH_ROUND_SECONDS=1 BENCH_SIDE_BY_SIDE_CONNECTIONS=2 \
  bench/run.sh target/debug/hpms target/debug/hpms-loadgen
BENCH_DATABASE=hpms_bench_smoke BENCH_PROVIDERS=2 BENCH_APPOINTMENTS=200 BENCH_SECONDS=1 \
  bench/profile_database.sh

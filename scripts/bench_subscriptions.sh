#!/usr/bin/env bash
# Subscription fan-out on a release build: 1,000 subscribers of one clinic on one server process
# and a burst of 1,000 events (tests/integration/api/subscription_fanout.rs, at full size). Prints
# the delivery latency and the server's memory. Expects DATABASE_URL and DATABASE_ADMIN_URL;
# the Makefile provides them. Sizes: HPMS_FANOUT_SUBSCRIBERS, HPMS_FANOUT_EVENTS. Like `make test`, it
# drops the test databases it finds first: run one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

export HPMS_TEST_TEMPLATE=${HPMS_TEST_TEMPLATE:-hpms_bench_template}
export HPMS_FANOUT_SUBSCRIBERS=${HPMS_FANOUT_SUBSCRIBERS:-1000}
export HPMS_FANOUT_EVENTS=${HPMS_FANOUT_EVENTS:-1000}
cargo build --release --workspace
scripts/prepare_test_template.sh target/release/hpms
cargo test --release --test integration -- --exact \
  api::subscription_fanout::a_burst_reaches_every_subscriber_once_in_order_and_a_stalled_one_delays_nobody \
  --nocapture 2>&1 | grep -E '^fan-out:|test result|panicked'

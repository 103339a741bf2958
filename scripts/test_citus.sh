#!/usr/bin/env bash
# The scale-out suite: a fresh three-node Citus cluster (scripts/citus_cluster.sh), set up as the
# README's Scale-out says — `hpms migrate` through the coordinator, then sql/citus/settings.sql
# (superuser), policies.sql (owner) and distribute.sql (superuser), as shipped — and the Citus
# specifications (tests/integration/citus/) and the API suite (tests/integration/api/) against
# it. Without the Citus extension it says how to get it and exits 0 (`make test` calls it), or 1
# when HPMS_REQUIRE_CITUS=1 (.ci/run).
set -euo pipefail
root_dir=$(cd "$(dirname "$0")/.." && pwd)
cd "$root_dir"
hpms=${1:-target/debug/hpms}

libdir=$(pg_config --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)
installer=$root_dir/../shared/tools/install-citus.sh
if [ ! -f "$libdir/citus.so" ] && [ -x "$installer" ] && [ "$(id -u)" = 0 ]; then
  echo "test_citus: installing the Citus extension with $installer (about 5 minutes)"
  "$installer"
  # Its packages may upgrade the server's minor version: a cluster running across that upgrade
  # fails every plpgsql call until it restarts.
  scripts/devdb.sh stop
  scripts/devdb.sh start >/dev/null
fi
if [ ! -f "$libdir/citus.so" ]; then
  echo "test_citus: SKIPPED — the Citus extension is not installed ($libdir/citus.so)." >&2
  echo "  Install it with ../shared/tools/install-citus.sh (as root), or your platform's package:" >&2
  echo "  https://docs.citusdata.com/en/stable/installation/" >&2
  [ "${HPMS_REQUIRE_CITUS:-0}" = 1 ] && exit 1
  exit 0
fi

started=$(date +%s)
scripts/citus_cluster.sh wipe
trap 'scripts/citus_cluster.sh stop' EXIT
scripts/citus_cluster.sh schema "$hpms"
scripts/citus_cluster.sh distribute
eval "$(scripts/citus_cluster.sh env 2>/dev/null)"
echo "test_citus: cluster up and distributed in $(( $(date +%s) - started )) s"

# The routing check reads cluster-wide counters, so it runs alone, first.
cargo test --test integration -- --ignored --exact citus::every_statement_of_a_clinics_day_runs_on_one_shard --nocapture

# Then the scale-out specifications and the whole API suite on the one database Citus has, each
# test keeping to clinics of its own (HPMS_TEST_SHARED_DATABASE: tests/integration/helpers), but
# for the tests that are about a whole database rather than a clinic, which the run on one
# PostgreSQL covers:
# - demo_data: the demo's clinics have fixed names and load once per database;
# - phi_key_rotation: a rotation re-seals every clinic's PHI, and the other tests' clinics are
#   sealed under keys of their own servers that the rotating test does not hold;
# - audit_chain: it tampers with audit rows as an intruder would and runs `hpms verify-audit`,
#   which checks every clinic's chain in the database (citus:: checks the chain on Citus);
# - the LISTEN-connection kill: it ends every server instance's LISTEN connections on the database,
#   the other tests' too;
# - the GraphiQL browser walk-through, which needs `make run`'s demo (scripts/run_smoke.sh).
# The webhook and subscription fan-out tests run after the rest, one at a time: every instance on
# a database delivers any clinic's endpoints, so side by side on one database each test's servers
# would deliver the others' events with their own retry settings; and the fan-out's thousand
# events want the machine to themselves.
export HPMS_TEST_SHARED_DATABASE=1
one_at_a_time=(api::webhooks:: api::subscription_fanout::)
cargo test --test integration -- --include-ignored citus:: api:: \
  --skip every_statement_of_a_clinics_day_runs_on_one_shard \
  --skip api::demo_data:: --skip api::phi_key_rotation:: --skip api::audit_chain:: \
  --skip api::appointment_subscriptions::every_event_arrives_exactly_once_while_the_listen_connection_is_killed \
  --skip api::graphiql_in_a_browser::an_analyst_signs_in \
  "${one_at_a_time[@]/#/--skip=}" \
  --test-threads "${HPMS_TEST_THREADS:-8}"
cargo test --test integration -- "${one_at_a_time[@]}" --test-threads 1
echo "test_citus: took $(( $(date +%s) - started )) s"

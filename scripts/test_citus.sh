#!/usr/bin/env bash
# The scale-out suite: a fresh three-node Citus cluster (scripts/citus_cluster.sh), set up as the
# README's Scale-out says — `hpms migrate` through the coordinator, then sql/citus/settings.sql
# (superuser), policies.sql (owner) and distribute.sql (superuser), as shipped — and the Citus
# specifications (tests/integration/citus/) against it. Without the Citus extension it says how
# to get it and exits 0 (`make test` calls it), or 1 when HPMS_REQUIRE_CITUS=1 (.ci/run).
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
eval "$(scripts/citus_cluster.sh env)"
trap 'scripts/citus_cluster.sh stop' EXIT
superuser() { psql -X -q -v ON_ERROR_STOP=1 "$CITUS_SUPERUSER_URL" "$@"; }
"$hpms" migrate >/dev/null 2>&1
superuser -f sql/citus/settings.sql >/dev/null
psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_ADMIN_URL" -f sql/citus/policies.sql
PGOPTIONS=--client-min-messages=warning superuser -f sql/citus/distribute.sql >/dev/null
echo "test_citus: cluster up and distributed in $(( $(date +%s) - started )) s"

# The routing check reads cluster-wide counters, so it runs alone, first.
cargo test --test integration -- --ignored --exact citus::every_statement_of_a_clinics_day_runs_on_one_shard --nocapture
cargo test --test integration -- --ignored citus:: --skip every_statement_of_a_clinics_day_runs_on_one_shard \
  --test-threads "${HPMS_TEST_THREADS:-8}"
echo "test_citus: took $(( $(date +%s) - started )) s"

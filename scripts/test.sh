#!/usr/bin/env bash
# Runs the whole test suite: migrates a fresh template database, then runs every test, each of
# which clones the template into a database of its own (tests/integration/helpers.rs). Expects
# DATABASE_URL (application role) and DATABASE_ADMIN_URL (owner role); the Makefile provides them.
set -euo pipefail
root_dir=$(cd "$(dirname "$0")/.." && pwd)
cd "$root_dir"

: "${DATABASE_URL:?DATABASE_URL must be set (make test sets it)}"
: "${DATABASE_ADMIN_URL:?DATABASE_ADMIN_URL must be set (make test sets it)}"
export HPMS_TEST_TEMPLATE=${HPMS_TEST_TEMPLATE:-hpms_test_template}

# Swaps the database name (the URL path, before any ?query) of a postgres:// URL.
with_database() { sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$2#" <<<"$1"; }
# The owner's connection to the maintenance database, from which databases are created and dropped.
maintenance_url=$(with_database "$DATABASE_ADMIN_URL" postgres)
template_url=$(with_database "$DATABASE_ADMIN_URL" "$HPMS_TEST_TEMPLATE")

psql_bin=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$psql_bin" ] || { echo "test.sh: psql not found; install the PostgreSQL client (apt-get install postgresql-client)" >&2; exit 1; }
sql() { "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$maintenance_url" -tAc "$1"; }

# Databases left by an earlier run (tests do not drop their own: a failed test's data stays to inspect).
for leftover in $(sql "select datname from pg_database where datname like 'hpms\_test\_%'"); do
  sql "drop database \"$leftover\" with (force)"
done
sql "drop database if exists \"$HPMS_TEST_TEMPLATE\" with (force)"
sql "create database \"$HPMS_TEST_TEMPLATE\""
DATABASE_ADMIN_URL=$template_url target/debug/hpms migrate

started=$(date +%s)
threads=${HPMS_TEST_THREADS:-8}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Unit tests first, the integration suite last, so the run closes on the suite's own summary.
cargo test --workspace --lib --bins -- --test-threads "$threads" 2>&1 | tee -a "$log"
cargo test --test integration -- --test-threads "$threads" 2>&1 | tee -a "$log"
scripts/run_smoke.sh
echo "test suite took $(( $(date +%s) - started )) s"
awk '/^test result:/ { passed += $4; failed += $6 }
     END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"

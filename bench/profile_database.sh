#!/usr/bin/env bash
# Where scenario (a)'s database CPU goes: pgbench runs the ceiling (bench/pgbench/schedule.sql: what
# a perfect server sends) and then the ceiling with each statement HPMS sends besides, alone and
# all together, as the application role, and reports each one's database CPU a transaction read
# from /proc as bench/run.sh reads it. The statements are HPMS's own, as its log shows them for
# one request (log_statement = all), with the benchmark clinic's ids:
#   - the credential check in the settings batch: user_session_stands() (the bench dataset opens
#     each FrontDesk user a session with the user's id, at credential version 1);
#   - the page's providers, read by id (here: the clinic's first five users, the same columns);
#   - the Read audit row naming the 50 patients shown (foundation::read_log), with its triggers;
# and, for scale, an empty transaction (the settings and commit) and one with only the Read row.
# Expects the benchmark dataset (make bench loads it; BENCH_DATABASE, hpms_bench, with the sizes
# of bench/load_dataset.sh) and the URLs the Makefile gives.
#
#   bench/profile_database.sh            (make bench-profile; BENCH_SECONDS a run, 10 by default)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?DATABASE_URL must be set (make sets it)}"
: "${DATABASE_ADMIN_URL:?DATABASE_ADMIN_URL must be set (make sets it)}"
source bench/common.sh
database=${BENCH_DATABASE:-hpms_bench}
seconds=${BENCH_SECONDS:-10}
url=$(with_database "$DATABASE_URL" "$database")
postmaster=$(cluster_postmaster)
clinics=$("$psql_bin" -X -At -d "$url" -c "select count(*) from bench.clinics")
[ "$clinics" -gt 0 ] || { echo "bench/profile_database.sh: load the dataset first (make bench)" >&2; exit 1; }
# The days the dataset's appointments cover, as bench/run.sh reckons them from its sizes.
days=$(((${BENCH_APPOINTMENTS:-5000} / ${BENCH_PROVIDERS:-5} + 15) / 16))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

session_check="SELECT 1 WHERE user_session_stands(:tenant::uuid, :frontdesk::uuid, 5::smallint, 1, :frontdesk::uuid);"
providers="SELECT tenant_id, id, username, password_hash, role_id, is_active, credential_version,
       is_deleted, created_at, updated_at, working_hours
  FROM users WHERE tenant_id = :tenant::uuid AND NOT is_deleted LIMIT 5;"
patient_ids=$(python3 -c 'import json, uuid; print(json.dumps([str(uuid.uuid4()) for _ in range(50)]))')
read_row="INSERT INTO audit_logs (tenant_id, entity_name, entity_id, user_id, api_key_id, action, new_values)
VALUES (:tenant::uuid, 'patients', 'profile', :frontdesk::uuid, NULL, 'Read',
  '{\"shown\": [\"identity\"], \"request_id\": \"profile\", \"patient_ids\": $patient_ids}'::jsonb);"

# The ceiling with <statements> before its COMMIT; without the page query when asked.
variant() { # <name> <with page: yes|no> [statement ...]
  local name=$1 page=$2
  shift 2
  awk -v page="$page" '
    /^SELECT a\.id/ { in_page = 1 }
    /^COMMIT;/ { exit }
    !(in_page && page == "no") { print }
    in_page && /;$/ { in_page = 0 }' bench/pgbench/schedule.sql >"$work/$name.sql"
  printf '%s\n' "$@" "COMMIT;" >>"$work/$name.sql"
}
variant ceiling yes
variant session_check yes "$session_check"
variant providers yes "$providers"
variant read_row yes "$read_row"
variant hpms yes "$session_check" "$providers" "$read_row"
variant empty no
variant read_row_only no "$read_row"

clock_ticks=$(getconf CLK_TCK)
measure() { # <name>: "tps latency-ms database-CPU-ms"
  local run=("$pgbench_bin" -n -M prepared -f "$work/$1.sql" -D clinics="$clinics" -D days="$days" -c 8 -j 2)
  "${run[@]}" -T 2 "$url" >/dev/null 2>&1
  local before after out
  before=$(tree_ticks "$postmaster")
  out=$("${run[@]}" -T "$seconds" "$url" 2>&1) || { echo "$out" >&2; exit 1; }
  after=$(tree_ticks "$postmaster")
  grep -q 'number of failed transactions: 0 ' <<<"$out" || { echo "$out" >&2; exit 1; }
  awk -v ticks=$((after - before)) -v hz="$clock_ticks" \
    -v n="$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' <<<"$out")" \
    -v tps="$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' <<<"$out")" \
    -v latency="$(sed -nE 's/^latency average = ([0-9.]+) ms/\1/p' <<<"$out")" \
    'BEGIN { printf "%.0f %.2f %.3f", tps, latency, 1000 * ticks / hz / n }'
}
echo "## Scenario (a)'s database CPU, statement by statement (pgbench, 8 clients, $seconds s each, $(date -u +%Y-%m-%d))"
echo
echo "| transaction | tps | latency ms | database CPU ms | over the ceiling |"
echo "|---|---|---|---|---|"
ceiling_cpu=
for name in ceiling session_check providers read_row hpms empty read_row_only; do
  figures=$(measure "$name")
  read -r tps latency cpu <<<"$figures"
  : "${ceiling_cpu:=$cpu}"
  case $name in
    ceiling) label="the ceiling: settings, the page query, commit" ;;
    session_check) label="+ the credential check" ;;
    providers) label="+ the providers query" ;;
    read_row) label="+ the Read audit row" ;;
    hpms) label="+ all three: HPMS's statements" ;;
    empty) label="settings and commit only" ;;
    read_row_only) label="settings, the Read audit row, commit" ;;
  esac
  echo "| $label | $tps | $latency | $cpu | $(awk -v a="$cpu" -v b="$ceiling_cpu" 'BEGIN { printf "%+.3f", a - b }') |"
done

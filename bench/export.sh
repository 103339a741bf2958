#!/usr/bin/env bash
# Issue 22's export figures: the FHIR $export of the benchmark dataset's clinic (500 patients,
# 5,000 appointments) and of a clinic of 100,000 patients, each driven end to end by
# bench/export.py against a release server: seconds to the manifest and in all, the bytes, the
# server's peak resident memory (VmHWM) after each, and every type's line count and ids checked
# against the database (the NDJSON round trip). The dataset's patients have no contact or medical
# sections (bench/dataset.sql writes none), so no decryption is in these figures.
#
#   bench/export.sh target/release/hpms      (make bench-export)
#
# Sizes: BENCH_EXPORT_PATIENTS (100000), BENCH_EXPORT_APPOINTMENTS (200000) for the large clinic.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
hpms=${1:?usage: bench/export.sh <path to the hpms binary>}
: "${DATABASE_URL:?DATABASE_URL must be set (make sets it)}"
: "${DATABASE_ADMIN_URL:?DATABASE_ADMIN_URL must be set (make sets it)}"
database=hpms_export_bench
export BENCH_DATABASE=$database
source bench/common.sh
scripts/ensure_fhir_python.sh
python=tests/fhir/.venv/bin/python
owner_url=$(with_database "$DATABASE_ADMIN_URL" "$database")
owner_sql() { "$psql_bin" -X -q -At -v ON_ERROR_STOP=1 -d "$owner_url" -c "$1"; }

BENCH_CLINICS=1 bench/load_dataset.sh "$hpms"
BENCH_FIRST_CLINIC=2 BENCH_CLINICS=2 BENCH_PATIENTS=${BENCH_EXPORT_PATIENTS:-100000} \
  BENCH_APPOINTMENTS=${BENCH_EXPORT_APPOINTMENTS:-200000} bench/load_dataset.sh "$hpms"

work=$(mktemp -d)
server=
trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$work"; drop_database "$database" || true' EXIT
secret=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL=$(with_database "$DATABASE_URL" "$database") HPMS_TOKEN_SECRET=$secret \
HPMS_PHI_KEYS=bench:$(head -c 32 /dev/urandom | base64 | tr -d '\n') \
HPMS_API_KEY_ENCRYPTION_KEYS=bench:$(head -c 32 /dev/urandom | base64 | tr -d '\n') \
HPMS_LISTEN=127.0.0.1:$port HPMS_LOG=warn "$hpms" serve 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }
memory() { awk -v field="$1" '$1 == field":" { printf "%.0f", $2 / 1024 }' "/proc/$server/status"; }

echo "| clinic | patients | appointments | files | seconds to the manifest | seconds in all | MiB | server peak RSS MiB (before: $(memory VmRSS)) | round trip |"
echo "|---|---|---|---|---|---|---|---|---|"
for n in 1 2; do
  read -r tenant admin < <(owner_sql "select t.id, u.id from tenants t join users u on u.tenant_id = t.id and u.username = 'admin' where t.slug = 'bench-$n'" | tr '|' ' ')
  report=$("$python" bench/export.py "http://127.0.0.1:$port/fhir/R4" "$secret" "$tenant" "$admin")
  echo "$report" >"$work/report-$n.json"
  # What the database holds, as export.py counts it: lines and the md5 of the sorted ids (read
  # in the clinic's own setting: the owner is subject to row-level security too).
  expected() {
    "$psql_bin" -X -q -At -v ON_ERROR_STOP=1 -d "$owner_url" -c "set app.tenant_id = '$tenant'" \
      -c "select count(*) || ' ' || md5(coalesce(string_agg(id, ',' order by id collate \"C\"), '')) from ($1) ids"
  }
  checks=(
    "Patient:select id::text as id from patients where tenant_id = '$tenant' and not is_deleted"
    "PatientMedical:select id::text as id from patients where tenant_id = '$tenant' and not is_deleted"
    "Appointment:select id::text as id from appointments where tenant_id = '$tenant'"
    "Invoice:select id::text as id from invoices where tenant_id = '$tenant'"
    "AppointmentEvent:select id::text as id from appointment_events where tenant_id = '$tenant'"
    "Practitioner:select id::text as id from users where tenant_id = '$tenant' and role_id = 3"
  )
  verdict=ok
  for check in "${checks[@]}"; do
    kind=${check%%:*}
    want=$(expected "${check#*:}")
    got=$("$python" -c "import json,sys; t=json.load(open(sys.argv[1]))['types'].get(sys.argv[2], {'lines': 0, 'md5': 'd41d8cd98f00b204e9800998ecf8427e'}); print(t['lines'], t['md5'])" "$work/report-$n.json" "$kind")
    [ "$want" = "$got" ] || { verdict="MISMATCH in $kind (database $want, export $got)"; break; }
  done
  "$python" - "$work/report-$n.json" "$n" "$(memory VmHWM)" "$verdict" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
types = report["types"]
files = sum(kind["files"] for kind in types.values())
print(f"| bench-{sys.argv[2]} | {types['Patient']['lines']:,} | {types.get('Appointment', {'lines': 0})['lines']:,} | {files} "
      f"| {report['manifest_seconds']} | {report['seconds']} | {report['bytes'] / 2**20:.1f} | {sys.argv[3]} | {sys.argv[4]} |")
PY
  "$python" -c "import json,sys; print('   ', json.dumps(json.load(open(sys.argv[1]))['types']))" "$work/report-$n.json" >&2
done

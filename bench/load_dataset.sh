#!/usr/bin/env bash
# Loads the synthetic dataset of bench/dataset.sql into the benchmark database. With
# BENCH_FIRST_CLINIC=1 (the default) it first recreates and migrates the database; with a later
# first clinic it adds clinics BENCH_FIRST_CLINIC..BENCH_CLINICS to what is there (the scale curve
# grows the dataset this way). Expects DATABASE_ADMIN_URL (the owner role; the Makefile's private
# cluster provides it) and the hpms binary to migrate with as $1. Sizes, per clinic:
#   BENCH_CLINICS (200)  BENCH_PROVIDERS (5)  BENCH_PATIENTS (500)  BENCH_APPOINTMENTS (5000)
#   BENCH_DATABASE (hpms_bench)
set -euo pipefail
cd "$(dirname "$0")/.."
hpms=${1:?usage: bench/load_dataset.sh <path to the hpms binary>}
: "${DATABASE_ADMIN_URL:?DATABASE_ADMIN_URL must be set (make sets it)}"
database=${BENCH_DATABASE:-hpms_bench}
first=${BENCH_FIRST_CLINIC:-1} clinics=${BENCH_CLINICS:-200} providers=${BENCH_PROVIDERS:-5}
patients=${BENCH_PATIENTS:-500} appointments=${BENCH_APPOINTMENTS:-5000}

source bench/common.sh

owner_url=$(with_database "$DATABASE_ADMIN_URL" "$database")
if [ "$first" -eq 1 ]; then
  drop_database "$database"
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$(with_database "$DATABASE_ADMIN_URL" postgres)" \
    -c "create database \"$database\""
  DATABASE_ADMIN_URL=$owner_url HPMS_LOG=warn "$hpms" migrate
fi
started=$(date +%s)
"$psql_bin" -X -q -d "$owner_url" -v first_clinic="$first" -v clinics="$clinics" \
  -v providers="$providers" -v patients="$patients" -v appointments="$appointments" \
  -f bench/dataset.sql
"$psql_bin" -X -q -d "$owner_url" -c "vacuum analyze tenants, users, patients, appointment_types, appointments, audit_logs, appointment_events"
echo "loaded clinics $first..$clinics x ($providers providers, $patients patients, $appointments appointments)" \
  "into $database in $(( $(date +%s) - started )) s: $((clinics * appointments)) appointments in all" >&2

#!/usr/bin/env bash
# End-to-end check of `make run`, as a new user meets it: on a fresh database it migrates, loads
# the demo and serves; GraphiQL answers on the URL it prints, a demo user signs in and reads a
# demo patient, and so does an analyst in that GraphiQL page in headless Chromium. Expects
# DATABASE_URL and DATABASE_ADMIN_URL (owner) like scripts/test.sh, and uses a database of its
# own on that server.
set -euo pipefail
root_dir=$(cd "$(dirname "$0")/.." && pwd)
cd "$root_dir"

database=hpms_test_run_smoke
with_database() { sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$2#" <<<"$1"; }
PGOPTIONS=--client-min-messages=warning psql -X -q -v ON_ERROR_STOP=1 -d "$(with_database "$DATABASE_ADMIN_URL" postgres)" \
  -c "drop database if exists $database with (force)" -c "create database $database"
export DATABASE_URL=$(with_database "$DATABASE_URL" "$database")
export DATABASE_ADMIN_URL=$(with_database "$DATABASE_ADMIN_URL" "$database")
export HPMS_TOKEN_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
export HPMS_PHI_KEYS=smoke:$(head -c 32 /dev/urandom | base64 | tr -d '\n')
export HPMS_API_KEY_ENCRYPTION_KEYS=smoke:$(head -c 32 /dev/urandom | base64 | tr -d '\n')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export HPMS_LISTEN=127.0.0.1:$port HPMS_LOG=warn

log=$(mktemp)
setsid make --no-print-directory run >"$log" 2>&1 &
server=$!
trap 'kill -- -$server 2>/dev/null || true; rm -f "$log"' EXIT

# The server announces itself before it binds; poll readiness (nothing to await across processes).
for _ in $(seq 1 120); do
  if curl -sf "http://$HPMS_LISTEN/readyz" >/dev/null; then break; fi
  kill -0 "$server" 2>/dev/null || { cat "$log"; echo "run smoke: make run exited" >&2; exit 1; }
  sleep 0.5
done
url=$(grep -o 'GraphiQL on http://[^ ]*' "$log" | sed 's/GraphiQL on //')
[ "$url" = "http://$HPMS_LISTEN/graphql" ] || { cat "$log"; echo "run smoke: printed URL '$url'" >&2; exit 1; }
grep -q 'frontdesk' "$log" || { echo "run smoke: demo logins not printed" >&2; exit 1; }

# Not `curl | grep -q`: grep stops reading at the first match, and curl's broken pipe fails the
# pipeline.
page=$(curl -sf -H "accept: text/html" "$url") && grep -qi graphiql <<<"$page" || { echo "run smoke: no GraphiQL at $url" >&2; exit 1; }
password=$(sed -n 's/^DEMO_PASSWORD := //p' Makefile)
token=$(curl -sf "$url" -H 'content-type: application/json' \
  -d "{\"query\":\"mutation { login(tenant: \\\"northside\\\", username: \\\"frontdesk\\\", password: \\\"$password\\\") { token } }\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["login"]["token"])')
patients=$(curl -sf "$url" -H 'content-type: application/json' -H "authorization: Bearer $token" \
  -d '{"query":"{ patients(search: \"lovelace\") { edges { node { firstName lastName } } } }"}')
grep -q '"lastName":"Lovelace"' <<<"$patients" || { echo "run smoke: unexpected $patients" >&2; exit 1; }
echo "run smoke: make run served GraphiQL on $url; frontdesk@northside signed in and read a demo patient"

# The same server's GraphiQL in a real browser (tests/integration/api/graphiql_in_a_browser.rs).
scripts/ensure_chromium.sh
HPMS_GRAPHIQL_URL=$url cargo test --test integration -- --ignored --exact \
  api::graphiql_in_a_browser::an_analyst_signs_in_finds_a_patient_and_watches_a_check_in_in_graphiql

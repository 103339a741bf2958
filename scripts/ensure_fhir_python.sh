#!/usr/bin/env bash
# Installs the FHIR tools the suite checks the FHIR API with (tests/fhir/requirements.txt: the
# fhir.resources R4 models and the fhirpy client, from PyPI) into tests/fhir/.venv, once: again
# only when the requirements change. Needs python3 with venv (Debian: apt-get install python3-venv).
set -euo pipefail
root_dir=$(cd "$(dirname "$0")/.." && pwd)
venv=$root_dir/tests/fhir/.venv
requirements=$root_dir/tests/fhir/requirements.txt
command -v python3 >/dev/null || { echo "ensure_fhir_python.sh: python3 is missing: apt-get install python3 python3-venv" >&2; exit 1; }
stamp=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv" || { echo "ensure_fhir_python.sh: python3 cannot make a venv: apt-get install python3-venv" >&2; exit 1; }
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$requirements"
"$venv/bin/python" -c "import fhir.resources, fhirpy; assert fhir.resources.__fhir_version__ == '4.0.1'"
echo "$stamp" > "$venv/.requirements"

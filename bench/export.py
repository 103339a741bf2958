"""Drives one clinic's FHIR $export as a leaving clinic's admin would, and reports what it got.

Usage: export.py <base url …/fhir/R4> <token secret> <tenant id> <admin user id>
Signs the admin's token (in the session bench/dataset.sql opened for the user, whose id is the
user's), kicks off, polls the status URL until the manifest, downloads every file streaming, and
prints one JSON object: seconds to the manifest and in all, bytes, and per type the lines and an
md5 of the sorted ids (for bench/export.sh to compare with the database).
"""
import base64
import hashlib
import hmac
import json
import sys
import time

import requests

base, secret, tenant, admin = sys.argv[1:5]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


now = int(time.time())
claims = {"iss": "hpms", "sub": admin, "tid": tenant, "role": "ClinicAdmin", "ver": 1,
          "sid": admin, "iat": now, "nbf": now, "exp": now + 3600}
signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
headers = {"Authorization": f"Bearer {signing_input}.{b64(signature)}", "Accept": "application/fhir+json"}

# The key a line is identified by in each file (LedgerLine: its entry and side, as lines repeat entries).
KEYS = {"PatientMedical": lambda line: line["patientId"],
        "LedgerLine": lambda line: f'{line["entryId"]}/{line["account"]}/{line["side"]}'}

started = time.monotonic()
kick_off = requests.post(f"{base}/$export", headers={**headers, "Prefer": "respond-async"})
assert kick_off.status_code == 202, kick_off.text
status_url = kick_off.headers["Content-Location"]
polls = 0
while True:
    polls += 1
    status = requests.get(status_url, headers=headers)
    if status.status_code == 200:
        manifest = status.json()
        break
    assert status.status_code == 202, status.text
manifest_seconds = time.monotonic() - started
files = manifest["output"] + manifest["extension"]["urn:hpms:export:hpms-ndjson"]
types = {}
total_bytes = 0
for file in files:
    with requests.get(file["url"], headers=headers, stream=True) as answer:
        assert answer.status_code == 200, answer.text
        kind = types.setdefault(file["type"], {"files": 0, "lines": 0, "ids": []})
        kind["files"] += 1
        for line in answer.iter_lines():
            total_bytes += len(line) + 1
            record = json.loads(line)
            kind["lines"] += 1
            kind["ids"].append(KEYS.get(file["type"], lambda line: line["id"])(record))
deleted = requests.delete(status_url, headers=headers)
assert deleted.status_code == 202, deleted.text
for kind in types.values():
    ids = kind.pop("ids")
    kind["distinct"] = len(set(ids))
    kind["md5"] = hashlib.md5(",".join(sorted(ids)).encode()).hexdigest()
print(json.dumps({"manifest_seconds": round(manifest_seconds, 1), "polls": polls,
                  "seconds": round(time.monotonic() - started, 1), "bytes": total_bytes, "types": types}))

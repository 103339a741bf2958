"""Validates FHIR R4 resources against the models of PyPI's fhir.resources 6.1.0 (FHIR 4.0.1).

Reads NDJSON on stdin, one resource a line (Bundles included: their entries are validated as
part of them); prints one JSON line a resource: its type, id, and the validation error if any.
"""
import json
import sys

import fhir.resources
from fhir.resources import construct_fhir_element

assert fhir.resources.__fhir_version__ == "4.0.1", fhir.resources.__fhir_version__

for line in sys.stdin:
    if not line.strip():
        continue
    resource = json.loads(line)
    kind = resource.get("resourceType")
    result = {"resourceType": kind, "id": resource.get("id"), "error": None}
    try:
        parsed = construct_fhir_element(kind, resource)
        # Round trip: what the model reads back is what was sent, nothing dropped.
        again = json.loads(parsed.json())
        if again != json.loads(json.dumps(resource)):
            result["error"] = "the model's JSON differs from the resource's"
    except Exception as error:  # the library raises pydantic's ValidationError and others
        result["error"] = str(error)
    print(json.dumps(result))

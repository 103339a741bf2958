"""A FHIR client library from PyPI (fhirpy 2.3.1) reading HPMS as a partner would.

Environment: HPMS_FHIR_URL (the base, .../fhir/R4), and HPMS_FHIR_TOKEN (a user's bearer token)
or HPMS_FHIR_API_KEY (a partner's key, sent as X-Api-Key); HPMS_FHIR_PATIENT (a patient's id)
and HPMS_FHIR_FROM (a date from which its appointments are searched). Prints one JSON line a
step: what the client read, or the OperationOutcome it was refused with.
"""
import json
import os

from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError, OperationOutcome, ResourceNotFound

url = os.environ["HPMS_FHIR_URL"]
token = os.environ.get("HPMS_FHIR_TOKEN")
key = os.environ.get("HPMS_FHIR_API_KEY")
patient_id = os.environ["HPMS_FHIR_PATIENT"]
since = os.environ["HPMS_FHIR_FROM"]

if token:
    client = SyncFHIRClient(url, authorization=f"Bearer {token}")
else:
    client = SyncFHIRClient(url, extra_headers={"X-Api-Key": key})


def step(name, act):
    try:
        result = act()
    except OperationOutcome as outcome:
        result = {"refused": outcome.resource["issue"][0]["details"]["coding"][0]["code"]}
    except ResourceNotFound:
        result = {"refused": "not found"}
    except ForbiddenError as refused:
        outcome = json.loads(str(refused))
        result = {"refused": outcome["issue"][0]["details"]["coding"][0]["code"]}
    print(json.dumps({"step": name, "result": result}))


def appointments():
    found = (
        client.resources("Appointment")
        .search(patient=f"Patient/{patient_id}", date__ge=since)
        .include("Appointment", "patient")
        .fetch_all()
    )
    return [
        {"id": a["id"], "status": a["status"], "start": a["start"],
         "patient": [p["actor"]["reference"] for p in a["participant"] if p["actor"].get("reference", "").startswith("Patient/")]}
        for a in found
    ]


def patient_read():
    patient = client.reference("Patient", patient_id).to_resource()
    return {"id": patient["id"], "family": patient["name"][0]["family"],
            "birthDate": patient.get("birthDate"), "telecom": len(patient.get("telecom", []))}


def patient_search():
    patient = client.reference("Patient", patient_id).to_resource()
    family = patient["name"][0]["family"]
    return [p["id"] for p in client.resources("Patient").search(family=family).fetch_all()]


def included_patients():
    bundle = (
        client.resources("Appointment")
        .search(patient=f"Patient/{patient_id}", date__ge=since)
        .include("Appointment", "patient")
        .fetch_raw()
    )
    return [
        entry["resource"]["id"]
        for entry in bundle.get("entry", [])
        if entry["resource"]["resourceType"] == "Patient"
    ]


step("appointments of the patient", appointments)
step("patients included with them", included_patients)
step("read the patient", patient_read)
step("search patients by family name", patient_search)

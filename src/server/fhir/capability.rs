//! `GET [base]/metadata`: the CapabilityStatement, stating exactly what this server does: the
//! resource types, their interactions and search parameters, the SMART-style scopes an API key
//! maps to, and the Bulk Data `$export`. Public, as FHIR requires (it holds no clinic's data).

use serde_json::{Value, json};

use crate::server::fhir::interactions::MAX_SLOT_SEARCH_DAYS;

fn parameter(name: &str, kind: &str, documentation: &str) -> Value {
    json!({ "name": name, "type": kind, "documentation": documentation })
}

fn paging() -> [Value; 2] {
    [
        parameter("_count", "number", "Page size, 1 to 100 (50 if left out)."),
        parameter(
            "_cursor",
            "string",
            "Where the next page starts: follow the bundle's next link.",
        ),
    ]
}

fn resource(kind: &str, read: bool, documentation: &str, search: Vec<Value>) -> Value {
    let mut interactions = vec![json!({ "code": "search-type" })];
    if read {
        interactions.insert(0, json!({ "code": "read" }));
    }
    let mut search = search;
    search.extend(paging());
    json!({
        "type": kind,
        "documentation": documentation,
        "interaction": interactions,
        "searchParam": search,
    })
}

pub fn statement(base: &str, version: &str) -> Value {
    let resources = vec![
        resource(
            "Patient",
            true,
            "Users who may read patients (ClinicAdmin, Provider, BillingManager, FrontDesk) read \
             and search; contact details only for the roles that may see them. An API key with \
             system/Patient.read (PATIENT_CONTACT) reads a patient of an appointment it may read, \
             names and contact details only, and cannot search patients.",
            vec![
                parameter("name", "string", "The start of the first or last name."),
                parameter("family", "string", "As name."),
                parameter("given", "string", "As name."),
                parameter(
                    "birthdate",
                    "date",
                    "The date of birth (one date, eq only).",
                ),
            ],
        ),
        resource(
            "Practitioner",
            true,
            "The clinic's providers. An API key with system/Appointment.read reads the \
             provider of an appointment it may read.",
            vec![],
        ),
        resource(
            "Schedule",
            true,
            "One per provider, with the provider's id; serviceType lists the clinic's \
             appointment types.",
            vec![parameter("actor", "reference", "Practitioner/<id>.")],
        ),
        resource(
            "Slot",
            false,
            "Free slots, computed from working hours, time off and closures, bookings and \
             rooms (availableSlots). schedule, service-type and a start range are required.",
            vec![
                parameter("schedule", "reference", "Schedule/<id> (required)."),
                parameter(
                    "service-type",
                    "token",
                    "An appointment type's id (required).",
                ),
                parameter(
                    "start",
                    "date",
                    &format!(
                        "A range with both ends (ge/gt and le/lt), at most {MAX_SLOT_SEARCH_DAYS} days."
                    ),
                ),
            ],
        ),
        resource(
            "Appointment",
            true,
            "Status: booked = SCHEDULED, arrived = ARRIVED, checked-in = IN_SESSION, fulfilled = \
             COMPLETED, noshow = NO_SHOW, cancelled = CANCELLED. The patient participant only \
             for callers who may read it (system/Patient.read for API keys).",
            vec![
                parameter(
                    "date",
                    "date",
                    "When the appointment starts: eq, ge, gt, le, lt.",
                ),
                parameter("practitioner", "reference", "Practitioner/<id>."),
                parameter("actor", "reference", "Practitioner/<id>, as practitioner."),
                parameter("patient", "reference", "Patient/<id>."),
                parameter("status", "token", "One FHIR appointment status."),
            ],
        ),
        resource(
            "Invoice",
            true,
            "ClinicAdmin and BillingManager. Status: issued = OPEN, balanced = PAID, cancelled = \
             VOID. Amounts carry no currency (a clinic bills in one).",
            vec![
                parameter("patient", "reference", "Patient/<id>."),
                parameter("subject", "reference", "Patient/<id>, as patient."),
                parameter("status", "token", "issued, balanced or cancelled."),
                parameter(
                    "date",
                    "date",
                    "When the invoice was created: eq, ge, gt, le, lt.",
                ),
            ],
        ),
    ];
    let mut resources = resources;
    for entry in &mut resources {
        if entry["type"] == "Appointment" {
            entry["searchInclude"] = json!(["Appointment:patient", "Appointment:practitioner"]);
        }
    }
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-08",
        "kind": "instance",
        "software": { "name": "HPMS", "version": version },
        "implementation": { "description": "HPMS FHIR R4 read API", "url": base },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "documentation": "Read-only. Authenticate as for GraphQL: Authorization: Bearer \
                <token> for users, X-Api-Key: <key> for partner systems. API key scopes map to \
                SMART system scopes: system/Appointment.read = APPOINTMENTS, system/Patient.read \
                = PATIENT_CONTACT. Every read of a patient's details is audited as in GraphQL.",
            "security": {
                "description": "Bearer tokens from the GraphQL login mutation (not SMART's \
                    authorization flow); API keys in X-Api-Key.",
            },
            "resource": resources,
            "operation": [{
                "name": "export",
                "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                "documentation": "ClinicAdmin only: the whole clinic as NDJSON (FHIR Bulk Data \
                    1.0, kick-off with Prefer: respond-async, then poll the Content-Location).",
            }],
        }],
    })
}

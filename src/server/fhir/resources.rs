//! HPMS's records as FHIR R4 resources, built from the GraphQL answers `reader` returns (the
//! README's "FHIR" section has these mappings as tables). Each builder takes one GraphQL object
//! and answers one resource; a field the caller may not see arrives null and is left out, and
//! FHIR's JSON allows no nulls or empty lists, so every resource is pruned of them.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// The code system of the clinic's appointment types (codes are the types' ids).
pub const APPOINTMENT_TYPE_SYSTEM: &str = "urn:hpms:appointment-type";
/// The code system of cancellation categories (the GraphQL `CancellationCategory` values).
const CANCELLATION_CATEGORY_SYSTEM: &str = "urn:hpms:cancellation-category";
/// The identifier system of users' usernames (unique within a clinic).
const USERNAME_SYSTEM: &str = "urn:hpms:username";

/// The GraphQL selections each builder reads. A partner's patient has no date of birth: the
/// field is FORBIDDEN for API keys and, being non-null in GraphQL, would take the patient with it.
pub const PATIENT_FIELDS: &str =
    "id firstName lastName dateOfBirth updatedAt contact { phone email address }";
pub const PARTNER_PATIENT_FIELDS: &str =
    "id firstName lastName updatedAt contact { phone email address }";
pub const PRACTITIONER_FIELDS: &str = "id username isActive";
pub const APPOINTMENT_FIELDS: &str = "id start end status version createdAt cancelReason \
     cancelReasonCategory type { id name } provider { id username } room { name }";
pub const INVOICE_FIELDS: &str =
    "id total kind balance status createdAt patient { id } appointment { id }";

/// HPMS appointment status → FHIR `AppointmentStatus`. InSession is FHIR's checked-in (the
/// visit is under way; FHIR has no closer code), Completed its fulfilled.
pub const APPOINTMENT_STATUSES: [(&str, &str); 6] = [
    ("SCHEDULED", "booked"),
    ("ARRIVED", "arrived"),
    ("IN_SESSION", "checked-in"),
    ("COMPLETED", "fulfilled"),
    ("NO_SHOW", "noshow"),
    ("CANCELLED", "cancelled"),
];

/// HPMS invoice status → FHIR `InvoiceStatus`: an open invoice is issued, a paid one balanced,
/// a voided one cancelled.
const INVOICE_STATUSES: [(&str, &str); 3] = [
    ("OPEN", "issued"),
    ("PAID", "balanced"),
    ("VOID", "cancelled"),
];

/// The HPMS status a FHIR appointment status stands for, if any.
pub fn hpms_appointment_status(fhir: &str) -> Option<&'static str> {
    APPOINTMENT_STATUSES
        .iter()
        .find(|(_, code)| *code == fhir)
        .map(|(hpms, _)| *hpms)
}

/// The HPMS status a FHIR invoice status stands for, if any.
pub fn hpms_invoice_status(fhir: &str) -> Option<&'static str> {
    INVOICE_STATUSES
        .iter()
        .find(|(_, code)| *code == fhir)
        .map(|(hpms, _)| *hpms)
}

fn mapped(table: &[(&str, &'static str)], hpms: &Value) -> Value {
    table
        .iter()
        .find(|(from, _)| hpms == *from)
        .map_or(Value::Null, |(_, to)| json!(to))
}

fn reference(resource_type: &str, object: &Value) -> Value {
    match object["id"].as_str() {
        Some(id) => json!({ "reference": format!("{resource_type}/{id}") }),
        None => Value::Null,
    }
}

pub fn patient(graphql: &Value) -> Value {
    let contact = &graphql["contact"];
    let telecom = [("phone", &contact["phone"]), ("email", &contact["email"])]
        .into_iter()
        .filter(|(_, value)| value.is_string())
        .map(|(system, value)| json!({ "system": system, "value": value }))
        .collect::<Vec<_>>();
    pruned(json!({
        "resourceType": "Patient",
        "id": graphql["id"],
        "meta": { "lastUpdated": graphql["updatedAt"] },
        "active": true,
        "name": [{
            "use": "official",
            "family": graphql["lastName"],
            "given": [graphql["firstName"]],
        }],
        "birthDate": graphql["dateOfBirth"],
        "telecom": telecom,
        "address": [{ "text": contact["address"] }],
    }))
}

/// A provider (a user with the Provider role).
pub fn practitioner(graphql: &Value) -> Value {
    pruned(json!({
        "resourceType": "Practitioner",
        "id": graphql["id"],
        "identifier": [{ "system": USERNAME_SYSTEM, "value": graphql["username"] }],
        "active": graphql["isActive"],
        "name": [{ "text": graphql["username"] }],
    }))
}

/// A provider's schedule: one per provider, with the provider's id, offering the clinic's
/// appointment types.
pub fn schedule(provider: &Value, types: &[Value]) -> Value {
    pruned(json!({
        "resourceType": "Schedule",
        "id": provider["id"],
        "active": provider["isActive"],
        "serviceType": types.iter().map(service_type).collect::<Vec<_>>(),
        "actor": [{
            "reference": format!("Practitioner/{}", provider["id"].as_str().unwrap_or_default()),
            "display": provider["username"],
        }],
    }))
}

pub fn service_type(appointment_type: &Value) -> Value {
    json!({
        "coding": [{
            "system": APPOINTMENT_TYPE_SYSTEM,
            "code": appointment_type["id"],
            "display": appointment_type["name"],
        }],
    })
}

/// A free time `availableSlots` offers for a visit of `appointment_type`. Its id names the
/// provider, the type and the minute it starts (a FHIR id has at most 64 characters).
pub fn slot(provider: Uuid, appointment_type: &Value, start: DateTime<Utc>) -> Value {
    let minutes = appointment_type["durationMinutes"]
        .as_i64()
        .unwrap_or_default();
    let type_id = appointment_type["id"].as_str().unwrap_or_default();
    json!({
        "resourceType": "Slot",
        "id": format!(
            "{}.{}.{}",
            provider.simple(),
            type_id.get(..8).unwrap_or(type_id),
            start.timestamp() / 60
        ),
        "schedule": { "reference": format!("Schedule/{provider}") },
        "serviceType": [service_type(appointment_type)],
        "status": "free",
        "start": start.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        "end": (start + Duration::minutes(minutes)).to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    })
}

pub fn appointment(graphql: &Value) -> Value {
    let minutes = match (instant(&graphql["start"]), instant(&graphql["end"])) {
        (Some(start), Some(end)) => json!((end - start).num_minutes()),
        _ => Value::Null,
    };
    let mut participants = Vec::new();
    if graphql["patient"]["id"].is_string() {
        participants.push(json!({
            "actor": reference("Patient", &graphql["patient"]),
            "required": "required",
            "status": "accepted",
        }));
    }
    if graphql["provider"]["id"].is_string() {
        let mut actor = reference("Practitioner", &graphql["provider"]);
        actor["display"] = graphql["provider"]["username"].clone();
        participants.push(json!({ "actor": actor, "required": "required", "status": "accepted" }));
    }
    if graphql["room"]["name"].is_string() {
        participants.push(json!({
            "type": [{ "text": "room" }],
            "actor": { "display": graphql["room"]["name"] },
            "required": "required",
            "status": "accepted",
        }));
    }
    let cancelled_for =
        if graphql["cancelReason"].is_string() || graphql["cancelReasonCategory"].is_string() {
            json!({
                "coding": [{
                    "system": CANCELLATION_CATEGORY_SYSTEM,
                    "code": graphql["cancelReasonCategory"],
                }],
                "text": graphql["cancelReason"],
            })
        } else {
            Value::Null
        };
    let service = if graphql["type"]["id"].is_string() {
        json!([service_type(&graphql["type"])])
    } else {
        Value::Null
    };
    pruned(json!({
        "resourceType": "Appointment",
        "id": graphql["id"],
        "meta": { "versionId": graphql["version"].as_i64().map(|version| version.to_string()) },
        "status": mapped(&APPOINTMENT_STATUSES, &graphql["status"]),
        "cancelationReason": cancelled_for,
        "serviceType": service,
        "start": graphql["start"],
        "end": graphql["end"],
        "minutesDuration": minutes,
        "created": graphql["createdAt"],
        "participant": participants,
    }))
}

/// An invoice: one line item of its kind (a visit, or a late-cancellation or no-show fee) at its
/// total. HPMS keeps amounts without a currency (a clinic bills in one), so the amounts have
/// none; the balance still owed is in `paymentTerms` as text.
pub fn invoice(graphql: &Value) -> Value {
    let total = money(&graphql["total"]);
    let kind = match graphql["kind"].as_str() {
        Some("VISIT") => "Visit",
        Some("LATE_CANCELLATION_FEE") => "Late cancellation fee",
        Some("NO_SHOW_FEE") => "No-show fee",
        _ => "Charge",
    };
    pruned(json!({
        "resourceType": "Invoice",
        "id": graphql["id"],
        "status": mapped(&INVOICE_STATUSES, &graphql["status"]),
        "type": { "text": kind },
        "subject": reference("Patient", &graphql["patient"]),
        "date": graphql["createdAt"],
        "lineItem": [{
            "sequence": 1,
            "chargeItemCodeableConcept": { "text": kind },
            "priceComponent": [{ "type": "base", "amount": total }],
        }],
        "totalNet": total,
        "totalGross": total,
        "paymentTerms": graphql["balance"].as_str().map(|balance| format!("balance due: {balance}")),
    }))
}

fn money(amount: &Value) -> Value {
    amount
        .as_str()
        .and_then(|text| text.parse::<rust_decimal::Decimal>().ok())
        .and_then(|decimal| serde_json::Number::from_f64(decimal.try_into().ok()?))
        .map_or(Value::Null, |value| json!({ "value": value }))
}

fn instant(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|instant| instant.with_timezone(&Utc))
}

/// The resource without nulls, empty objects and empty lists, which FHIR's JSON forbids.
pub fn pruned(value: Value) -> Value {
    match value {
        Value::Object(fields) => {
            let kept: Map<String, Value> = fields
                .into_iter()
                .map(|(key, value)| (key, pruned(value)))
                .filter(|(_, value)| !is_empty(value))
                .collect();
            Value::Object(kept)
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(pruned)
                .filter(|item| !is_empty(item))
                .collect(),
        ),
        other => other,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(fields) => fields.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patient_without_contact_details_has_no_empty_elements() {
        let resource = patient(&json!({
            "id": "5f0c5d8e-0000-4000-8000-000000000001", "firstName": "Ann", "lastName": "Lee",
            "dateOfBirth": "1980-04-02", "updatedAt": "2026-12-01T10:00:00Z", "contact": null,
        }));
        assert_eq!(resource["name"][0]["given"], json!(["Ann"]));
        assert!(resource.get("telecom").is_none() && resource.get("address").is_none());
    }

    #[test]
    fn every_hpms_status_maps_to_a_fhir_status_and_back() {
        for (hpms, fhir) in APPOINTMENT_STATUSES {
            assert_eq!(hpms_appointment_status(fhir), Some(hpms));
            let resource = appointment(&json!({ "id": "a", "status": hpms }));
            assert_eq!(resource["status"], fhir);
        }
        for (hpms, fhir) in INVOICE_STATUSES {
            assert_eq!(hpms_invoice_status(fhir), Some(hpms));
        }
    }
}

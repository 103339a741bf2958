//! API-key scopes, least privilege (issue 16): a reminder service's key (APPOINTMENTS and
//! PATIENT_CONTACT) reads tomorrow's appointments with the patients' names and phone numbers and
//! nothing else, never medical data; each patient whose contact details it read leaves one Read
//! audit row naming the key; `apiKeys` shows every key's scopes.

use chrono::{Duration, Utc};
use hpms::foundation::role::Role::{ClinicAdmin, Provider};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ApiClinic, TestApp};

/// Tomorrow (UTC) at `hour`:00.
fn tomorrow_at(hour: u32) -> chrono::DateTime<Utc> {
    (Utc::now().date_naive() + Duration::days(1))
        .and_hms_opt(hour, 0, 0)
        .unwrap()
        .and_utc()
}

/// Books `patient` with the clinic's provider at `start`, as its ClinicAdmin; the appointment id.
async fn book(
    app: &TestApp,
    clinic: &ApiClinic,
    patient: Uuid,
    start: chrono::DateTime<Utc>,
) -> String {
    app.graphql(
        Some(clinic.token(ClinicAdmin)),
        "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
        json!({"i": {"patientId": patient, "providerId": clinic.user(Provider), "typeId": clinic.type_id, "start": start.to_rfc3339()}}),
    )
    .await
    .ok()["bookAppointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn patient_with_phone(app: &TestApp, clinic: &ApiClinic, first: &str, phone: &str) -> Uuid {
    app.create_patient_with(
        clinic,
        first,
        "Reminded",
        json!({"phone": phone, "email": format!("{}@example.org", first.to_lowercase())}),
        json!({"allergies": "latex", "notes": "Anxious about needles."}),
    )
    .await
}

const TOMORROW: &str = "query($from: DateTime!, $to: DateTime!) { appointments(from: $from, to: $to) { edges { node { id start end provider { id username } type { id name durationMinutes } patient { id firstName lastName contact { phone } } } } } }";

#[tokio::test]
async fn a_reminder_service_key_reads_tomorrows_appointments_with_patients_names_and_phone_numbers()
{
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let grace = patient_with_phone(&app, &clinic, "Grace", "+44 20 7946 0101").await;
    let alan = patient_with_phone(&app, &clinic, "Alan", "+44 20 7946 0202").await;
    let first = book(&app, &clinic, grace, tomorrow_at(9)).await;
    let second = book(&app, &clinic, alan, tomorrow_at(11)).await;
    book(
        &app,
        &clinic,
        clinic.patient_id,
        tomorrow_at(9) + Duration::days(1),
    )
    .await;
    let (key, key_id) = app
        .issue_api_key_with(
            &clinic,
            "Reminder service",
            "[APPOINTMENTS, PATIENT_CONTACT]",
        )
        .await;

    let read = app
        .graphql_with_api_key(
            &key,
            TOMORROW,
            json!({"from": tomorrow_at(0).to_rfc3339(), "to": (tomorrow_at(0) + Duration::days(1)).to_rfc3339()}),
        )
        .await;
    let nodes: Vec<Value> = read.ok()["appointments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect();
    let seen: Vec<(&str, &str, &str)> = nodes
        .iter()
        .map(|node| {
            (
                node["id"].as_str().unwrap(),
                node["patient"]["firstName"].as_str().unwrap(),
                node["patient"]["contact"]["phone"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (first.as_str(), "Grace", "+44 20 7946 0101"),
            (second.as_str(), "Alan", "+44 20 7946 0202"),
        ],
        "tomorrow's appointments, and only those, with the patients' names and phones"
    );
    for node in &nodes {
        assert_eq!(node["provider"]["id"], clinic.user(Provider).to_string());
        assert_eq!(node["type"]["id"], clinic.type_id.to_string());
        assert_eq!(node["patient"]["lastName"], "Reminded");
    }

    // Each patient read leaves one Read row naming the key, and no user.
    let audit = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "query($k: UUID!) { auditLogs(apiKeyId: $k, entityName: \"patients\") { edges { node { action entityId userId apiKeyId newValues } } } }",
            json!({"k": key_id}),
        )
        .await;
    let mut rows: Vec<Value> = audit.ok()["auditLogs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        // The request's one row naming the patients whose names it showed
        // (audit_of_reads_and_refusals.rs) is not about their contact.
        .filter(|row| row["newValues"].get("patient_ids").is_none())
        .collect();
    rows.sort_by_key(|row| row["entityId"].as_str().unwrap().to_owned());
    let mut expected: Vec<Value> = [grace, alan]
        .iter()
        .map(|patient| {
            json!({"action": "READ", "entityId": patient.to_string(), "userId": null, "apiKeyId": key_id, "newValues": {"shown": ["contact"]}})
        })
        .collect();
    expected.sort_by_key(|row| row["entityId"].as_str().unwrap().to_owned());
    assert_eq!(rows, expected);
}

#[tokio::test]
async fn a_reminder_service_key_is_forbidden_medical_data_and_everything_outside_its_scopes() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let visit = book(&app, &clinic, clinic.patient_id, tomorrow_at(9)).await;
    let (key, _) = app
        .issue_api_key_with(
            &clinic,
            "Reminder service",
            "[APPOINTMENTS, PATIENT_CONTACT]",
        )
        .await;
    let refused = [
        (
            "medical data",
            "query($id: UUID!) { appointment(id: $id) { patient { medical { allergies notes } } } }",
        ),
        (
            "a date of birth",
            "query($id: UUID!) { appointment(id: $id) { patient { dateOfBirth } } }",
        ),
        (
            "a patient by id",
            "query($id: UUID!) { patient(id: $id) { firstName } }",
        ),
        (
            "the patient list",
            "{ patients { edges { node { firstName } } } }",
        ),
        ("the event feed", "{ appointmentEvents { id } }"),
        ("appointment types", "{ appointmentTypes { id } }"),
        ("the providers", "{ providers { edges { node { id } } } }"),
        ("users", "{ users { edges { node { id } } } }"),
        ("invoices", "{ invoices { edges { node { id } } } }"),
        ("the audit log", "{ auditLogs { edges { node { id } } } }"),
        ("API keys", "{ apiKeys { id } }"),
        (
            "a booking",
            "mutation($id: UUID!) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"no\") { id } }",
        ),
    ];
    for (what, query) in refused {
        let id = if query.contains("patient(id") {
            clinic.patient_id.to_string()
        } else {
            visit.clone()
        };
        let response = app
            .graphql_with_api_key(&key, query, json!({"id": id}))
            .await;
        assert_eq!(
            response.codes(),
            ["FORBIDDEN"],
            "{what} is outside the key's scopes: {response:?}"
        );
    }
    let after = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "query($id: UUID!) { appointment(id: $id) { status version } }",
            json!({"id": visit}),
        )
        .await;
    assert_eq!(
        after.ok()["appointment"],
        json!({"status": "SCHEDULED", "version": 1}),
        "nothing changed"
    );
}

#[tokio::test]
async fn a_key_reading_appointments_sees_no_patient_without_the_patient_contact_scope() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let visit = book(&app, &clinic, clinic.patient_id, tomorrow_at(9)).await;
    let (key, _) = app
        .issue_api_key_with(&clinic, "Calendar sync", "[APPOINTMENTS]")
        .await;
    let times = app
        .graphql_with_api_key(
            &key,
            "query($id: UUID!) { appointment(id: $id) { id start status provider { id } type { name } } }",
            json!({"id": visit}),
        )
        .await;
    assert_eq!(times.ok()["appointment"]["type"]["name"], "Consultation");
    let patient = app
        .graphql_with_api_key(
            &key,
            "query($id: UUID!) { appointment(id: $id) { patient { firstName } } }",
            json!({"id": visit}),
        )
        .await;
    assert_eq!(patient.codes(), ["FORBIDDEN"]);
}

#[tokio::test]
async fn api_keys_show_their_scopes() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    app.issue_api_key_with(
        &clinic,
        "Reminder service",
        "[PATIENT_CONTACT, APPOINTMENTS]",
    )
    .await;
    app.issue_api_key(&clinic, "Lab").await;
    let keys = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "{ apiKeys { name scopes } }",
            json!({}),
        )
        .await;
    let mut listed: Vec<Value> = keys.ok()["apiKeys"].as_array().unwrap().clone();
    listed.sort_by_key(|key| key["name"].as_str().unwrap().to_owned());
    assert_eq!(
        listed,
        [
            json!({"name": "Lab", "scopes": ["APPOINTMENT_EVENTS"]}),
            json!({"name": "Reminder service", "scopes": ["APPOINTMENTS", "PATIENT_CONTACT"]}),
        ]
    );
}

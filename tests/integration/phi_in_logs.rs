//! No PHI in the logs: the PHI-heavy flows (registering, reading, searching, changing a patient,
//! booking and listing their appointments, invalid and conflicting input about them, the audit
//! trail of it all) run against the real server binary logging at debug level, and a marker that
//! appears only in the patient's details never appears in anything it wrote.

use hpms::identity::Role;
use serde_json::json;

use crate::helpers::TestApp;
use crate::helpers::server_process::ServerProcess;

const MARKER: &str = "Qzxvmarker";

#[tokio::test]
async fn patient_details_never_reach_the_log_even_at_debug_level() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let server = ServerProcess::start_logging(&app, &[], "debug").await;
    let at = server.address;
    let admin = Some(clinic.token(Role::ClinicAdmin));
    let frontdesk = Some(clinic.token(Role::FrontDesk));
    let provider = Some(clinic.token(Role::Provider));
    let details = json!({
        "firstName": format!("Ada{MARKER}"), "lastName": format!("Lovelace{MARKER}"),
        "dateOfBirth": "1985-12-10",
        "contact": {"phone": "+44 20 7946 0958", "email": format!("{MARKER}@example.org"),
                    "address": format!("12 {MARKER} Street")},
        "medical": {"allergies": format!("{MARKER} pollen"), "medications": format!("{MARKER}ol"),
                    "notes": format!("seen for {MARKER}")},
    });
    let created = app
        .graphql_at(
            at,
            admin,
            "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }",
            json!({"i": details}),
        )
        .await;
    let id = created.ok()["createPatient"]["id"].clone();

    app.graphql_at(
        at,
        provider,
        "query($id: UUID!) { patient(id: $id) { firstName lastName contact { email address }
           medical { allergies medications notes } } }",
        json!({"id": id}),
    )
    .await
    .ok();
    app.graphql_at(
        at,
        frontdesk,
        "query($s: String!) { patients(search: $s) { edges { node { id firstName } } } }",
        json!({"s": format!("lovelace{MARKER}")}),
    )
    .await
    .ok();
    app.graphql_at(
        at,
        admin,
        "mutation($id: UUID!, $m: MedicalInput!) { updatePatient(input: {id: $id, medical: $m}) { id } }",
        json!({"id": id, "m": {"notes": format!("follow-up on {MARKER}")}}),
    )
    .await
    .ok();
    let booking = json!({"i": {"patientId": id, "providerId": clinic.user(Role::Provider),
                               "typeId": clinic.type_id, "start": "2030-01-07T09:00:00Z"}});
    let book = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }";
    let booked = app.graphql_at(at, frontdesk, book, booking.clone()).await;
    booked.ok();
    app.graphql_at(
        at,
        frontdesk,
        "{ appointments(first: 10) { edges { node { patient { firstName lastName } } } } }",
        json!({}),
    )
    .await
    .ok();

    // Refused input that carries PHI: its errors go to the client, never to the log.
    let invalid_email = app.graphql_at(
        at,
        admin,
        "mutation($id: UUID!, $c: ContactInput!) { updatePatient(input: {id: $id, contact: $c}) { id } }",
        json!({"id": id, "c": {"email": format!("not an email {MARKER}")}}),
    )
    .await;
    assert_eq!(invalid_email.code(), "BAD_USER_INPUT");
    let too_long = app.graphql_at(
        at,
        admin,
        "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }",
        json!({"i": {"firstName": MARKER.repeat(100), "lastName": "X", "dateOfBirth": "1985-12-10"}}),
    )
    .await;
    assert_eq!(too_long.code(), "BAD_USER_INPUT");
    let double_booked = app.graphql_at(at, frontdesk, book, booking).await;
    assert_eq!(double_booked.code(), "CONFLICT");
    app.graphql_at(
        at,
        admin,
        "{ auditLogs(entityName: \"patients\") { edges { node { action oldValues newValues } } } }",
        json!({}),
    )
    .await
    .ok();

    let log = server.stop().await;
    assert!(
        log.contains("DEBUG"),
        "the server logged at debug level (captured {} bytes)",
        log.len()
    );
    let leaks: Vec<&str> = log.lines().filter(|line| line.contains(MARKER)).collect();
    assert!(leaks.is_empty(), "PHI in the log: {leaks:#?}");
}

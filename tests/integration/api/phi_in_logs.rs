//! No PHI in the logs: the PHI-heavy flows (registering, reading, searching, changing a patient,
//! booking and listing their appointments, invalid and conflicting input about them, the audit
//! trail of it all) run against the real server binary logging at debug level, as text and as
//! JSON, and a marker that appears only in the patient's details never appears in anything it
//! wrote. The JSON lines also say, for every request, who asked for what and how it went.

use hpms::foundation::role::Role;
use serde_json::{Value, json};

use crate::helpers::server_process::ServerProcess;
use crate::helpers::{ApiClinic, TestApp};

const MARKER: &str = "Qzxvmarker";
const CREATE_PATIENT: &str =
    "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }";

#[tokio::test]
async fn patient_details_never_reach_the_log_even_at_debug_level() {
    let (log, _) = log_of_phi_flows(&[]).await;
    assert!(
        log.contains("DEBUG"),
        "the server logged at debug level (captured {} bytes)",
        log.len()
    );
    assert_no_phi(&log);
}

#[tokio::test]
async fn json_logs_say_who_asked_for_what_and_how_it_went_and_hold_no_phi() {
    let (log, clinic) = log_of_phi_flows(&["--log-format", "json"]).await;
    assert_no_phi(&log);
    let lines: Vec<Value> = log
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON line: {line}"))
        })
        .collect();
    assert!(lines.iter().any(|line| line["level"] == "DEBUG"));
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|line| line["message"] == "graphql request")
        .collect();
    assert_eq!(requests.len(), 10, "one line per request");
    for request in &requests {
        let span = &request["span"];
        assert_eq!(span["name"], "graphql");
        assert!(span["request_id"].as_str().is_some_and(|id| !id.is_empty()));
        assert_eq!(span["tenant_id"], clinic.tenant_id.to_string());
        assert!(span["user_id"].is_string(), "{request}");
        assert!(request["duration_ms"].as_f64().is_some(), "{request}");
    }
    let ids: std::collections::HashSet<&str> = requests
        .iter()
        .map(|request| request["span"]["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), requests.len(), "each request has its own id");
    let seen = |root_field: &str, outcome: &str| {
        requests.iter().any(|request| {
            request["span"]["graphql.root_field"] == root_field && request["outcome"] == outcome
        })
    };
    assert!(seen("createPatient", "ok"));
    assert!(seen("createPatient", "BAD_USER_INPUT"));
    assert!(seen("bookAppointment", "CONFLICT"));
    let created = requests
        .iter()
        .find(|request| request["span"]["graphql.root_field"] == "createPatient")
        .unwrap();
    assert_eq!(created["span"]["graphql.operation.type"], "mutation");
    assert_eq!(created["span"]["otel.name"], "mutation createPatient");
    assert_eq!(
        created["span"]["user_id"],
        clinic.user(Role::ClinicAdmin).to_string()
    );
}

fn assert_no_phi(log: &str) {
    let leaks: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(MARKER) || line.contains("CreatePatientInput"))
        .collect();
    assert!(leaks.is_empty(), "PHI or query text in the log: {leaks:#?}");
}

/// Runs the PHI-heavy flows against a server process started with `extra_args` and returns
/// what it logged, and the clinic it acted in.
async fn log_of_phi_flows(extra_args: &[&str]) -> (String, ApiClinic) {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let server = ServerProcess::start_logging(&app, extra_args, "debug").await;
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
        .graphql_at(at, admin, CREATE_PATIENT, json!({"i": details}))
        .await;
    let id = created.ok()["createPatient"]["id"].clone();
    // Through the test's own server, so the logged process sees only the PHI flows.
    app.assign_care_provider(
        &clinic,
        id.as_str().unwrap().parse().unwrap(),
        clinic.user(Role::Provider),
    )
    .await;

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
        CREATE_PATIENT,
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

    (server.stop().await, clinic)
}

//! No N+1: a page of patients with their decrypted PHI costs the same handful of SQL statements
//! whether it holds 5 patients or 50 (PHI reads are audited in one statement per section shown).

use hpms::foundation::role::Role;
use serde_json::json;

use crate::helpers::TestApp;

const PAGE: &str = "query($first: Int!) { patients(first: $first) { edges { node {
  id firstName lastName dateOfBirth contact { phone email } medical { allergies } } } } }";

#[tokio::test]
async fn a_page_of_patients_costs_the_same_statements_at_any_size() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    for index in 0..54 {
        let patient = app
            .create_patient(&clinic, "Many", &format!("Patient{index:02}"))
            .await;
        app.assign_care_provider(&clinic, patient, clinic.user(Role::Provider))
            .await;
    }

    let mut costs = Vec::new();
    for first in [5, 50] {
        let before = app.statements.get();
        let response = app
            .graphql(
                Some(clinic.token(Role::Provider)),
                PAGE,
                json!({"first": first}),
            )
            .await;
        let shown = response.ok()["patients"]["edges"].as_array().unwrap().len();
        assert_eq!(shown, first);
        costs.push(app.statements.get() - before);
    }
    println!(
        "statements for 5 patients: {}, for 50: {}",
        costs[0], costs[1]
    );
    assert_eq!(costs[0], costs[1], "statements must not grow with the page");
    // The page, the provider's care relationships with its patients (one batch), one Read
    // audit per section shown (contact, medical) and one for the names and dates of birth
    // shown, after the tenant settings with the token check, one batch the counter does not see
    // (`StatementCounter`).
    assert_eq!(costs[1], 5, "statements for one page");
}

const SCHEDULE: &str = "query($first: Int!) { appointments(first: $first) { edges { node {
  id start end status version patient { firstName lastName } provider { username }
  type { name durationMinutes price } } } } }";

#[tokio::test]
async fn a_page_of_appointments_with_patient_provider_and_type_costs_the_same_at_any_size() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    for index in 0..50 {
        let patient = app
            .create_patient(&clinic, "Booked", &format!("Patient{index:02}"))
            .await;
        let start = format!("2030-01-{:02}T{:02}:00:00Z", 7 + index / 10, 8 + index % 10);
        let booked = app
            .graphql(
                Some(clinic.token(Role::FrontDesk)),
                "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
                json!({"i": {"patientId": patient, "providerId": provider, "typeId": clinic.type_id, "start": start}}),
            )
            .await;
        booked.ok();
    }

    let mut costs = Vec::new();
    for first in [5, 50] {
        let before = app.statements.get();
        let response = app
            .graphql(
                Some(clinic.token(Role::FrontDesk)),
                SCHEDULE,
                json!({"first": first}),
            )
            .await;
        let edges = response.ok()["appointments"]["edges"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(edges.len(), first);
        assert!(
            edges
                .iter()
                .all(|edge| edge["node"]["patient"]["lastName"].is_string()
                    && edge["node"]["provider"]["username"] == "provider"
                    && edge["node"]["type"]["name"] == "Consultation")
        );
        costs.push(app.statements.get() - before);
    }
    println!(
        "statements for 5 appointments: {}, for 50: {}",
        costs[0], costs[1]
    );
    assert_eq!(costs[0], costs[1], "statements must not grow with the page");
    // The page with its patients and types, its providers, and the one audit row of the
    // patients' names shown (after the uncounted tenant settings batch).
    assert_eq!(costs[1], 3, "statements for one page");
}

#[tokio::test]
async fn a_page_of_invoices_with_lines_and_patients_costs_the_same_at_any_size() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    for index in 0..12 {
        let start = format!("2030-01-07T{:02}:00:00Z", 8 + index);
        app.completed_visit(&clinic, &start).await;
    }
    let page = "query($first: Int!) { invoices(first: $first) { edges { node {
      id balance status lines { kind account amount } patient { lastName } } } } }";
    let mut costs = Vec::new();
    for first in [2, 12] {
        let before = app.statements.get();
        let response = app
            .graphql(
                Some(clinic.token(Role::BillingManager)),
                page,
                json!({"first": first}),
            )
            .await;
        assert_eq!(
            response.ok()["invoices"]["edges"].as_array().unwrap().len(),
            first
        );
        costs.push(app.statements.get() - before);
    }
    println!(
        "statements for 2 invoices: {}, for 12: {}",
        costs[0], costs[1]
    );
    assert_eq!(costs[0], costs[1], "statements must not grow with the page");
}

//! A mutation request that fails anywhere changes nothing and shows nothing: its transaction
//! rolls back, and the response carries the errors without the fields that did run (they would
//! describe changes that did not happen, or PHI whose read was never audited).

use hpms::foundation::role::Role;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestApp;

#[tokio::test]
async fn one_failing_field_rolls_back_the_whole_request_and_hides_its_data() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let before = app.footprint(&clinic).await;

    let response = app
        .graphql(
            Some(clinic.token(Role::Provider)),
            "mutation($id: UUID!, $missing: UUID!) {
               changed: updatePatient(input: {id: $id, lastName: \"Changed\"}) { lastName medical { allergies } }
               created: createPatient(input: {firstName: \"New\", lastName: \"Patient\", dateOfBirth: \"2000-01-01\"}) { id }
               missing: updatePatient(input: {id: $missing, lastName: \"Nobody\"}) { id } }",
            json!({"id": clinic.patient_id, "missing": Uuid::new_v4()}),
        )
        .await;
    assert_eq!(response.codes(), ["NOT_FOUND"]);
    assert!(
        response.data().is_null(),
        "no data from a rolled-back request: {response:?}"
    );
    assert!(!response.0.to_string().contains("penicillin"));
    assert_eq!(
        app.footprint(&clinic).await,
        before,
        "nothing written, not even a Read row"
    );

    let unchanged = app
        .graphql(
            Some(clinic.token(Role::Provider)),
            "query($id: UUID!) { patient(id: $id) { lastName } }",
            json!({"id": clinic.patient_id}),
        )
        .await;
    assert_eq!(unchanged.ok()["patient"]["lastName"], "Lovelace");
}

#[tokio::test]
async fn a_refused_field_in_a_mutation_payload_undoes_the_mutation() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let before = app.footprint(&clinic).await;
    let response = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "mutation { createPatient(input: {firstName: \"New\", lastName: \"Patient\", dateOfBirth: \"2000-01-01\"}) { id medical { notes } } }",
            json!({}),
        )
        .await;
    assert_eq!(response.codes(), ["FORBIDDEN"]);
    assert!(
        response.data().is_null(),
        "no id of a patient that does not exist"
    );
    assert_eq!(app.footprint(&clinic).await, before);
}

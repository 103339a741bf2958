//! The audit trail is complete for reads and refusals: a request that shows patients' names or
//! dates of birth (a list, one patient, an appointment's patient) leaves one `Read` row naming
//! every patient it showed; a request refused FORBIDDEN leaves a `Refused` row with the user,
//! role, clinic, client address and request id, even when the refused mutation rolled back; and
//! `patientAccessReport` lists everyone who viewed a patient.

use std::collections::BTreeSet;

use hpms::foundation::role::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ApiClinic, TestApp, scalar};

/// The `new_values` of the clinic's audit rows of `action` by `user`, oldest first, as the owner
/// reads them.
async fn audit_values(app: &TestApp, clinic: &ApiClinic, action: &str, user: Uuid) -> Vec<Value> {
    let owner = app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await;
    let values: Option<Value> = scalar(
        &owner,
        "/* test */ select jsonb_agg(new_values order by chain_seq) from audit_logs
          where tenant_id = $1 and action = $2 and user_id = $3",
        [clinic.tenant_id.into(), action.into(), user.into()],
    )
    .await;
    values
        .and_then(|values| values.as_array().cloned())
        .unwrap_or_default()
}

fn identity_reads(values: &[Value]) -> Vec<BTreeSet<String>> {
    values
        .iter()
        .filter(|value| value["shown"] == json!(["identity"]))
        .map(|value| {
            value["patient_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| id.as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn listing_20_patients_leaves_one_audit_row_naming_the_20() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let mut expected = BTreeSet::from([clinic.patient_id.to_string()]);
    for index in 0..19 {
        expected.insert(
            app.create_patient(&clinic, "Listed", &format!("Patient{index:02}"))
                .await
                .to_string(),
        );
    }

    let listed = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "{ patients(first: 20) { edges { node { id firstName lastName dateOfBirth } } } }",
            json!({}),
        )
        .await;

    assert_eq!(
        listed.ok()["patients"]["edges"].as_array().unwrap().len(),
        20
    );
    let reads =
        identity_reads(&audit_values(&app, &clinic, "Read", clinic.user(Role::FrontDesk)).await);
    assert_eq!(reads, [expected], "one row naming the 20");
}

#[tokio::test]
async fn an_appointments_patient_shown_is_audited_and_ids_alone_are_not() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    app.book(&clinic, clinic.user(Role::Provider), "2031-03-04T08:00:00Z")
        .await
        .ok();
    let billing = clinic.user(Role::BillingManager);

    app.graphql(
        Some(clinic.token(Role::BillingManager)),
        "{ appointments { edges { node { id patient { id } } } } }",
        json!({}),
    )
    .await
    .ok();
    assert!(identity_reads(&audit_values(&app, &clinic, "Read", billing).await).is_empty());

    app.graphql(
        Some(clinic.token(Role::BillingManager)),
        "{ appointments { edges { node { id patient { lastName } } } } }",
        json!({}),
    )
    .await
    .ok();
    assert_eq!(
        identity_reads(&audit_values(&app, &clinic, "Read", billing).await),
        [BTreeSet::from([clinic.patient_id.to_string()])]
    );
}

#[tokio::test]
async fn a_forbidden_request_leaves_a_refused_row_with_user_role_address_and_request_id() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let client = reqwest::Client::new();

    let refused: Value = client
        .post(app.url("/graphql"))
        .bearer_auth(clinic.token(Role::FrontDesk))
        .header("x-request-id", "audit-probe-1")
        .json(&json!({
            "query": "query($id: UUID!) { patient(id: $id) { firstName medical { allergies } } }",
            "variables": { "id": clinic.patient_id },
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");

    let rows = audit_values(&app, &clinic, "Refused", clinic.user(Role::FrontDesk)).await;
    assert_eq!(
        rows,
        [json!({
            "refused": [{ "path": "patient.medical",
                          "message": refused["errors"][0]["message"] }],
            "role": "FrontDesk",
            "client_address": "127.0.0.1",
            "request_id": "audit-probe-1",
        })]
    );
}

#[tokio::test]
async fn a_refused_mutation_rolls_back_but_its_refusal_is_recorded() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let before = app.footprint(&clinic).await;

    let response = app
        .graphql(
            Some(clinic.token(Role::BillingManager)),
            "mutation { createPatient(input: {firstName: \"No\", lastName: \"Body\", dateOfBirth: \"1990-01-01\"}) { id } }",
            json!({}),
        )
        .await;

    assert_eq!(response.code(), "FORBIDDEN");
    assert_eq!(app.footprint(&clinic).await, before, "nothing else written");
    let rows = audit_values(&app, &clinic, "Refused", clinic.user(Role::BillingManager)).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["role"], "BillingManager");
    assert_eq!(rows[0]["refused"][0]["path"], "createPatient");
    let owner = app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await;
    let named: String = scalar(
        &owner,
        "/* test */ select entity_id from audit_logs where tenant_id = $1 and action = 'Refused'",
        [clinic.tenant_id.into()],
    )
    .await;
    assert_eq!(
        named, "createPatient",
        "the row names the operation refused"
    );
}

#[tokio::test]
async fn the_access_report_lists_every_reader_of_a_patient() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let unrelated = app.create_patient(&clinic, "Someone", "Else").await;
    let patient = clinic.patient_id;
    let reads = [
        (
            Role::FrontDesk,
            "{ patients { edges { node { lastName } } } }",
        ),
        (
            Role::Provider,
            "query($id: UUID!) { patient(id: $id) { medical { allergies } } }",
        ),
        (
            Role::ClinicAdmin,
            "query($id: UUID!) { patient(id: $id) { contact { phone } } }",
        ),
        (
            Role::BillingManager,
            "query($id: UUID!) { patient(id: $id) { dateOfBirth } }",
        ),
    ];
    for (role, query) in reads {
        app.graphql(Some(clinic.token(role)), query, json!({ "id": patient }))
            .await
            .ok();
    }

    let report = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "query($id: UUID!) { patientAccessReport(patientId: $id) { edges { node { userId shown at } } } }",
            json!({ "id": patient }),
        )
        .await;

    let seen: BTreeSet<(String, String)> = report.ok()["patientAccessReport"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|edge| {
            let user = edge["node"]["userId"].as_str().unwrap().to_owned();
            edge["node"]["shown"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |part| (user.clone(), part.as_str().unwrap().to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    let user = |role| clinic.user(role).to_string();
    for expected in [
        (user(Role::FrontDesk), "identity"),
        (user(Role::Provider), "medical"),
        (user(Role::ClinicAdmin), "contact"),
        (user(Role::BillingManager), "identity"),
    ] {
        assert!(
            seen.contains(&(expected.0.clone(), expected.1.to_owned())),
            "{expected:?} in {seen:?}"
        );
    }

    let other = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "query($id: UUID!) { patientAccessReport(patientId: $id) { edges { node { userId shown } } } }",
            json!({ "id": unrelated }),
        )
        .await;
    let others: Vec<&Value> = other.ok()["patientAccessReport"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(
        others.len(),
        1,
        "the unrelated patient was shown once, in the front desk's list: {others:?}"
    );
}

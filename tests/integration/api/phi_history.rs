//! Every change to a patient's contact or medical data keeps the version it replaced, sealed
//! and append-only: `patient(id){ history }` shows each earlier version to Provider and
//! ClinicAdmin (audited), refuses everyone else, and the audit row of each kept version names
//! the sections the change replaced.

use hpms::foundation::role::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ApiClinic, TestApp, exec, scalar};

const HISTORY: &str = "query($id: UUID!) { patient(id: $id) {
  medical { allergies } history { version supersededBy changedSections
    contact { phone } medical { allergies notes } } } }";

const UPDATE: &str =
    "mutation($input: UpdatePatientInput!) { updatePatient(input: $input) { id } }";

async fn update(app: &TestApp, clinic: &ApiClinic, role: Role, input: Value) {
    app.graphql(Some(clinic.token(role)), UPDATE, json!({ "input": input }))
        .await
        .ok();
}

/// A patient registered with penicillin and phone 1, then changed three times: medical (to
/// latex), contact (to phone 2), both (to pollen and phone 3).
async fn patient_changed_three_times(app: &TestApp, clinic: &ApiClinic) -> Uuid {
    let id = app
        .create_patient_with(
            clinic,
            "Grace",
            "Hopper",
            json!({ "phone": "555 0001" }),
            json!({ "allergies": "penicillin" }),
        )
        .await;
    update(
        app,
        clinic,
        Role::Provider,
        json!({ "id": id, "medical": { "allergies": "latex" } }),
    )
    .await;
    update(
        app,
        clinic,
        Role::FrontDesk,
        json!({ "id": id, "contact": { "phone": "555 0002" } }),
    )
    .await;
    update(
        app,
        clinic,
        Role::ClinicAdmin,
        json!({ "id": id, "contact": { "phone": "555 0003" }, "medical": { "allergies": "pollen" } }),
    )
    .await;
    id
}

#[tokio::test]
async fn three_edits_leave_three_earlier_versions_newest_first() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let id = patient_changed_three_times(&app, &clinic).await;

    let response = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            HISTORY,
            json!({ "id": id }),
        )
        .await;

    let patient = &response.ok()["patient"];
    assert_eq!(
        patient["medical"]["allergies"], "pollen",
        "the current version"
    );
    assert_eq!(
        patient["history"],
        json!([
            { "version": 3, "supersededBy": clinic.user(Role::ClinicAdmin).to_string(),
              "changedSections": ["CONTACT", "MEDICAL"],
              "contact": { "phone": "555 0002" }, "medical": { "allergies": "latex", "notes": null } },
            { "version": 2, "supersededBy": clinic.user(Role::FrontDesk).to_string(),
              "changedSections": ["CONTACT"],
              "contact": { "phone": "555 0001" }, "medical": { "allergies": "latex", "notes": null } },
            { "version": 1, "supersededBy": clinic.user(Role::Provider).to_string(),
              "changedSections": ["MEDICAL"],
              "contact": { "phone": "555 0001" }, "medical": { "allergies": "penicillin", "notes": null } },
        ])
    );
}

#[tokio::test]
async fn the_audit_rows_of_the_kept_versions_name_the_changed_sections() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let id = patient_changed_three_times(&app, &clinic).await;

    let response = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "{ auditLogs(entityName: \"patient_phi_versions\") { edges { node {
                 action userId newValues } } } }",
            json!({}),
        )
        .await;

    let rows: Vec<&Value> = response.ok()["auditLogs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .collect();
    let named: Vec<(Value, Value, Value)> = rows
        .iter()
        .map(|row| {
            assert_eq!(row["action"], "CREATE");
            assert_eq!(row["newValues"]["patient_id"], id.to_string());
            assert_eq!(
                row["newValues"]["phi_data"], "[encrypted]",
                "the ciphertext is masked"
            );
            (
                row["userId"].clone(),
                row["newValues"]["version"].clone(),
                row["newValues"]["changed_sections"].clone(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (
                json!(clinic.user(Role::ClinicAdmin)),
                json!(3),
                json!(["contact", "medical"])
            ),
            (
                json!(clinic.user(Role::FrontDesk)),
                json!(2),
                json!(["contact"])
            ),
            (
                json!(clinic.user(Role::Provider)),
                json!(1),
                json!(["medical"])
            ),
        ]
    );
}

#[tokio::test]
async fn a_change_that_changes_nothing_keeps_no_version() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;

    update(
        &app,
        &clinic,
        Role::FrontDesk,
        json!({ "id": clinic.patient_id, "firstName": "Augusta" }),
    )
    .await;
    let history = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            HISTORY,
            json!({ "id": clinic.patient_id }),
        )
        .await;

    assert_eq!(history.ok()["patient"]["history"], json!([]));
}

#[tokio::test]
async fn reading_the_history_is_audited() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let id = patient_changed_three_times(&app, &clinic).await;

    app.graphql(
        Some(clinic.token(Role::ClinicAdmin)),
        "query($id: UUID!) { patient(id: $id) { history { version } } }",
        json!({ "id": id }),
    )
    .await
    .ok();

    let owner = app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await;
    let reads: i64 = scalar(
        &owner,
        "/* test */ select count(*) from audit_logs where tenant_id = $1 and action = 'Read'
            and entity_id = $2 and user_id = $3 and new_values = '{\"shown\": [\"history\"]}'",
        [
            clinic.tenant_id.into(),
            id.to_string().into(),
            clinic.user(Role::ClinicAdmin).into(),
        ],
    )
    .await;
    assert_eq!(reads, 1);
}

#[tokio::test]
async fn billing_and_front_desk_may_not_read_the_history() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;

    for role in [Role::BillingManager, Role::FrontDesk] {
        let response = app
            .graphql(
                Some(clinic.token(role)),
                "query($id: UUID!) { patient(id: $id) { history { version } } }",
                json!({ "id": clinic.patient_id }),
            )
            .await;
        assert_eq!(response.codes(), ["FORBIDDEN"], "{role:?}: {response:?}");
    }
}

#[tokio::test]
async fn kept_versions_are_never_changed_or_removed_even_by_the_owner() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    patient_changed_three_times(&app, &clinic).await;

    for statement in [
        "/* test */ update patient_phi_versions set changed_sections = '{contact}'",
        "/* test */ delete from patient_phi_versions",
        "/* test */ truncate patient_phi_versions",
    ] {
        for owner in [false, true] {
            let tx = if owner {
                app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await
            } else {
                app.db.begin(clinic.scope(Role::ClinicAdmin)).await
            };
            let refused = exec(&tx, statement, []).await;
            assert!(refused.is_err(), "{statement} (owner: {owner}) is refused");
        }
    }
}

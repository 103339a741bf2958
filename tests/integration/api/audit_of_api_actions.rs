//! Every mutation through the API leaves audit rows naming the acting user, and every read of
//! decrypted PHI leaves a `Read` row; a ClinicAdmin reads them, newest first, with filters.

use hpms::foundation::role::Role;
use serde_json::{Value, json};

use crate::helpers::{ApiClinic, TestApp, clinic_slug};

const AUDIT: &str =
    "query($entity: String, $id: String, $user: UUID, $first: Int, $after: String) {
  auditLogs(entityName: $entity, entityId: $id, userId: $user, first: $first, after: $after) {
    edges { node { id entityName entityId userId action oldValues newValues occurredAt } }
    pageInfo { hasNextPage endCursor } } }";

async fn audit(app: &TestApp, clinic: &ApiClinic, filter: Value) -> Vec<Value> {
    let response = app
        .graphql(Some(clinic.token(Role::ClinicAdmin)), AUDIT, filter)
        .await;
    response.ok()["auditLogs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

#[tokio::test]
async fn each_mutation_is_audited_with_the_acting_user() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = clinic.user(Role::ClinicAdmin);
    let provider = clinic.user(Role::Provider);

    let created = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "mutation { createUser(input: {username: \"nurse\", password: \"a long enough password\", role: FRONT_DESK}) { id } }",
            json!({}),
        )
        .await;
    let nurse = created.ok()["createUser"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rows = audit(&app, &clinic, json!({"entity": "users", "id": nurse})).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["action"], "CREATE");
    assert_eq!(rows[0]["userId"], admin.to_string());
    assert!(
        !rows[0].to_string().contains("argon2"),
        "no password hash in the audit log: {}",
        rows[0]
    );

    app.graphql(
        Some(clinic.token(Role::Provider)),
        "mutation($i: UpdatePatientInput!) { updatePatient(input: $i) { id } }",
        json!({"i": {"id": clinic.patient_id, "lastName": "King"}}),
    )
    .await
    .ok();
    app.graphql(
        Some(clinic.token(Role::ClinicAdmin)),
        "mutation($id: UUID!) { deletePatient(id: $id) }",
        json!({"id": clinic.patient_id}),
    )
    .await
    .ok();
    let rows = audit(
        &app,
        &clinic,
        json!({"entity": "patients", "id": clinic.patient_id.to_string()}),
    )
    .await;
    let actions: Vec<_> = rows
        .iter()
        .map(|row| {
            (
                row["action"].as_str().unwrap(),
                row["userId"].as_str().unwrap(),
            )
        })
        .collect();
    let (admin, provider) = (admin.to_string(), provider.to_string());
    assert_eq!(
        actions,
        vec![
            ("DELETE", admin.as_str()),
            ("UPDATE", provider.as_str()),
            ("CREATE", admin.as_str())
        ],
        "newest first"
    );
    assert_eq!(rows[1]["oldValues"]["last_name"], "Lovelace");
    assert_eq!(rows[1]["newValues"]["last_name"], "King");
    assert_eq!(rows[1]["newValues"]["phi_data"], "[encrypted]");

    let admin_token = clinic.token(Role::ClinicAdmin);
    app.graphql(
        Some(admin_token),
        "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }",
        json!({"i": {"id": nurse, "role": "PROVIDER", "password": "another long password"}}),
    )
    .await
    .ok();
    app.graphql(
        Some(admin_token),
        "mutation($id: UUID!) { deactivateUser(id: $id) { id } }",
        json!({"id": nurse}),
    )
    .await
    .ok();
    let rows = audit(&app, &clinic, json!({"entity": "users", "id": nurse})).await;
    let changes: Vec<_> = rows
        .iter()
        .map(|row| {
            (
                row["action"].as_str().unwrap(),
                row["newValues"]["role_id"].as_i64().unwrap(),
                row["newValues"]["is_active"].as_bool().unwrap(),
                row["userId"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        // The role change and the password reset are a change each (a reset's own rules: it
        // ends the user's sessions and forces a change at sign-in).
        vec![
            ("UPDATE", 3, false, admin.as_str()),
            ("UPDATE", 3, true, admin.as_str()),
            ("UPDATE", 3, true, admin.as_str()),
            ("CREATE", 5, true, admin.as_str())
        ]
    );
    assert!(!rows[1].to_string().contains("argon2"), "{}", rows[1]);
}

#[tokio::test]
async fn phi_reads_are_audited_per_patient_and_name_reads_once_per_request() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let second = app.create_patient(&clinic, "Grace", "Hopper").await;
    let reads = |user: Role| json!({"entity": "patients", "user": clinic.user(user)});
    let mut both = vec![clinic.patient_id.to_string(), second.to_string()];
    both.sort();
    let identity_row = |rows: &[Value]| -> Vec<String> {
        let rows: Vec<&Value> = rows
            .iter()
            .filter(|row| row["newValues"]["shown"] == json!(["identity"]))
            .collect();
        assert_eq!(rows.len(), 1, "one identity row per request: {rows:?}");
        let mut ids: Vec<String> = rows[0]["newValues"]["patient_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };

    app.graphql(
        Some(clinic.token(Role::BillingManager)),
        "{ patients { edges { node { firstName lastName dateOfBirth } } } }",
        json!({}),
    )
    .await
    .ok();
    let rows = audit(&app, &clinic, reads(Role::BillingManager)).await;
    assert_eq!(
        rows.len(),
        1,
        "names alone: one row for the request: {rows:?}"
    );
    assert_eq!(identity_row(&rows), both);

    app.graphql(
        Some(clinic.token(Role::FrontDesk)),
        "{ patients { edges { node { lastName contact { phone } } } } }",
        json!({}),
    )
    .await
    .ok();
    let rows = audit(&app, &clinic, reads(Role::FrontDesk)).await;
    let contact_rows: Vec<&Value> = rows
        .iter()
        .filter(|row| row["newValues"] == json!({"shown": ["contact"]}))
        .collect();
    let mut read_ids: Vec<_> = contact_rows
        .iter()
        .map(|row| row["entityId"].as_str().unwrap().to_owned())
        .collect();
    read_ids.sort();
    assert_eq!(read_ids, both, "one contact Read row per patient shown");
    assert_eq!(identity_row(&rows), both);
    assert_eq!(rows.len(), 3);

    // A refused PHI read shows nothing and records no read (its refusal is a `Refused` row).
    let refused = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "query($id: UUID!) { patient(id: $id) { medical { notes } } }",
            json!({"id": second}),
        )
        .await;
    assert_eq!(refused.code(), "FORBIDDEN");
    assert_eq!(audit(&app, &clinic, reads(Role::FrontDesk)).await.len(), 3);
}

#[tokio::test]
async fn onboarding_is_audited_in_the_new_clinic_under_the_system_admin() {
    let app = TestApp::spawn().await;
    let sysadmin = app.system_admin().await;
    let east = clinic_slug("east");
    let created = app
        .graphql(
            Some(&sysadmin),
            "mutation($slug: String!) { createTenant(input: {name: \"East Clinic\", slug: $slug, adminUsername: \"boss\", adminPassword: \"correct horse battery staple\"}) { tenant { id } admin { id } } }",
            json!({"slug": east}),
        )
        .await;
    let admin_id = created.ok()["createTenant"]["admin"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = app
        .graphql(Some(&sysadmin), "{ me { id } }", json!({}))
        .await;
    let sysadmin_id = me.ok()["me"]["id"].as_str().unwrap().to_owned();

    let tenant_id = created.ok()["createTenant"]["tenant"]["id"].clone();
    app.graphql(
        Some(&sysadmin),
        "mutation($id: UUID!) { setTenantActive(id: $id, active: true) { id } }",
        json!({"id": tenant_id}),
    )
    .await
    .ok();
    let boss = app.login(&east, "boss").await;
    let rows = app
        .graphql(
            Some(&boss),
            "{ auditLogs { edges { node { entityName entityId userId action } } } }",
            json!({}),
        )
        .await;
    let rows = rows.ok()["auditLogs"]["edges"].as_array().unwrap().clone();
    let entities: Vec<_> = rows
        .iter()
        .map(|edge| edge["node"]["entityName"].as_str().unwrap())
        .collect();
    assert_eq!(
        entities,
        vec!["users", "user_sessions", "tenants", "users", "tenants"],
        "the admin's sign-in (its security event and session), reactivation, admin, clinic"
    );
    assert_eq!(rows[0]["node"]["action"], "SIGN_IN");
    assert_eq!(rows[2]["node"]["action"], "UPDATE");
    assert_eq!(rows[3]["node"]["entityId"], admin_id.as_str());
    assert!(
        rows[..2]
            .iter()
            .all(|edge| edge["node"]["userId"] == admin_id.as_str())
    );
    assert!(
        rows[2..]
            .iter()
            .all(|edge| edge["node"]["userId"] == sysadmin_id.as_str())
    );
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    for index in 0..6 {
        app.create_patient(&clinic, "Page", &format!("Patient{index}"))
            .await;
    }
    let everything = audit(&app, &clinic, json!({"first": 100})).await;
    let mut paged = Vec::new();
    let mut after = Value::Null;
    loop {
        let response = app
            .graphql(
                Some(clinic.token(Role::ClinicAdmin)),
                AUDIT,
                json!({"first": 4, "after": after}),
            )
            .await;
        let page = &response.ok()["auditLogs"];
        paged.extend(
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|edge| edge["node"].clone()),
        );
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(paged, everything);
    // Newest first by time; not by id, which on Citus comes from the node that wrote the row.
    let times: Vec<chrono::DateTime<chrono::Utc>> = paged
        .iter()
        .map(|row| row["occurredAt"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|pair| pair[0] >= pair[1]),
        "newest first: {times:?}"
    );
    assert!(
        times.first() > times.last(),
        "the page spans several writes"
    );
}

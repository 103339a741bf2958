//! Over the API, one clinic's users can neither read nor change anything of another clinic:
//! another clinic's id answers NOT_FOUND (never FORBIDDEN, which would confirm it exists), and
//! lists hold only the caller's own rows.

use hpms::foundation::role::Role;
use serde_json::json;

use crate::helpers::{CLINIC_ROLES, TestApp};

#[tokio::test]
async fn another_clinics_patient_is_not_found_for_every_role() {
    let app = TestApp::spawn().await;
    let north = app.clinic("north").await;
    let south = app.clinic("south").await;
    let theirs = json!({"id": north.patient_id});

    for role in CLINIC_ROLES {
        let token = south.token(role);
        let read = app
            .graphql(
                Some(token),
                "query($id: UUID!) { patient(id: $id) { id } }",
                theirs.clone(),
            )
            .await;
        assert_eq!(read.code(), "NOT_FOUND", "patient() as {role:?}");
    }
    // The roles that may write patients hear NOT_FOUND on writes too.
    let update = app
        .graphql(
            Some(south.token(Role::ClinicAdmin)),
            "mutation($i: UpdatePatientInput!) { updatePatient(input: $i) { id } }",
            json!({"i": {"id": north.patient_id, "lastName": "Stolen", "medical": {"notes": "x"}}}),
        )
        .await;
    assert_eq!(update.code(), "NOT_FOUND");
    let delete = app
        .graphql(
            Some(south.token(Role::ClinicAdmin)),
            "mutation($id: UUID!) { deletePatient(id: $id) }",
            theirs.clone(),
        )
        .await;
    assert_eq!(delete.code(), "NOT_FOUND");

    // North's patient is untouched and still readable by North.
    let own = app
        .graphql(
            Some(north.token(Role::Provider)),
            "query($id: UUID!) { patient(id: $id) { lastName medical { notes } } }",
            theirs,
        )
        .await;
    assert_eq!(own.ok()["patient"]["lastName"], "Lovelace");
    assert_eq!(own.ok()["patient"]["medical"]["notes"], "Prefers mornings.");
}

#[tokio::test]
async fn another_clinics_users_are_not_found_and_lists_hold_only_own_rows() {
    let app = TestApp::spawn().await;
    let north = app.clinic("north").await;
    let south = app.clinic("south").await;
    let south_admin = south.token(Role::ClinicAdmin);

    for (mutation, variables) in [
        (
            "mutation($id: UUID!) { deactivateUser(id: $id) { id } }",
            json!({"id": north.user(Role::Provider)}),
        ),
        (
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }",
            json!({"i": {"id": north.user(Role::Provider), "password": "taken over at last!"}}),
        ),
    ] {
        let response = app.graphql(Some(south_admin), mutation, variables).await;
        assert_eq!(response.code(), "NOT_FOUND", "{mutation}");
    }
    app.login(&north.slug, "provider").await;

    let patients = app
        .graphql(
            Some(south_admin),
            "{ patients(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let ids: Vec<_> = patients.ok()["patients"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![south.patient_id.to_string()]);

    let users = app
        .graphql(
            Some(south_admin),
            "{ users(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let user_ids = users.ok()["users"]["edges"].to_string();
    for role in CLINIC_ROLES {
        assert!(user_ids.contains(&south.user(role).to_string()));
        assert!(!user_ids.contains(&north.user(role).to_string()));
    }

    let audit = app
        .graphql(
            Some(south_admin),
            "{ auditLogs(first: 100) { edges { node { entityId newValues } } } }",
            json!({}),
        )
        .await;
    let audit = audit.ok()["auditLogs"].to_string();
    assert!(!audit.contains(&north.patient_id.to_string()));
    assert!(!audit.contains(&north.tenant_id.to_string()));
}

#[tokio::test]
async fn a_system_admin_sees_clinics_but_no_patient_of_any() {
    let app = TestApp::spawn().await;
    let north = app.clinic("north").await;
    let sysadmin = app.system_admin().await;

    let read = app
        .graphql(
            Some(&sysadmin),
            "query($id: UUID!) { patient(id: $id) { id } }",
            json!({"id": north.patient_id}),
        )
        .await;
    assert_eq!(read.code(), "FORBIDDEN");
    let list = app
        .graphql(
            Some(&sysadmin),
            "{ tenants { edges { node { slug isActive } } } }",
            json!({}),
        )
        .await;
    let slugs = list.ok()["tenants"]["edges"].to_string();
    assert!(slugs.contains("north"));
    assert!(
        !slugs.contains("platform"),
        "the platform itself is not a clinic: {slugs}"
    );
}

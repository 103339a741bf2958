//! A ClinicAdmin manages the clinic's users: creates them with a role, changes roles and
//! passwords, deactivates them, and lists them by role; but cannot lock themselves out.

use hpms::foundation::role::Role;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const CREATE_USER: &str =
    "mutation($i: CreateUserInput!) { createUser(input: $i) { id username role isActive } }";
const UPDATE_USER: &str = "mutation($i: UpdateUserInput!) { updateUser(input: $i) { role } }";
const LOGIN: &str = "mutation($t: String!, $u: String!, $p: String!) { login(tenant: $t, username: $u, password: $p) { token } }";

#[tokio::test]
async fn a_created_user_signs_in_and_a_changed_password_replaces_the_old_one() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = Some(clinic.token(Role::ClinicAdmin));

    let created = app
        .graphql(admin, CREATE_USER, json!({"i": {"username": " Nurse.Joy ", "password": "first password 1", "role": "FRONT_DESK"}}))
        .await;
    let user = &created.ok()["createUser"];
    assert_eq!(
        user["username"], "nurse.joy",
        "usernames are trimmed and lower-cased"
    );
    assert_eq!(user["role"], "FRONT_DESK");
    let id = user["id"].clone();
    let signed_in = app
        .graphql(
            None,
            LOGIN,
            json!({"t": clinic.slug, "u": "NURSE.JOY", "p": "first password 1"}),
        )
        .await;
    assert!(signed_in.errors().is_empty(), "{signed_in:?}");

    app.graphql(
        admin,
        UPDATE_USER,
        json!({"i": {"id": id, "password": "second password 2"}}),
    )
    .await
    .ok();
    let old = app
        .graphql(
            None,
            LOGIN,
            json!({"t": clinic.slug, "u": "nurse.joy", "p": "first password 1"}),
        )
        .await;
    assert_eq!(old.code(), "UNAUTHENTICATED");
    let new = app
        .graphql(
            None,
            LOGIN,
            json!({"t": clinic.slug, "u": "nurse.joy", "p": "second password 2"}),
        )
        .await;
    assert!(new.errors().is_empty());
}

#[tokio::test]
async fn an_admin_cannot_deactivate_or_demote_themselves() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = Some(clinic.token(Role::ClinicAdmin));
    let me = clinic.user(Role::ClinicAdmin);

    let response = app
        .graphql(
            admin,
            "mutation($id: UUID!) { deactivateUser(id: $id) { id } }",
            json!({"id": me}),
        )
        .await;
    assert_eq!(response.code(), "BAD_USER_INPUT");
    let response = app
        .graphql(
            admin,
            UPDATE_USER,
            json!({"i": {"id": me, "role": "PROVIDER"}}),
        )
        .await;
    assert_eq!(response.code(), "BAD_USER_INPUT");
    let still_admin = app
        .graphql(admin, "{ me { role isActive } }", json!({}))
        .await;
    assert_eq!(
        still_admin.ok()["me"],
        json!({"role": "CLINIC_ADMIN", "isActive": true})
    );
}

#[tokio::test]
async fn users_are_listed_by_username_page_by_page_and_filtered_by_role() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = Some(clinic.token(Role::ClinicAdmin));
    for name in ["zed", "amy", "kim"] {
        app.graphql(admin, CREATE_USER, json!({"i": {"username": name, "password": "a long enough password", "role": "PROVIDER"}}))
            .await
            .ok();
    }
    let page = |after: Value| {
        app.graphql(
            admin,
            "query($after: String) { users(first: 3, after: $after) { edges { node { username } } pageInfo { hasNextPage endCursor } } }",
            json!({"after": after}),
        )
    };
    let first = page(Value::Null).await;
    let second = page(first.ok()["users"]["pageInfo"]["endCursor"].clone()).await;
    let names = |response: &crate::helpers::Gql| -> Vec<String> {
        response.ok()["users"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["username"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&first), ["admin", "amy", "billing"]);
    assert_eq!(first.ok()["users"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(names(&second), ["frontdesk", "kim", "provider"]);
    assert_eq!(second.ok()["users"]["pageInfo"]["hasNextPage"], true);

    let providers = app
        .graphql(
            admin,
            "{ users(role: PROVIDER) { edges { node { username } } } }",
            json!({}),
        )
        .await;
    let listed = providers.ok()["users"]["edges"].to_string();
    for name in ["amy", "kim", "provider", "zed"] {
        assert!(listed.contains(name), "{name} in {listed}");
    }
    assert!(!listed.contains("frontdesk"));
}

#[tokio::test]
async fn the_front_desk_sees_whom_it_can_book_with_the_active_providers_of_its_own_clinic() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let other = app.clinic("south").await;
    let admin = Some(clinic.token(Role::ClinicAdmin));
    let create = |username: &str| json!({"i": {"username": username, "password": "provider password 1", "role": "PROVIDER"}});
    let active = app.graphql(admin, CREATE_USER, create("dr.active")).await;
    let leaving = app.graphql(admin, CREATE_USER, create("dr.leaving")).await;
    app.graphql(
        admin,
        "mutation($id: UUID!) { deactivateUser(id: $id) { isActive } }",
        json!({"id": leaving.ok()["createUser"]["id"]}),
    )
    .await
    .ok();

    let listed = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            include_str!("../../../examples/providers.graphql"),
            json!({}),
        )
        .await;
    let nodes: Vec<&Value> = listed.ok()["providers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .collect();
    let ids: Vec<String> = nodes
        .iter()
        .map(|node| node["id"].as_str().unwrap().to_owned())
        .collect();
    let mut expected = vec![
        clinic.user(Role::Provider).to_string(),
        active.ok()["createUser"]["id"].as_str().unwrap().to_owned(),
    ];
    expected.sort();
    let mut found = ids.clone();
    found.sort();
    assert_eq!(found, expected, "active providers only, none of south's");
    assert!(!ids.contains(&other.user(Role::Provider).to_string()));
    let usernames: Vec<&str> = nodes
        .iter()
        .map(|node| node["username"].as_str().unwrap())
        .collect();
    assert!(usernames.is_sorted(), "by username: {usernames:?}");
}

//! A token is honoured only while it is genuine, current, and its user and clinic are active in
//! the role it names: expired, not yet valid, tampered, re-signed, unsigned or foreign tokens,
//! and tokens of deactivated users, deactivated clinics or changed roles, all get the same
//! UNAUTHENTICATED answer.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hpms::foundation::role::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{ApiClinic, TEST_TOKEN_SECRET, TestApp, token_claim};

const ME: &str = "{ me { id } }";

/// Claims for `role`'s user of `clinic`, in the session of the genuine token they signed in with.
fn claims(clinic: &ApiClinic, role: Role, issued_offset: i64, lifetime: i64) -> Value {
    let now = chrono::Utc::now().timestamp() + issued_offset;
    json!({
        "iss": "hpms", "sub": clinic.user(role).to_string(), "tid": clinic.tenant_id.to_string(),
        "role": role.name(), "ver": 1, "sid": token_claim(clinic.token(role), "sid"),
        "iat": now, "nbf": now, "exp": now + lifetime,
    })
}

fn sign(claims: &Value, algorithm: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("the test token signs")
}

fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

/// A genuine token with its payload swapped for `claims`, signature kept.
fn tampered(genuine: &str, claims: &Value) -> String {
    let parts: Vec<&str> = genuine.split('.').collect();
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    )
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_are_all_unauthenticated() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let frontdesk = clinic.token(Role::FrontDesk);
    let valid = claims(&clinic, Role::FrontDesk, 0, 600);
    assert!(
        app.graphql(
            Some(&sign(&valid, Algorithm::HS256, TEST_TOKEN_SECRET)),
            ME,
            json!({})
        )
        .await
        .errors()
        .is_empty(),
        "a token forged with the real secret and right claims works: the cases below differ only as named"
    );

    let mut wrong_issuer = valid.clone();
    wrong_issuer["iss"] = json!("someone-else");
    let mut promoted = valid.clone();
    promoted["role"] = json!("ClinicAdmin");
    // North's user, replayed as if of another clinic: signed with the real secret even.
    let south = app.clinic("south").await;
    let mut moved = valid.clone();
    moved["tid"] = json!(south.tenant_id.to_string());
    let cases = [
        (
            "expired",
            sign(
                &claims(&clinic, Role::FrontDesk, -3600, 600),
                Algorithm::HS256,
                TEST_TOKEN_SECRET,
            ),
        ),
        (
            "not yet valid",
            sign(
                &claims(&clinic, Role::FrontDesk, 3600, 600),
                Algorithm::HS256,
                TEST_TOKEN_SECRET,
            ),
        ),
        (
            "wrong secret",
            sign(
                &valid,
                Algorithm::HS256,
                "another-secret-of-at-least-32-bytes!!",
            ),
        ),
        (
            "wrong algorithm",
            sign(&valid, Algorithm::HS384, TEST_TOKEN_SECRET),
        ),
        ("alg none", unsigned(&valid)),
        (
            "wrong issuer",
            sign(&wrong_issuer, Algorithm::HS256, TEST_TOKEN_SECRET),
        ),
        ("tampered role", tampered(frontdesk, &promoted)),
        (
            "another clinic's id",
            sign(&moved, Algorithm::HS256, TEST_TOKEN_SECRET),
        ),
        ("garbage", "not.a.token".to_owned()),
        ("empty", String::new()),
    ];
    let mut messages = Vec::new();
    for (case, token) in &cases {
        let response = app.graphql(Some(token), ME, json!({})).await;
        assert_eq!(response.code(), "UNAUTHENTICATED", "{case}");
        assert!(response.data().is_null(), "{case}");
        messages.push(response.errors()[0]["message"].clone());
    }
    assert!(
        messages.windows(2).all(|pair| pair[0] == pair[1]),
        "{messages:?}"
    );
}

#[tokio::test]
async fn deactivating_a_user_ends_their_tokens_at_once() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.token(Role::Provider);
    assert!(
        app.graphql(Some(provider), ME, json!({}))
            .await
            .errors()
            .is_empty()
    );

    app.graphql(
        Some(clinic.token(Role::ClinicAdmin)),
        "mutation($id: UUID!) { deactivateUser(id: $id) { isActive } }",
        json!({"id": clinic.user(Role::Provider)}),
    )
    .await
    .ok();
    assert_eq!(
        app.graphql(Some(provider), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn changing_a_users_role_ends_tokens_that_name_the_old_one() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let frontdesk = clinic.token(Role::FrontDesk);
    app.graphql(
        Some(clinic.token(Role::ClinicAdmin)),
        "mutation($i: UpdateUserInput!) { updateUser(input: $i) { role } }",
        json!({"i": {"id": clinic.user(Role::FrontDesk), "role": "BILLING_MANAGER"}}),
    )
    .await
    .ok();
    assert_eq!(
        app.graphql(Some(frontdesk), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
    let again = app.login(&clinic.slug, "frontdesk").await;
    let me = app
        .graphql(Some(&again), "{ me { role } }", json!({}))
        .await;
    assert_eq!(me.ok()["me"]["role"], "BILLING_MANAGER");
}

#[tokio::test]
async fn deactivating_a_clinic_ends_its_tokens_and_reactivating_restores_sign_in() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let sysadmin = app.system_admin().await;
    let admin = clinic.token(Role::ClinicAdmin);
    let set_active =
        "mutation($id: UUID!, $a: Boolean!) { setTenantActive(id: $id, active: $a) { isActive } }";

    let off = app
        .graphql(
            Some(&sysadmin),
            set_active,
            json!({"id": clinic.tenant_id, "a": false}),
        )
        .await;
    assert_eq!(off.ok()["setTenantActive"]["isActive"], false);
    assert_eq!(
        app.graphql(Some(admin), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );

    app.graphql(
        Some(&sysadmin),
        set_active,
        json!({"id": clinic.tenant_id, "a": true}),
    )
    .await
    .ok();
    app.login(&clinic.slug, "admin").await;
}

#[tokio::test]
async fn changing_a_password_ends_the_sessions_opened_with_the_old_one() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let old_session = clinic.token(Role::Provider);
    app.graphql(
        Some(clinic.token(Role::ClinicAdmin)),
        "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }",
        json!({"i": {"id": clinic.user(Role::Provider), "password": "a brand new password"}}),
    )
    .await
    .ok();
    assert_eq!(
        app.graphql(Some(old_session), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
    let new_session = app
        .login_with(&clinic.slug, "provider", "a brand new password")
        .await;
    assert!(
        app.graphql(Some(&new_session), ME, json!({}))
            .await
            .errors()
            .is_empty()
    );
}

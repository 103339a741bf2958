//! Signing in: the right clinic, username and password give a short-lived token that `me`
//! honours; every wrong combination gets the same UNAUTHENTICATED answer, and repeated failures
//! lock the account, or the client address they come from, for a while.

use std::net::SocketAddr;

use hpms::foundation::role::Role;
use serde_json::json;

use crate::helpers::{Gql, TEST_PASSWORD, TestApp};

const LOGIN: &str = "mutation($t: String!, $u: String!, $p: String!) {
  login(tenant: $t, username: $u, password: $p) { token expiresAt user { id username role } } }";

#[tokio::test]
async fn a_user_signs_in_by_slug_or_id_and_me_returns_them() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;

    for tenant in [clinic.slug.clone(), clinic.tenant_id.to_string()] {
        let response = app
            .graphql(
                None,
                LOGIN,
                json!({"t": tenant, "u": "Provider", "p": TEST_PASSWORD}),
            )
            .await;
        let login = &response.ok()["login"];
        assert_eq!(login["user"]["role"], "PROVIDER");
        let expires_at: chrono::DateTime<chrono::Utc> =
            login["expiresAt"].as_str().unwrap().parse().unwrap();
        let lifetime = expires_at - chrono::Utc::now();
        assert!(
            lifetime > chrono::Duration::minutes(14) && lifetime <= chrono::Duration::minutes(15),
            "tokens live 15 minutes by default, this one {lifetime}"
        );

        let token = login["token"].as_str().unwrap();
        let me = app
            .graphql(
                Some(token),
                "{ me { id username role isActive } }",
                json!({}),
            )
            .await;
        assert_eq!(me.ok()["me"]["id"], clinic.user(Role::Provider).to_string());
        assert_eq!(me.ok()["me"]["username"], "provider");
    }
}

#[tokio::test]
async fn every_failed_sign_in_looks_the_same() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = clinic.token(Role::ClinicAdmin);
    let deactivated = clinic.user(Role::BillingManager);
    app.graphql(
        Some(admin),
        "mutation($id: UUID!) { deactivateUser(id: $id) { isActive } }",
        json!({"id": deactivated}),
    )
    .await
    .ok();
    let dormant = app.clinic("dormant").await;
    let sysadmin = app.system_admin().await;
    app.graphql(
        Some(&sysadmin),
        "mutation($id: UUID!) { setTenantActive(id: $id, active: false) { isActive } }",
        json!({"id": dormant.tenant_id}),
    )
    .await
    .ok();

    let attempts = [
        (
            "wrong password",
            clinic.slug.as_str(),
            "provider",
            "not the password at all",
        ),
        (
            "unknown user",
            clinic.slug.as_str(),
            "nobody",
            TEST_PASSWORD,
        ),
        ("unknown clinic", "south", "provider", TEST_PASSWORD),
        (
            "deactivated user",
            clinic.slug.as_str(),
            "billing",
            TEST_PASSWORD,
        ),
        (
            "deactivated clinic",
            dormant.slug.as_str(),
            "provider",
            TEST_PASSWORD,
        ),
    ];
    let mut answers = Vec::new();
    for (case, tenant, username, password) in attempts {
        let response = app
            .graphql(
                None,
                LOGIN,
                json!({"t": tenant, "u": username, "p": password}),
            )
            .await;
        assert_eq!(response.code(), "UNAUTHENTICATED", "{case}");
        assert!(response.data().is_null(), "{case}: no data");
        answers.push(response.errors()[0]["message"].clone());
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "one message for every failure, so none tells which part was wrong: {answers:?}"
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let app = TestApp::spawn().await;
    let north = app.clinic("north").await;
    for _ in 0..5 {
        let response = app
            .graphql(
                None,
                LOGIN,
                json!({"t": north.slug, "u": "frontdesk", "p": "wrong guess!!"}),
            )
            .await;
        assert_eq!(response.code(), "UNAUTHENTICATED");
    }
    let locked = app
        .graphql(
            None,
            LOGIN,
            json!({"t": north.slug, "u": "frontdesk", "p": TEST_PASSWORD}),
        )
        .await;
    assert_eq!(locked.code(), "UNAUTHENTICATED");
    let error = &locked.errors()[0];
    assert!(
        error["message"].as_str().unwrap().contains("try again in"),
        "{error}"
    );
    assert!(error["extensions"]["retryAfterSeconds"].as_u64().unwrap() > 0);

    // Other accounts are unaffected.
    app.login(&north.slug, "provider").await;
}

#[tokio::test]
async fn requests_without_a_token_can_only_sign_in() {
    let app = TestApp::spawn().await;
    let response = app.graphql(None, "{ me { id } }", json!({})).await;
    assert_eq!(response.code(), "UNAUTHENTICATED");
    let response = app.graphql(None, "{ version }", json!({})).await;
    assert_eq!(response.ok()["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_lockout() {
    let app = TestApp::spawn().await;
    let north = app.clinic("north").await;
    let guesses = (0..20).map(|index| {
        let (app, north) = (&app, &north);
        async move {
            app.graphql(
                None,
                LOGIN,
                json!({"t": north.slug, "u": "frontdesk", "p": format!("guess number {index}")}),
            )
            .await
        }
    });
    let responses = futures::future::join_all(guesses).await;
    let checked = responses
        .iter()
        .filter(|response| {
            !response.errors()[0]["message"]
                .as_str()
                .unwrap()
                .contains("try again in")
        })
        .count();
    assert_eq!(
        checked, 5,
        "only five of twenty parallel guesses get their password checked"
    );
}

#[tokio::test]
async fn one_request_signs_in_once() {
    let app = TestApp::spawn().await;
    let north = app.clinic("north").await;
    let aliases = format!(
        "mutation {{ {} }}",
        (0..3)
            .map(|i| format!("a{i}: login(tenant: \"{}\", username: \"frontdesk\", password: \"{TEST_PASSWORD}\") {{ token }}", north.slug))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let response = app.graphql(None, &aliases, json!({})).await;
    assert_eq!(response.codes(), ["BAD_USER_INPUT", "BAD_USER_INPUT"]);
}

#[tokio::test]
async fn a_stale_token_in_the_headers_does_not_stop_a_new_sign_in() {
    let app = TestApp::spawn().await;
    let north = app.clinic("north").await;
    let response = app
        .graphql(
            Some("expired.or.garbage"),
            LOGIN,
            json!({"t": north.slug, "u": "provider", "p": TEST_PASSWORD}),
        )
        .await;
    assert!(response.ok()["login"]["token"].is_string());
    let response = app
        .graphql(Some("expired.or.garbage"), "{ me { id } }", json!({}))
        .await;
    assert_eq!(response.code(), "UNAUTHENTICATED");
}

/// Signs in to the server at `server` as a client a trusted proxy reports at `from` (after an
/// address of the client's own invention, which must not count).
async fn sign_in_from(
    server: SocketAddr,
    from: &str,
    tenant: &str,
    username: &str,
    password: &str,
) -> Gql {
    let response = reqwest::Client::new()
        .post(format!("http://{server}/graphql"))
        .header("x-forwarded-for", format!("192.0.2.99, {from}"))
        .json(&json!({"query": LOGIN, "variables": {"t": tenant, "u": username, "p": password}}))
        .send()
        .await
        .expect("the server answers");
    Gql(response.json().await.expect("the response is JSON"))
}

#[tokio::test]
async fn failed_sign_ins_from_one_address_are_limited_whatever_accounts_they_name() {
    let app = TestApp::spawn().await;
    let north = app.clinic("north").await;
    let server = app
        .instance_with(|settings| {
            settings.auth.login_attempts_per_address = 3;
            settings.auth.client_address_header = Some("x-forwarded-for".to_owned());
        })
        .await;
    let office = "203.0.113.5";
    for _ in 0..5 {
        let signed_in = sign_in_from(server, office, &north.slug, "frontdesk", TEST_PASSWORD).await;
        assert!(
            signed_in.ok()["login"]["token"].is_string(),
            "successes do not count"
        );
    }
    for username in ["admin", "provider", "billing"] {
        let guess = sign_in_from(server, office, &north.slug, username, "wrong guess!!").await;
        assert_eq!(guess.code(), "UNAUTHENTICATED");
    }

    let refused = sign_in_from(server, office, &north.slug, "provider", TEST_PASSWORD).await;
    assert_eq!(refused.code(), "UNAUTHENTICATED");
    let error = &refused.errors()[0];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("too many failed sign-in attempts from this address"),
        "{error}"
    );
    assert!(error["extensions"]["retryAfterSeconds"].as_u64().unwrap() > 0);

    let known = sign_in_from(server, office, &north.slug, "frontdesk", TEST_PASSWORD).await;
    assert!(
        known.ok()["login"]["token"].is_string(),
        "an account that signed in from the address before is not locked out by others there"
    );
    let elsewhere = sign_in_from(
        server,
        "203.0.113.6",
        &north.slug,
        "provider",
        TEST_PASSWORD,
    )
    .await;
    assert!(
        elsewhere.ok()["login"]["token"].is_string(),
        "the accounts themselves are not locked"
    );

    // With no proxy header configured, a forwarding header is the client's invention: every
    // guess counts against the peer's address, whatever address it claims.
    let direct = app
        .instance_with(|settings| settings.auth.login_attempts_per_address = 3)
        .await;
    for claimed in ["203.0.113.7", "203.0.113.8", "203.0.113.9"] {
        let guess = sign_in_from(direct, claimed, &north.slug, "admin", "wrong guess!!").await;
        assert_eq!(guess.code(), "UNAUTHENTICATED");
    }
    let refused = sign_in_from(
        direct,
        "203.0.113.10",
        &north.slug,
        "frontdesk",
        TEST_PASSWORD,
    )
    .await;
    assert!(
        refused.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("from this address"),
        "{:?}",
        refused.errors()
    );
}

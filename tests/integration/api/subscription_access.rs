//! Who may subscribe, and for how long: credentials go in `connection_init`; bad, expired or
//! revoked ones close the socket with graphql-transport-ws's 4403, a subscribe before the
//! handshake with 4401; revoking a key or deactivating a user or clinic ends open subscriptions.

use hpms::foundation::role::Role::{ClinicAdmin, FrontDesk, Provider};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::subscriptions::{EventSocket, Received, event_id};
use crate::helpers::{ApiClinic, TEST_TOKEN_SECRET, TestApp, token_claim};

const FORBIDDEN: u16 = 4403;
const UNAUTHORIZED: u16 = 4401;

/// A FrontDesk token of `clinic` that expires `seconds` from now (in the past when negative).
fn token_expiring_in(clinic: &ApiClinic, seconds: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": "hpms", "sub": clinic.user(FrontDesk).to_string(), "tid": clinic.tenant_id.to_string(),
        "role": "FrontDesk", "ver": 1, "sid": token_claim(clinic.token(FrontDesk), "sid"),
        "iat": now - 60, "nbf": now - 60, "exp": now + seconds,
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(TEST_TOKEN_SECRET.as_bytes()),
    )
    .unwrap()
}

async fn init_result(app: &TestApp, payload: Value) -> Result<(), (u16, String)> {
    EventSocket::open(app.address, "graphql-transport-ws")
        .await
        .init(payload)
        .await
}

#[tokio::test]
async fn missing_bad_expired_and_revoked_credentials_close_the_socket_with_4403() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let (revoked_key, revoked_id) = app.issue_api_key(&clinic, "Old lab").await;
    app.revoke_api_key(&clinic, &revoked_id).await.ok();
    let (live_key, _) = app.issue_api_key(&clinic, "Lab").await;
    let malformed_key = format!("hpms_{}_{}", uuid::Uuid::new_v4().simple(), "A".repeat(43));
    let unknown_key = format!(
        "hpms_{}{}_{}",
        clinic.tenant_id.simple(),
        uuid::Uuid::new_v4().simple(),
        "A".repeat(43)
    );
    // The live key's id and secret, presented as another clinic's.
    let other_clinic = live_key.replacen(
        &clinic.tenant_id.simple().to_string(),
        &uuid::Uuid::new_v4().simple().to_string(),
        1,
    );
    // Same ids, a secret one character off (in the middle, so it still decodes): only the
    // constant-time comparison can tell.
    let middle = live_key.len() - 20;
    let flipped = if &live_key[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let tampered_key = format!(
        "{}{flipped}{}",
        &live_key[..middle],
        &live_key[middle + 1..]
    );

    for payload in [
        json!({}),
        json!(null),
        json!({"token": "not-a-token"}),
        json!({"token": token_expiring_in(&clinic, -1800)}),
        json!({"apiKey": "hpms_nonsense"}),
        json!({"apiKey": malformed_key}),
        json!({"apiKey": unknown_key}),
        json!({"apiKey": other_clinic}),
        json!({"apiKey": tampered_key}),
        json!({"apiKey": revoked_key}),
        json!({"token": clinic.token(FrontDesk), "apiKey": live_key}),
    ] {
        let refused = init_result(&app, payload.clone()).await;
        let (code, reason) = refused.expect_err(&format!("{payload} is refused"));
        assert_eq!(code, FORBIDDEN, "{payload}: {reason}");
        assert!(
            !reason.contains(&live_key) && !reason.to_lowercase().contains("select"),
            "{reason}"
        );
    }
    assert_eq!(init_result(&app, json!({"apiKey": live_key})).await, Ok(()));
    assert_eq!(
        init_result(&app, json!({"token": clinic.token(Provider)})).await,
        Ok(())
    );
}

#[tokio::test]
async fn subscribing_before_the_handshake_closes_the_socket_with_4401() {
    let app = TestApp::spawn().await;
    let mut socket = EventSocket::open(app.address, "graphql-transport-ws").await;
    socket.start(None).await;
    assert!(matches!(
        socket.receive().await,
        Received::Closed(UNAUTHORIZED, _)
    ));
}

#[tokio::test]
async fn a_user_without_a_clinic_role_may_not_subscribe() {
    let app = TestApp::spawn().await;
    let sysadmin = app.system_admin().await;
    let mut socket = EventSocket::subscribe(app.address, json!({"token": sysadmin}), None).await;
    assert_eq!(
        socket.final_error().await["extensions"]["code"],
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_works_too() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let mut socket = EventSocket::open(app.address, "graphql-ws").await;
    socket
        .init(json!({"token": clinic.token(FrontDesk)}))
        .await
        .unwrap();
    socket
        .send(json!({"id": "1", "type": "start", "payload": {
            "query": "subscription { appointmentStatusChanged(after: \"0\") { id newStatus } }"}}))
        .await;
    app.book(&clinic, clinic.user(Provider), "2031-01-06T09:00:00Z")
        .await
        .ok();
    let event = socket.next_event().await;
    assert_eq!(
        (event_id(&event), event["newStatus"].clone()),
        (1, json!("SCHEDULED"))
    );
}

#[tokio::test]
async fn revoking_a_key_ends_its_open_subscription_and_its_requests() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let (key, key_id) = app.issue_api_key(&clinic, "Reminders").await;
    let (other_key, _) = app.issue_api_key(&clinic, "Reminders, rotated").await;
    let mut revoked = EventSocket::subscribe(app.address, json!({"apiKey": key}), Some(0)).await;
    let mut kept = EventSocket::subscribe(app.address, json!({"apiKey": other_key}), Some(0)).await;
    app.book(&clinic, clinic.user(Provider), "2031-01-06T09:00:00Z")
        .await
        .ok();
    assert_eq!(event_id(&revoked.next_event().await), 1);

    app.revoke_api_key(&clinic, &key_id).await.ok();
    let error = revoked.final_error().await;
    assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(error["extensions"]["resumeAfter"], "1");

    app.book(&clinic, clinic.user(Provider), "2031-01-06T10:00:00Z")
        .await
        .ok();
    assert_eq!(
        kept.events(2)
            .await
            .iter()
            .map(event_id)
            .collect::<Vec<_>>(),
        [1, 2],
        "the rotated key's subscription carries on"
    );
    let polled = app
        .graphql_with_api_key(&key, "{ appointmentEvents { id } }", json!({}))
        .await;
    assert_eq!(polled.codes(), ["UNAUTHENTICATED"]);
}

#[tokio::test]
async fn deactivating_a_user_or_the_clinic_ends_their_subscriptions() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let (key, _) = app.issue_api_key(&clinic, "Lab").await;
    let sysadmin = app.system_admin().await;
    app.book(&clinic, clinic.user(Provider), "2031-01-06T09:00:00Z")
        .await
        .ok();
    let mut frontdesk = EventSocket::subscribe(
        app.address,
        json!({"token": clinic.token(FrontDesk)}),
        Some(0),
    )
    .await;
    let mut partner = EventSocket::subscribe(app.address, json!({"apiKey": key}), Some(0)).await;
    let mut provider = EventSocket::subscribe(
        app.address,
        json!({"token": clinic.token(Provider)}),
        Some(0),
    )
    .await;
    // Each subscription is live (it delivered) before access ends.
    for socket in [&mut frontdesk, &mut partner, &mut provider] {
        assert_eq!(event_id(&socket.next_event().await), 1);
    }

    app.graphql(
        Some(clinic.token(ClinicAdmin)),
        "mutation($id: UUID!) { deactivateUser(id: $id) { isActive } }",
        json!({"id": clinic.user(FrontDesk)}),
    )
    .await
    .ok();
    assert_eq!(
        frontdesk.final_error().await["extensions"]["code"],
        "UNAUTHENTICATED"
    );

    app.deactivate_clinic(&sysadmin, &clinic).await;
    assert_eq!(
        partner.final_error().await["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert_eq!(
        provider.final_error().await["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn a_users_subscription_ends_when_their_token_expires() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    app.book(&clinic, clinic.user(Provider), "2031-01-06T09:00:00Z")
        .await
        .ok();
    let token = token_expiring_in(&clinic, 4);
    let mut socket = EventSocket::subscribe(app.address, json!({"token": token}), Some(0)).await;
    assert_eq!(event_id(&socket.next_event().await), 1);
    let error = socket.final_error().await;
    assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(error["extensions"]["resumeAfter"], "1");
    assert!(
        error["message"].as_str().unwrap().contains("expired"),
        "{error}"
    );
}

#[tokio::test]
async fn a_second_subscription_under_a_running_id_closes_the_socket_with_4409() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let mut socket =
        EventSocket::subscribe(app.address, json!({"token": clinic.token(FrontDesk)}), None).await;
    socket.start(None).await;
    assert!(matches!(socket.receive().await, Received::Closed(4409, _)));
}

#[tokio::test]
async fn a_socket_that_never_sends_connection_init_is_closed_with_4408() {
    let app = TestApp::spawn().await;
    let mut socket = EventSocket::open(app.address, "graphql-transport-ws").await;
    assert!(matches!(socket.receive().await, Received::Closed(4408, _)));
}

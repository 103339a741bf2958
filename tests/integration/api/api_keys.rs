//! Partners' API keys: a ClinicAdmin issues one (shown once), lists and revokes them; a key is
//! stored sealed, works only for its own clinic and scopes, sees no PHI, and rotates with overlap.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hpms::foundation::role::Role::{ClinicAdmin, FrontDesk, Provider};
use serde_json::json;

use crate::helpers::{TestApp, scalar};

const ISSUE: &str = "mutation($n: String!, $s: [ApiKeyScope!]!) {
    issueApiKey(name: $n, scopes: $s) { key apiKey { id name prefix scopes createdAt lastUsedAt revokedAt } } }";
const LIST: &str = "{ apiKeys { id name prefix scopes lastUsedAt revokedAt } }";
const EVENTS: &str = "{ appointmentEvents { id appointmentId newStatus } }";

#[tokio::test]
async fn an_issued_key_is_shown_once_stored_sealed_and_listed_without_its_secret() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let issued = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            ISSUE,
            json!({"n": "  Lab results bridge ", "s": ["APPOINTMENT_EVENTS", "APPOINTMENT_EVENTS"]}),
        )
        .await;
    let issued = &issued.ok()["issueApiKey"];
    let key = issued["key"].as_str().unwrap();
    let prefix = issued["apiKey"]["prefix"].as_str().unwrap();
    assert!(
        key.starts_with(&format!("{prefix}_")),
        "{key} begins with {prefix}"
    );
    assert_eq!(issued["apiKey"]["name"], "Lab results bridge");
    assert_eq!(issued["apiKey"]["scopes"], json!(["APPOINTMENT_EVENTS"]));
    let secret = key.strip_prefix(&format!("{prefix}_")).unwrap();
    let secret_bytes = URL_SAFE_NO_PAD.decode(secret).unwrap();
    assert_eq!(secret_bytes.len(), 32);

    let listed = app
        .graphql(Some(clinic.token(ClinicAdmin)), LIST, json!({}))
        .await;
    assert_eq!(listed.ok()["apiKeys"][0]["id"], issued["apiKey"]["id"]);
    assert!(
        !listed.ok().to_string().contains(secret),
        "the list never shows the secret"
    );

    let tx = app.db.begin(clinic.scope(ClinicAdmin)).await;
    let stored: Vec<u8> = scalar(&tx, "select secret_ciphertext from tenant_api_keys", []).await;
    assert!(
        !stored.windows(8).any(|window| window == &secret_bytes[..8]),
        "the secret is stored sealed"
    );
    let audited: String = scalar(
        &tx,
        "select string_agg(coalesce(old_values::text, '') || coalesce(new_values::text, ''), ' ')
           from audit_logs where entity_name = 'tenant_api_keys'",
        [],
    )
    .await;
    assert!(
        !audited.contains(secret),
        "the audit log never holds the secret"
    );
}

#[tokio::test]
async fn only_a_clinic_admin_manages_keys_and_bad_input_writes_nothing() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    for role in [Provider, FrontDesk] {
        let refused = app
            .graphql(
                Some(clinic.token(role)),
                ISSUE,
                json!({"n": "Lab", "s": ["APPOINTMENT_EVENTS"]}),
            )
            .await;
        assert_eq!(refused.codes(), ["FORBIDDEN"]);
    }
    for (name, scopes, field) in [
        ("", json!(["APPOINTMENT_EVENTS"]), "name"),
        ("Lab\nbridge", json!(["APPOINTMENT_EVENTS"]), "name"),
        (
            &"x".repeat(101) as &str,
            json!(["APPOINTMENT_EVENTS"]),
            "name",
        ),
        ("Lab", json!([]), "scopes"),
    ] {
        let refused = app
            .graphql(
                Some(clinic.token(ClinicAdmin)),
                ISSUE,
                json!({"n": name, "s": scopes}),
            )
            .await;
        assert_eq!(
            (refused.code(), refused.field()),
            ("BAD_USER_INPUT".into(), field.into())
        );
    }
    let unknown_scope = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            ISSUE,
            json!({"n": "Lab", "s": ["EVERYTHING"]}),
        )
        .await;
    assert_eq!(unknown_scope.code(), "BAD_USER_INPUT");
    let revoke_nothing = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "mutation($id: UUID!) { revokeApiKey(id: $id) { id } }",
            json!({"id": uuid::Uuid::new_v4()}),
        )
        .await;
    assert_eq!(revoke_nothing.code(), "NOT_FOUND");
    let listed = app
        .graphql(Some(clinic.token(ClinicAdmin)), LIST, json!({}))
        .await;
    assert_eq!(listed.ok()["apiKeys"], json!([]));
}

#[tokio::test]
async fn a_key_follows_its_own_clinics_events_and_nothing_else() {
    let app = TestApp::spawn().await;
    let north = app.clinic("north").await;
    let south = app.clinic("south").await;
    let booked = app
        .book(&north, north.user(Provider), "2031-01-06T09:00:00Z")
        .await;
    let booked = booked.ok()["bookAppointment"]["id"].clone();
    app.book(&south, south.user(Provider), "2031-01-06T09:00:00Z")
        .await
        .ok();
    let (key, _) = app.issue_api_key(&north, "Lab").await;

    let events = app.graphql_with_api_key(&key, EVENTS, json!({})).await;
    assert_eq!(
        events.ok()["appointmentEvents"],
        json!([{"id": "1", "appointmentId": booked, "newStatus": "SCHEDULED"}])
    );
    for forbidden in [
        "{ me { id } }",
        "{ patients(first: 5) { edges { node { id } } } }",
        "{ patient(id: \"00000000-0000-0000-0000-000000000000\") { id } }",
        "{ appointments(from: \"2031-01-01T00:00:00Z\", to: \"2031-02-01T00:00:00Z\") { edges { node { id } } } }",
        "{ invoices(first: 5) { edges { node { id } } } }",
        "{ apiKeys { id } }",
        "{ auditLogs(first: 5) { edges { node { id } } } }",
    ] {
        let refused = app.graphql_with_api_key(&key, forbidden, json!({})).await;
        assert_eq!(refused.codes(), ["FORBIDDEN"], "{forbidden}: {refused:?}");
    }
    let write = app
        .graphql_with_api_key(
            &key,
            "mutation($id: UUID!) { setAppointmentStatus(id: $id, expectedVersion: 1, status: ARRIVED) { id } }",
            json!({"id": booked}),
        )
        .await;
    assert_eq!(write.codes(), ["FORBIDDEN"]);
}

#[tokio::test]
async fn rotation_keeps_both_keys_working_until_the_old_one_is_revoked() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let (old, old_id) = app.issue_api_key(&clinic, "Billing house").await;
    let (new, _) = app.issue_api_key(&clinic, "Billing house (2026)").await;
    for key in [&old, &new] {
        assert!(
            app.graphql_with_api_key(key, EVENTS, json!({}))
                .await
                .codes()
                .is_empty()
        );
    }
    let revoked = app.revoke_api_key(&clinic, &old_id).await;
    let revoked_at = revoked.ok()["revokeApiKey"]["revokedAt"].clone();
    assert!(revoked_at.is_string());
    let again = app.revoke_api_key(&clinic, &old_id).await;
    assert_eq!(
        again.ok()["revokeApiKey"]["revokedAt"],
        revoked_at,
        "revocation time stays"
    );

    assert_eq!(
        app.graphql_with_api_key(&old, EVENTS, json!({}))
            .await
            .codes(),
        ["UNAUTHENTICATED"]
    );
    assert!(
        app.graphql_with_api_key(&new, EVENTS, json!({}))
            .await
            .codes()
            .is_empty()
    );
    let listed = app
        .graphql(Some(clinic.token(ClinicAdmin)), LIST, json!({}))
        .await;
    let keys = listed.ok()["apiKeys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter().all(|key| key["lastUsedAt"].is_string()),
        "both were used: {keys:?}"
    );

    let tx = app.db.begin(clinic.scope(ClinicAdmin)).await;
    let unrevoke = crate::helpers::exec(
        &tx,
        "update tenant_api_keys set revoked_at = null where id = $1",
        [uuid::Uuid::parse_str(&old_id).unwrap().into()],
    )
    .await;
    crate::helpers::assert_sqlstate(unrevoke, "23514", "a revoked key stays revoked");
}

#[tokio::test]
async fn keys_of_a_deactivated_clinic_stop_working() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let (key, _) = app.issue_api_key(&clinic, "Lab").await;
    let sysadmin = app.system_admin().await;
    app.deactivate_clinic(&sysadmin, &clinic).await;
    assert_eq!(
        app.graphql_with_api_key(&key, EVENTS, json!({}))
            .await
            .codes(),
        ["UNAUTHENTICATED"]
    );
}

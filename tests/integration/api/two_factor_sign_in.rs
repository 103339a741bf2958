//! Two-factor sign-in: a user sets up a TOTP factor (RFC 6238) by proving their authenticator app
//! with a code, and from then on signs in with the password and a code, each code once, or a
//! one-time recovery code; wrong codes are throttled like wrong passwords; a clinic's policy can
//! require a factor, and a user without one then may only set one up; removal needs the password
//! and a code, a ClinicAdmin can reset a lost factor, and every change is in the audit trail.
//! The codes come from the tests' own TOTP (helpers/totp.rs), checked against RFC 6238's vectors.

use hpms::foundation::role::Role;
use serde_json::{Value, json};

use crate::helpers::subscriptions::EventSocket;
use crate::helpers::totp::{code, secret_from_base32};
use crate::helpers::{ApiClinic, Gql, TEST_PASSWORD, TestApp, scalar};

const BEGIN: &str = "mutation($p: String!) {
  beginMfaEnrollment(currentPassword: $p) { secret otpauthUri } }";
const CONFIRM: &str = "mutation($c: String!) { confirmMfaEnrollment(code: $c) {
  recoveryCodes session { token refreshToken mfaEnrollmentRequired } } }";
const SIGN_IN: &str = "mutation($t: String!, $u: String!, $p: String!, $c: String) {
  login(tenant: $t, username: $u, password: $p, mfaCode: $c) {
    token refreshToken mfaEnrollmentRequired } }";
const STATUS: &str = "{ mfaStatus { enabled pending recoveryCodesLeft policy required } }";
const PATIENTS: &str = "{ patients { nodes { id } } }";

async fn sign_in(app: &TestApp, clinic: &ApiClinic, username: &str, code: Option<&str>) -> Gql {
    app.graphql(
        None,
        SIGN_IN,
        json!({"t": clinic.slug, "u": username, "p": TEST_PASSWORD, "c": code}),
    )
    .await
}

fn token(signed_in: &Gql) -> String {
    signed_in.ok()["login"]["token"]
        .as_str()
        .expect("a token")
        .to_owned()
}

async fn works(app: &TestApp, token: &str) -> bool {
    app.graphql(Some(token), "{ me { id } }", json!({}))
        .await
        .errors()
        .is_empty()
}

/// A user with a confirmed factor: its secret, recovery codes and the confirmation's token.
struct Enrolled {
    secret: Vec<u8>,
    recovery_codes: Vec<String>,
    token: String,
}

async fn enrol(app: &TestApp, token: &str) -> Enrolled {
    let begun = app
        .graphql(Some(token), BEGIN, json!({"p": TEST_PASSWORD}))
        .await;
    let secret = secret_from_base32(begun.ok()["beginMfaEnrollment"]["secret"].as_str().unwrap());
    let confirmed = app
        .graphql(Some(token), CONFIRM, json!({"c": code(&secret, 0)}))
        .await;
    let confirmed = &confirmed.ok()["confirmMfaEnrollment"];
    Enrolled {
        secret,
        recovery_codes: serde_json::from_value(confirmed["recoveryCodes"].clone()).unwrap(),
        token: confirmed["session"]["token"].as_str().unwrap().to_owned(),
    }
}

async fn reset(app: &TestApp, token: &str, user: String) -> Gql {
    app.graphql(
        Some(token),
        "mutation($u: UUID!) { resetUserMfa(userId: $u) }",
        json!({"u": user}),
    )
    .await
}

async fn security_events(app: &TestApp, clinic: &ApiClinic, action: &str) -> Vec<Value> {
    let tx = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    let rows: Value = scalar(
        &tx,
        "/* test */ select coalesce(jsonb_agg(new_values order by id), '[]') from audit_logs
          where tenant_id = $1 and action = $2",
        [clinic.tenant_id.into(), action.into()],
    )
    .await;
    serde_json::from_value(rows).unwrap()
}

#[tokio::test]
async fn a_user_proves_their_app_with_a_code_and_then_signs_in_with_password_and_a_code_each_code_once()
 {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let before = app.login(&clinic.slug, "provider").await;

    let begun = app
        .graphql(Some(&before), BEGIN, json!({"p": TEST_PASSWORD}))
        .await;
    let begun = &begun.ok()["beginMfaEnrollment"];
    let secret_text = begun["secret"].as_str().unwrap();
    let uri = begun["otpauthUri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/HPMS:provider%40")
            && uri.contains(&format!("secret={secret_text}"))
            && uri.contains("issuer=HPMS"),
        "the URI an app scans names the account and carries the secret: {uri}"
    );
    let secret = secret_from_base32(secret_text);
    assert_eq!(secret.len(), 20, "160 bits, as RFC 4226 recommends");
    assert!(
        sign_in(&app, &clinic, "provider", None)
            .await
            .errors()
            .is_empty(),
        "a pending factor changes nothing at sign-in"
    );

    let wrong = app
        .graphql(Some(&before), CONFIRM, json!({"c": code(&secret, 5)}))
        .await;
    assert_eq!(
        (wrong.code(), wrong.field()),
        ("BAD_USER_INPUT".into(), "code".into())
    );
    let confirmed = app
        .graphql(Some(&before), CONFIRM, json!({"c": code(&secret, 0)}))
        .await;
    let confirmed = &confirmed.ok()["confirmMfaEnrollment"];
    let recovery: Vec<String> = serde_json::from_value(confirmed["recoveryCodes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);
    assert_eq!(
        recovery
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        10
    );
    assert!(
        !works(&app, &before).await,
        "sessions signed in with one factor end"
    );
    assert!(works(&app, confirmed["session"]["token"].as_str().unwrap()).await);

    let password_only = sign_in(&app, &clinic, "provider", None).await;
    assert_eq!(password_only.code(), "MFA_REQUIRED");
    assert!(
        password_only.data()["login"].is_null(),
        "no token without a code"
    );
    let wrong_code = sign_in(&app, &clinic, "provider", Some(&code(&secret, -9))).await;
    assert_eq!(wrong_code.code(), "UNAUTHENTICATED");
    assert_eq!(
        sign_in(&app, &clinic, "provider", Some(&code(&secret, 0)))
            .await
            .code(),
        "UNAUTHENTICATED",
        "the code that confirmed the factor was used"
    );
    let next = code(&secret, 1);
    let with_code = sign_in(&app, &clinic, "provider", Some(&next)).await;
    assert!(works(&app, &token(&with_code)).await);
    assert_eq!(
        sign_in(&app, &clinic, "provider", Some(&next)).await.code(),
        "UNAUTHENTICATED",
        "a code signs in once"
    );

    let status = app
        .graphql(Some(&token(&with_code)), STATUS, json!({}))
        .await;
    assert_eq!(
        status.ok()["mfaStatus"],
        json!({"enabled": true, "pending": false, "recoveryCodesLeft": 10,
               "policy": "NOBODY", "required": false})
    );
    let enrolled = security_events(&app, &clinic, "MfaEnrolled").await;
    assert_eq!(enrolled.len(), 1, "{enrolled:?}");
    assert_eq!(enrolled[0]["role"], "Provider");
    let failures = security_events(&app, &clinic, "SignInFailed").await;
    assert!(
        failures
            .iter()
            .any(|event| event["second_factor"] == "refused"),
        "a wrong code is a failed sign-in of the trail: {failures:?}"
    );
    let sign_ins = security_events(&app, &clinic, "SignIn").await;
    assert_eq!(
        sign_ins.last().unwrap()["second_factor"],
        "totp",
        "{sign_ins:?}"
    );
}

#[tokio::test]
async fn each_recovery_code_signs_in_once_however_it_is_typed() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let enrolled = enrol(&app, &app.login(&clinic.slug, "billing").await).await;

    let typed = enrolled.recovery_codes[3].to_lowercase().replace('-', " ");
    let signed_in = sign_in(&app, &clinic, "billing", Some(&typed)).await;
    assert!(works(&app, &token(&signed_in)).await);
    assert_eq!(
        sign_in(&app, &clinic, "billing", Some(&enrolled.recovery_codes[3]))
            .await
            .code(),
        "UNAUTHENTICATED",
        "a recovery code works once"
    );
    let status = app
        .graphql(Some(&token(&signed_in)), STATUS, json!({}))
        .await;
    assert_eq!(status.ok()["mfaStatus"]["recoveryCodesLeft"], 9);
    assert_eq!(
        security_events(&app, &clinic, "RecoveryCodeUsed")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn wrong_codes_lock_the_account_from_the_address_like_wrong_passwords() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let enrolled = enrol(&app, &app.login(&clinic.slug, "frontdesk").await).await;

    for _ in 0..5 {
        assert_eq!(
            sign_in(&app, &clinic, "frontdesk", Some("000000"))
                .await
                .code(),
            "UNAUTHENTICATED"
        );
    }
    let right = sign_in(&app, &clinic, "frontdesk", Some(&code(&enrolled.secret, 1))).await;
    assert_eq!(right.code(), "UNAUTHENTICATED");
    assert!(
        right.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("too many failed sign-in attempts"),
        "{right:?}"
    );
    let removal = app
        .graphql(
            Some(&enrolled.token),
            "mutation($p: String!, $c: String!) { removeMfa(currentPassword: $p, code: $c) }",
            json!({"p": TEST_PASSWORD, "c": code(&enrolled.secret, 1)}),
        )
        .await;
    assert_eq!(
        removal.code(),
        "UNAUTHENTICATED",
        "a signed-in session cannot guess codes past the lock either: {removal:?}"
    );
}

#[tokio::test]
async fn a_clinic_that_requires_a_factor_lets_a_user_without_one_only_set_it_up() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let set = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "mutation { setMfaPolicy(requiredFor: PRIVILEGED_ROLES) }",
            json!({}),
        )
        .await;
    assert_eq!(set.ok()["setMfaPolicy"], "PRIVILEGED_ROLES");
    assert_eq!(
        security_events(&app, &clinic, "MfaPolicyChanged")
            .await
            .len(),
        1
    );

    let front_desk = sign_in(&app, &clinic, "frontdesk", None).await;
    assert_eq!(front_desk.ok()["login"]["mfaEnrollmentRequired"], false);
    let provider = sign_in(&app, &clinic, "provider", None).await;
    assert_eq!(provider.ok()["login"]["mfaEnrollmentRequired"], true);
    let restricted = token(&provider);
    let refused = app.graphql(Some(&restricted), PATIENTS, json!({})).await;
    assert_eq!(refused.code(), "FORBIDDEN");
    assert!(
        refused.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("beginMfaEnrollment"),
        "{refused:?}"
    );
    let renewed = app
        .refresh(provider.ok()["login"]["refreshToken"].as_str().unwrap())
        .await;
    let renewed = renewed.ok()["refreshSession"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.graphql(Some(&renewed), PATIENTS, json!({}))
            .await
            .code(),
        "FORBIDDEN",
        "a refresh does not lift the restriction"
    );
    let refused = EventSocket::open(app.address, "graphql-transport-ws")
        .await
        .init(json!({"token": restricted}))
        .await;
    assert_eq!(
        refused.map_err(|(code, _)| code),
        Err(4403),
        "nor may the restricted token subscribe"
    );
    let status = app.graphql(Some(&restricted), STATUS, json!({})).await;
    assert_eq!(
        status.ok()["mfaStatus"],
        json!({"enabled": false, "pending": false, "recoveryCodesLeft": 0,
               "policy": "PRIVILEGED_ROLES", "required": true})
    );

    let enrolled = enrol(&app, &restricted).await;
    let unrestricted = app
        .graphql(Some(&enrolled.token), PATIENTS, json!({}))
        .await;
    assert!(
        unrestricted.errors().is_empty(),
        "the confirmation's session may do what the role may: {unrestricted:?}"
    );
    assert!(!works(&app, &renewed).await, "the restricted session ended");

    app.graphql(
        Some(clinic.token(Role::ClinicAdmin)),
        "mutation { setMfaPolicy(requiredFor: EVERYONE) }",
        json!({}),
    )
    .await
    .ok();
    let front_desk = sign_in(&app, &clinic, "frontdesk", None).await;
    assert_eq!(front_desk.ok()["login"]["mfaEnrollmentRequired"], true);
}

#[tokio::test]
async fn removing_a_factor_needs_the_password_and_a_code_and_ends_the_users_sessions() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let enrolled = enrol(&app, &app.login(&clinic.slug, "admin").await).await;
    let remove = |password: &str, code: &str| {
        app.graphql(
            Some(&enrolled.token),
            "mutation($p: String!, $c: String!) { removeMfa(currentPassword: $p, code: $c) }",
            json!({"p": password, "c": code}),
        )
    };

    let wrong_password = remove("not the password at all", &enrolled.recovery_codes[0]).await;
    assert_eq!(
        (wrong_password.code(), wrong_password.field()),
        ("BAD_USER_INPUT".into(), "currentPassword".into())
    );
    let wrong_code = remove(TEST_PASSWORD, "123456").await;
    assert_eq!(
        (wrong_code.code(), wrong_code.field()),
        ("BAD_USER_INPUT".into(), "code".into())
    );
    assert!(
        works(&app, &enrolled.token).await,
        "refusals change nothing"
    );

    let removed = remove(TEST_PASSWORD, &enrolled.recovery_codes[0]).await;
    assert_eq!(removed.ok()["removeMfa"], true);
    assert!(!works(&app, &enrolled.token).await, "the sessions end");
    assert!(
        sign_in(&app, &clinic, "admin", None)
            .await
            .errors()
            .is_empty(),
        "the password alone signs in again"
    );
    assert_eq!(security_events(&app, &clinic, "MfaRemoved").await.len(), 1);
}

#[tokio::test]
async fn a_clinic_admin_resets_a_users_lost_factor_and_the_trail_says_who() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let enrolled = enrol(&app, &app.login(&clinic.slug, "provider").await).await;

    let other = app.clinic("south").await;
    let provider = clinic.user(Role::Provider).to_string();
    assert_eq!(
        reset(&app, other.token(Role::ClinicAdmin), provider.clone())
            .await
            .code(),
        "NOT_FOUND",
        "another clinic's user is not there"
    );
    assert_eq!(
        reset(&app, clinic.token(Role::FrontDesk), provider.clone())
            .await
            .code(),
        "FORBIDDEN"
    );
    assert!(works(&app, &enrolled.token).await);

    let done = reset(&app, clinic.token(Role::ClinicAdmin), provider.clone()).await;
    assert_eq!(done.ok()["resetUserMfa"], true);
    assert!(!works(&app, &enrolled.token).await, "their sessions end");
    assert!(
        sign_in(&app, &clinic, "provider", None)
            .await
            .errors()
            .is_empty()
    );
    let resets = security_events(&app, &clinic, "MfaReset").await;
    assert_eq!(resets.len(), 1);
    assert_eq!(resets[0]["role"], "ClinicAdmin");
    assert_eq!(resets[0]["user_id"], provider.as_str());
    assert_eq!(
        reset(&app, clinic.token(Role::ClinicAdmin), provider)
            .await
            .ok()["resetUserMfa"],
        false,
        "nothing left to reset"
    );
}

#[tokio::test]
async fn the_secret_is_sealed_at_rest_and_never_in_the_audit_trail() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let enrolled = enrol(&app, &app.login(&clinic.slug, "provider").await).await;

    let tx = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    let stored: Vec<u8> = scalar(
        &tx,
        "/* test */ select secret_ciphertext from mfa_factors where tenant_id = $1 and user_id = $2",
        [clinic.tenant_id.into(), clinic.user(Role::Provider).into()],
    )
    .await;
    assert!(
        !stored
            .windows(enrolled.secret.len())
            .any(|window| window == enrolled.secret.as_slice()),
        "the stored secret is ciphertext"
    );
    let trail: String = scalar(
        &tx,
        "/* test */ select coalesce(string_agg(coalesce(old_values::text, '') || coalesce(new_values::text, ''), ' '), '')
           from audit_logs where tenant_id = $1 and entity_name like 'mfa%'",
        [clinic.tenant_id.into()],
    )
    .await;
    assert!(
        trail.contains("confirmed_at"),
        "the factor's rows are audited: {trail}"
    );
    assert!(!trail.contains("secret_ciphertext"), "{trail}");
    let code_hashes: Vec<Vec<u8>> = scalar(
        &tx,
        "/* test */ select array_agg(code_hash) from mfa_recovery_codes where tenant_id = $1",
        [clinic.tenant_id.into()],
    )
    .await;
    assert_eq!(code_hashes.len(), 10);
    for code in &enrolled.recovery_codes {
        assert!(
            !code_hashes
                .iter()
                .any(|hash| hash.as_slice() == code.as_bytes()),
            "recovery codes are stored as hashes"
        );
    }
}

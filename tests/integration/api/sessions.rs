//! A sign-in opens a session: short access tokens renewed by a refresh token that works once
//! (a replaced one presented again ends the session), an idle timeout and an absolute lifetime,
//! `logout` and `signOutEverywhere` that end sessions and their open subscriptions at once, a
//! password change that needs the current password, and an administrator's reset that ends the
//! user's sessions and forces a change at the next sign-in.

use hpms::foundation::role::Role;
use serde_json::{Value, json};

use crate::helpers::subscriptions::EventSocket;
use crate::helpers::{TEST_PASSWORD, TestApp, exec, scalar};

const ME: &str = "{ me { id } }";
const CHANGE_PASSWORD: &str = "mutation($c: String!, $n: String!) {
  changePassword(currentPassword: $c, newPassword: $n) { token refreshToken passwordChangeRequired } }";

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is a string"))
}

async fn works(app: &TestApp, token: &str) -> bool {
    app.graphql(Some(token), ME, json!({}))
        .await
        .errors()
        .is_empty()
}

#[tokio::test]
async fn a_refresh_token_works_once_and_presenting_a_replaced_one_ends_the_session() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let first = app.sign_in(&clinic.slug, "provider", TEST_PASSWORD).await;

    let second = app.refresh(text(&first["refreshToken"])).await;
    let second = &second.ok()["refreshSession"];
    assert!(works(&app, text(&second["token"])).await);
    assert_ne!(
        second["refreshToken"], first["refreshToken"],
        "the refresh token rotates"
    );
    assert_eq!(
        second["sessionExpiresAt"], first["sessionExpiresAt"],
        "renewals never extend the absolute lifetime"
    );
    let third = app.refresh(text(&second["refreshToken"])).await;
    let third = &third.ok()["refreshSession"];

    let replayed = app.refresh(text(&first["refreshToken"])).await;
    assert_eq!(replayed.code(), "UNAUTHENTICATED");
    assert!(
        !works(&app, text(&third["token"])).await,
        "reuse of a replaced refresh token ends the whole session, its newest tokens too"
    );
    assert_eq!(
        app.refresh(text(&third["refreshToken"])).await.code(),
        "UNAUTHENTICATED"
    );
    let tx = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    let reuses: i64 = scalar(
        &tx,
        "/* test */ select count(*) from audit_logs
          where action = 'RefreshTokenReused' and user_id = $1",
        [clinic.user(Role::Provider).into()],
    )
    .await;
    assert_eq!(
        reuses, 1,
        "the reuse is a security event of the clinic's audit trail"
    );
    assert!(
        works(&app, clinic.token(Role::Provider)).await,
        "the user's other sessions stand"
    );
}

#[tokio::test]
async fn a_session_left_idle_or_past_its_lifetime_ends_and_cannot_be_refreshed() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    let signed_in = app.sign_in(&clinic.slug, "provider", TEST_PASSWORD).await;
    let ends: chrono::DateTime<chrono::Utc> = text(&signed_in["sessionExpiresAt"]).parse().unwrap();
    let lifetime = ends - chrono::Utc::now();
    assert!(
        lifetime > chrono::Duration::hours(11) && lifetime <= chrono::Duration::hours(12),
        "sessions last a working day at most: {lifetime}"
    );

    // The idle deadline, as the clock would leave it after the idle timeout.
    let tx = app.db.begin(clinic.scope(Role::Provider)).await;
    exec(
        &tx,
        "/* test */ update user_sessions set idle_expires_at = now() - interval '1 second'
          where tenant_id = $1 and user_id = $2",
        [clinic.tenant_id.into(), provider.into()],
    )
    .await
    .expect("the session row updates");
    tx.commit().await.unwrap();
    assert!(
        !works(&app, text(&signed_in["token"])).await,
        "idle: logged off"
    );
    assert_eq!(
        app.refresh(text(&signed_in["refreshToken"])).await.code(),
        "UNAUTHENTICATED"
    );

    let again = app.sign_in(&clinic.slug, "provider", TEST_PASSWORD).await;
    let renewed = app.refresh(text(&again["refreshToken"])).await;
    let renewed = &renewed.ok()["refreshSession"];
    let tx = app.db.begin_as_owner(clinic.scope(Role::Provider)).await;
    exec(
        &tx,
        "/* test */ update user_sessions
            set expires_at = now() - interval '1 second', idle_expires_at = now() - interval '1 second'
          where tenant_id = $1 and user_id = $2 and revoked_at is null",
        [clinic.tenant_id.into(), provider.into()],
    )
    .await
    .expect("the session row updates");
    tx.commit().await.unwrap();
    assert!(
        !works(&app, text(&renewed["token"])).await,
        "past its lifetime"
    );
    assert_eq!(
        app.refresh(text(&renewed["refreshToken"])).await.code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn a_refresh_moves_the_idle_deadline_on() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let signed_in = app.sign_in(&clinic.slug, "frontdesk", TEST_PASSWORD).await;
    let idle_deadline = || async {
        let tx = app.db.begin(clinic.scope(Role::FrontDesk)).await;
        scalar::<f64, _>(
            &tx,
            "/* test */ select extract(epoch from max(idle_expires_at))::float8 from user_sessions
              where tenant_id = $1 and user_id = $2 and revoked_at is null",
            [clinic.tenant_id.into(), clinic.user(Role::FrontDesk).into()],
        )
        .await
    };
    let before = idle_deadline().await;
    app.refresh(text(&signed_in["refreshToken"])).await.ok();
    assert!(idle_deadline().await > before);
}

#[tokio::test]
async fn logout_ends_the_session_and_its_open_subscriptions_and_no_other() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let leaving = app.sign_in(&clinic.slug, "frontdesk", TEST_PASSWORD).await;
    let staying = app.sign_in(&clinic.slug, "frontdesk", TEST_PASSWORD).await;
    let mut watching =
        EventSocket::subscribe(app.address, json!({"token": text(&leaving["token"])}), None).await;

    let logout = app
        .graphql(
            Some(text(&leaving["token"])),
            "mutation { logout }",
            json!({}),
        )
        .await;
    assert_eq!(logout.ok()["logout"], true);
    assert_eq!(
        watching.final_error().await["extensions"]["code"],
        "UNAUTHENTICATED",
        "the session's subscription ends at once"
    );
    assert!(!works(&app, text(&leaving["token"])).await);
    assert_eq!(
        app.refresh(text(&leaving["refreshToken"])).await.code(),
        "UNAUTHENTICATED"
    );
    assert!(works(&app, text(&staying["token"])).await);

    let everywhere = app
        .graphql(
            Some(text(&staying["token"])),
            "mutation { signOutEverywhere }",
            json!({}),
        )
        .await;
    assert_eq!(
        everywhere.ok()["signOutEverywhere"],
        2,
        "this session and the one `clinic` signed in with"
    );
    assert!(!works(&app, text(&staying["token"])).await);
    assert!(!works(&app, clinic.token(Role::FrontDesk)).await);
    assert!(
        works(&app, clinic.token(Role::Provider)).await,
        "other users stay"
    );
}

#[tokio::test]
async fn changing_ones_password_needs_the_current_one_and_ends_every_other_session() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = clinic.token(Role::ClinicAdmin);
    let other_device = app.sign_in(&clinic.slug, "admin", TEST_PASSWORD).await;
    let new_password = "violet harbour lantern 7";

    let wrong = app
        .graphql(
            Some(admin),
            CHANGE_PASSWORD,
            json!({"c": "not my password at all", "n": new_password}),
        )
        .await;
    assert_eq!(
        (wrong.code(), wrong.field()),
        ("BAD_USER_INPUT".to_owned(), "currentPassword".to_owned())
    );
    let weak = app
        .graphql(
            Some(admin),
            CHANGE_PASSWORD,
            json!({"c": TEST_PASSWORD, "n": "aaaaaaaaaaaa"}),
        )
        .await;
    assert_eq!(
        (weak.code(), weak.field()),
        ("BAD_USER_INPUT".to_owned(), "newPassword".to_owned())
    );
    assert!(works(&app, admin).await, "a refused change changes nothing");

    let changed = app
        .graphql(
            Some(admin),
            CHANGE_PASSWORD,
            json!({"c": TEST_PASSWORD, "n": new_password}),
        )
        .await;
    let changed = &changed.ok()["changePassword"];
    assert_eq!(changed["passwordChangeRequired"], false);
    assert!(
        works(&app, text(&changed["token"])).await,
        "the new session works"
    );
    assert!(
        !works(&app, admin).await,
        "the session that changed it was replaced"
    );
    assert!(!works(&app, text(&other_device["token"])).await);
    assert_eq!(
        app.refresh(text(&other_device["refreshToken"]))
            .await
            .code(),
        "UNAUTHENTICATED"
    );
    assert!(app.sign_in(&clinic.slug, "admin", new_password).await["token"].is_string());
}

#[tokio::test]
async fn an_administrators_reset_ends_the_users_sessions_and_forces_a_change_at_sign_in() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = clinic.token(Role::ClinicAdmin);
    let reset_to = "temporary harbour key 42";
    let reset = app
        .graphql(
            Some(admin),
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }",
            json!({"i": {"id": clinic.user(Role::Provider), "password": reset_to}}),
        )
        .await;
    reset.ok();
    assert!(!works(&app, clinic.token(Role::Provider)).await);

    let signed_in = app.sign_in(&clinic.slug, "provider", reset_to).await;
    assert_eq!(signed_in["passwordChangeRequired"], true);
    let token = text(&signed_in["token"]);
    let refused = app
        .graphql(
            Some(token),
            "{ patients(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        refused.code(),
        "FORBIDDEN",
        "nothing but the change until it is made"
    );
    assert!(works(&app, token).await, "`me` still answers");

    let changed = app
        .graphql(
            Some(token),
            CHANGE_PASSWORD,
            json!({"c": reset_to, "n": "my own quiet meadow 9"}),
        )
        .await;
    let changed = &changed.ok()["changePassword"];
    assert_eq!(changed["passwordChangeRequired"], false);
    let patients = app
        .graphql(
            Some(text(&changed["token"])),
            "{ patients(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(patients.errors().is_empty(), "{patients:?}");

    let own = app
        .graphql(
            Some(admin),
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }",
            json!({"i": {"id": clinic.user(Role::ClinicAdmin), "password": reset_to}}),
        )
        .await;
    assert_eq!(
        (own.code(), own.field()),
        ("BAD_USER_INPUT".to_owned(), "input.password".to_owned()),
        "one's own password changes only with the current one"
    );
}

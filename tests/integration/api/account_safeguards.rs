//! The lower findings of the security review stay fixed: a stranger cannot lock an account out
//! everywhere, a clinic's suspension ends its sessions for good, a clinic always keeps an active
//! ClinicAdmin (and a SystemAdmin can give it one back), names must read as names, guessable
//! passwords are refused, and every sign-in, failure, lockout, sign-out and password change is a
//! security event naming the user, role, clinic, client address and request id.

use std::net::SocketAddr;

use hpms::foundation::role::Role;
use serde_json::{Value, json};

use crate::helpers::{Gql, TEST_PASSWORD, TestApp, scalar, token_claim, wait_for_blocked_sessions};

const LOGIN: &str = "mutation($t: String!, $u: String!, $p: String!) {
  login(tenant: $t, username: $u, password: $p) { token } }";

/// Signs in at `server` as a client a trusted proxy reports at `from`, with request id `request`.
async fn sign_in_from(
    server: SocketAddr,
    from: &str,
    tenant: &str,
    username: &str,
    password: &str,
) -> Gql {
    let response = reqwest::Client::new()
        .post(format!("http://{server}/graphql"))
        .header("x-forwarded-for", from)
        .header("x-request-id", format!("req-{from}-{username}"))
        .json(&json!({"query": LOGIN, "variables": {"t": tenant, "u": username, "p": password}}))
        .send()
        .await
        .expect("the server answers");
    Gql(response.json().await.expect("the response is JSON"))
}

async fn behind_a_proxy(app: &TestApp) -> SocketAddr {
    app.instance_with(|settings| {
        settings.auth.client_address_header = Some("x-forwarded-for".to_owned());
    })
    .await
}

fn message(response: &Gql) -> String {
    response.errors()[0]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_stranger_locks_an_account_only_from_their_own_address() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let server = behind_a_proxy(&app).await;
    for _ in 0..5 {
        sign_in_from(
            server,
            "198.51.100.66",
            &clinic.slug,
            "admin",
            "wrong guess!!",
        )
        .await;
    }
    let locked = sign_in_from(
        server,
        "198.51.100.66",
        &clinic.slug,
        "admin",
        TEST_PASSWORD,
    )
    .await;
    assert!(message(&locked).contains("for this account from this address"));

    let owner = sign_in_from(server, "203.0.113.5", &clinic.slug, "admin", TEST_PASSWORD).await;
    assert!(
        owner.ok()["login"]["token"].is_string(),
        "the owner elsewhere signs in"
    );
}

#[tokio::test]
async fn guesses_from_many_addresses_are_slowed_by_a_progressive_delay() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let server = behind_a_proxy(&app).await;
    for n in 0..10 {
        let guess = sign_in_from(
            server,
            &format!("198.51.100.{n}"),
            &clinic.slug,
            "admin",
            "wrong!!",
        )
        .await;
        assert!(message(&guess).starts_with("sign-in failed"), "guess {n}");
    }
    let delayed = sign_in_from(server, "198.51.100.200", &clinic.slug, "admin", "wrong!!").await;
    assert!(
        message(&delayed).contains("for this account;"),
        "{delayed:?}"
    );
    assert!(
        delayed.errors()[0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            <= 1,
        "a delay of seconds, not a lockout"
    );
}

#[tokio::test]
async fn sign_ins_failures_and_lockouts_are_security_events_with_their_origin() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let server = behind_a_proxy(&app).await;
    sign_in_from(
        server,
        "203.0.113.7",
        &clinic.slug,
        "provider",
        TEST_PASSWORD,
    )
    .await
    .ok();
    for _ in 0..6 {
        sign_in_from(
            server,
            "198.51.100.9",
            &clinic.slug,
            "provider",
            "wrong guess!!",
        )
        .await;
    }
    sign_in_from(
        server,
        "198.51.100.9",
        &clinic.slug,
        "nobody",
        "wrong guess!!",
    )
    .await;

    let tx = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    let events: Value = scalar(
        &tx,
        "/* test */ select coalesce(jsonb_agg(jsonb_build_object(
             'action', action, 'user', user_id, 'role', new_values ->> 'role',
             'address', new_values ->> 'client_address', 'request', new_values ->> 'request_id')
           order by id), '[]')
           from audit_logs where tenant_id = $1 and action like 'SignIn%'
            and new_values ->> 'client_address' <> '127.0.0.1'",
        [clinic.tenant_id.into()],
    )
    .await;
    let provider = clinic.user(Role::Provider).to_string();
    let event = |action: &str, address: &str, username: &str, user: Value| {
        json!({"action": action, "user": user,
               "role": if user.is_null() { Value::Null } else { json!("Provider") },
               "address": address, "request": format!("req-{address}-{username}")})
    };
    let mut expected = vec![event("SignIn", "203.0.113.7", "provider", json!(provider))];
    for _ in 0..5 {
        expected.push(event(
            "SignInFailed",
            "198.51.100.9",
            "provider",
            json!(provider),
        ));
    }
    expected.push(event(
        "SignInLocked",
        "198.51.100.9",
        "provider",
        json!(provider),
    ));
    expected.push(event("SignInFailed", "198.51.100.9", "nobody", Value::Null));
    assert_eq!(events, json!(expected));
}

#[tokio::test]
async fn sign_outs_and_password_changes_are_security_events() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = clinic.token(Role::ClinicAdmin);
    app.graphql(
        Some(admin),
        "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }",
        json!({"i": {"id": clinic.user(Role::Provider), "password": "temporary harbour key 42"}}),
    )
    .await
    .ok();
    app.graphql(
        Some(clinic.token(Role::FrontDesk)),
        "mutation { logout }",
        json!({}),
    )
    .await
    .ok();
    let tx = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    let events: Value = scalar(
        &tx,
        "/* test */ select jsonb_agg(jsonb_build_array(action, user_id, new_values ->> 'role',
                                                  new_values ->> 'target_user_id') order by id)
           from audit_logs where tenant_id = $1 and action in ('PasswordReset', 'SignOut')",
        [clinic.tenant_id.into()],
    )
    .await;
    assert_eq!(
        events,
        json!([
            [
                "PasswordReset",
                clinic.user(Role::ClinicAdmin),
                "ClinicAdmin",
                clinic.user(Role::Provider)
            ],
            ["SignOut", clinic.user(Role::FrontDesk), "FrontDesk", null],
        ])
    );
}

#[tokio::test]
async fn reactivating_a_clinic_revives_no_session_from_before_its_suspension() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let sysadmin = app.system_admin().await;
    let before = app.sign_in(&clinic.slug, "provider", TEST_PASSWORD).await;
    app.deactivate_clinic(&sysadmin, &clinic).await;
    app.graphql(
        Some(&sysadmin),
        "mutation($id: UUID!) { setTenantActive(id: $id, active: true) { isActive } }",
        json!({"id": clinic.tenant_id}),
    )
    .await
    .ok();

    let me = app
        .graphql(before["token"].as_str(), "{ me { id } }", json!({}))
        .await;
    assert_eq!(me.code(), "UNAUTHENTICATED");
    let refreshed = app.refresh(before["refreshToken"].as_str().unwrap()).await;
    assert_eq!(refreshed.code(), "UNAUTHENTICATED");
    assert!(app.sign_in(&clinic.slug, "provider", TEST_PASSWORD).await["token"].is_string());
}

#[tokio::test]
async fn two_clinic_admins_removing_each_other_at_once_leave_one_active() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = clinic.token(Role::ClinicAdmin);
    let second = app
        .graphql(
            Some(admin),
            "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
            json!({"i": {"username": "second.admin", "password": "a long enough password", "role": "CLINIC_ADMIN"}}),
        )
        .await;
    let second_id = second.ok()["createUser"]["id"].clone();
    let second_token = app
        .login_with(&clinic.slug, "second.admin", "a long enough password")
        .await;

    // Both requests pass their credential check, then queue on the admins' rows.
    let blocker = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    scalar::<i64, _>(
        &blocker,
        "/* test */ select count(*) from (select id from users where tenant_id = $1 and role_id = 2 for update) locked",
        [clinic.tenant_id.into()],
    )
    .await;
    let deactivate = "mutation($id: UUID!) { deactivateUser(id: $id) { isActive } }";
    let first_removes_second = app.graphql(Some(admin), deactivate, json!({"id": second_id}));
    let second_removes_first = app.graphql(
        Some(&second_token),
        deactivate,
        json!({"id": clinic.user(Role::ClinicAdmin)}),
    );
    let release = async {
        wait_for_blocked_sessions(&app.db, 2).await;
        blocker.rollback().await.unwrap();
    };
    let (one, other, ()) = tokio::join!(first_removes_second, second_removes_first, release);
    let mut codes = [one.codes(), other.codes()].concat();
    codes.sort();
    assert_eq!(codes, ["CONFLICT"], "one succeeds, the other is refused");

    let tx = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    let active_admins: i64 = scalar(
        &tx,
        "/* test */ select count(*) from users where tenant_id = $1 and role_id = 2 and is_active",
        [clinic.tenant_id.into()],
    )
    .await;
    assert_eq!(active_admins, 1);
}

#[tokio::test]
async fn a_system_admin_gives_a_clinic_its_clinic_admin_back() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let sysadmin = app.system_admin().await;
    let reset = "mutation($t: UUID!, $u: String!, $p: String!) {
      resetClinicAdmin(tenantId: $t, username: $u, password: $p) { userId username } }";
    let temporary = "temporary harbour key 42";
    let existing = app
        .graphql(
            Some(&sysadmin),
            reset,
            json!({"t": clinic.tenant_id, "u": "Admin", "p": temporary}),
        )
        .await;
    assert_eq!(
        existing.ok()["resetClinicAdmin"],
        json!({"userId": clinic.user(Role::ClinicAdmin), "username": "admin"})
    );
    assert_eq!(
        app.graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "{ me { id } }",
            json!({})
        )
        .await
        .code(),
        "UNAUTHENTICATED",
        "the admin's sessions end"
    );
    assert_eq!(
        app.sign_in(&clinic.slug, "admin", temporary).await["passwordChangeRequired"],
        true
    );

    let created = app
        .graphql(
            Some(&sysadmin),
            reset,
            json!({"t": clinic.tenant_id, "u": "rescue", "p": temporary}),
        )
        .await;
    assert_eq!(created.ok()["resetClinicAdmin"]["username"], "rescue");
    let rescue = app.sign_in(&clinic.slug, "rescue", temporary).await;
    assert_eq!(rescue["passwordChangeRequired"], true);

    let unknown = app
        .graphql(
            Some(&sysadmin),
            reset,
            json!({"t": uuid::Uuid::new_v4(), "u": "admin", "p": temporary}),
        )
        .await;
    assert_eq!(unknown.code(), "NOT_FOUND");

    // Each reset is in the clinic's trail, under the SystemAdmin, where the clinic's (new)
    // ClinicAdmin reads it.
    let sysadmin_id = token_claim(&sysadmin, "sub");
    let rescue_token = app
        .graphql(
            Some(rescue["token"].as_str().unwrap()),
            "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { token } }",
            json!({"c": temporary, "n": "violet harbour lantern 7"}),
        )
        .await;
    let rescue_token = rescue_token.ok()["changePassword"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let trail = app
        .graphql(
            Some(&rescue_token),
            "{ auditLogs(first: 100) { edges { node { action userId entityId newValues } } } }",
            json!({}),
        )
        .await;
    let resets: Vec<Value> = trail.ok()["auditLogs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .filter(|node| node["action"] == "CLINIC_ADMIN_RESET")
        .collect();
    assert_eq!(
        resets.len(),
        2,
        "each reset is in the clinic's trail: {resets:?}"
    );
    assert!(resets.iter().all(|node| node["userId"] == sysadmin_id
        && node["newValues"]["role"] == "SystemAdmin"
        && node["newValues"]["clinic_id"] == clinic.tenant_id.to_string()));
}

#[tokio::test]
async fn names_must_contain_a_letter_and_no_bidi_controls() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    for (first, why) in [
        ("\u{200B}\u{200C}", "zero-width only"),
        ("Ann\u{202E}nhoJ", "a right-to-left override"),
        ("\u{2066}Ann", "an isolate"),
        ("42", "no letter"),
    ] {
        let refused = app
            .graphql(
                Some(clinic.token(Role::FrontDesk)),
                "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }",
                json!({"i": {"firstName": first, "lastName": "Lee", "dateOfBirth": "1990-01-01"}}),
            )
            .await;
        assert_eq!(
            (refused.code(), refused.field()),
            ("BAD_USER_INPUT".to_owned(), "input.firstName".to_owned()),
            "{why}"
        );
    }
    app.create_patient(&clinic, "Zoë", "李").await;
}

#[tokio::test]
async fn guessable_passwords_are_refused_however_long() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    for weak in ["aaaaaaaaaaaa", "password1234", "qwertyuiop123"] {
        let refused = app
            .graphql(
                Some(clinic.token(Role::ClinicAdmin)),
                "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
                json!({"i": {"username": "newbie", "password": weak, "role": "PROVIDER"}}),
            )
            .await;
        assert_eq!(
            (refused.code(), refused.field()),
            ("BAD_USER_INPUT".to_owned(), "input.password".to_owned()),
            "{weak}"
        );
    }
}

#[tokio::test]
async fn aliased_pages_of_appointment_events_exceed_the_complexity_limit() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let token = Some(clinic.token(Role::FrontDesk));
    let one_page = "{ appointmentEvents(first: 500) { id } }";
    assert!(
        app.graphql(token, one_page, json!({}))
            .await
            .errors()
            .is_empty()
    );

    let aliased = format!(
        "{{ {} }}",
        (0..280)
            .map(|i| format!("e{i}: appointmentEvents(first: 500) {{ id }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = app.graphql(token, &aliased, json!({})).await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    assert!(message(&refused).contains("complex"), "{refused:?}");
}

#[tokio::test]
async fn a_clinics_idempotency_key_never_makes_another_clinic_wait() {
    let app = TestApp::spawn().await;
    let north = app.clinic("north").await;
    let south = app.clinic("south").await;
    let (_, north_invoice) = app.completed_visit(&north, "2030-01-07T09:00:00Z").await;
    let (_, south_invoice) = app.completed_visit(&south, "2030-01-07T09:00:00Z").await;
    let pay =
        "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { invoice { status } } }";
    let payment = |invoice: &str| json!({"i": {"invoiceId": invoice, "amount": "1.00", "method": "CARD", "idempotencyKey": "same-key"}});

    // North's payment takes its key, then waits on its invoice, which a test holds.
    let held = app.db.begin(north.scope(Role::BillingManager)).await;
    scalar::<i64, _>(
        &held,
        "/* test */ select count(*) from (select id from invoices
           where tenant_id = $1 and id = $2::uuid for update) locked",
        [north.tenant_id.into(), north_invoice.clone().into()],
    )
    .await;
    let waiting = app.graphql(
        Some(north.token(Role::BillingManager)),
        pay,
        payment(&north_invoice),
    );
    let south_pays = async {
        wait_for_blocked_sessions(&app.db, 1).await;
        let paid = app
            .graphql(
                Some(south.token(Role::BillingManager)),
                pay,
                payment(&south_invoice),
            )
            .await;
        held.rollback().await.unwrap();
        paid
    };
    let (north_paid, south_paid) = tokio::join!(waiting, south_pays);
    assert!(
        south_paid.errors().is_empty(),
        "south paid while north held the same key: {south_paid:?}"
    );
    assert!(north_paid.errors().is_empty(), "{north_paid:?}");
}

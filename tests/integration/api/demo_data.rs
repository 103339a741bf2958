//! The demo that `make run` loads: the platform's SystemAdmin and two clinics whose users all
//! sign in with the demo password and find their patients; loading it twice changes nothing.

use hpms::identity::bootstrap::{self, Outcome};
use hpms::patients::PhiKeyring;
use hpms::server::demo::{self, DEMO_CLINICS, DEMO_PASSWORD, DEMO_USERS};
use serde_json::json;

use crate::helpers::TestApp;

const LOGIN: &str = "mutation($t: String!, $u: String!, $p: String!) {
  login(tenant: $t, username: $u, password: $p) { token user { role } } }";

#[tokio::test]
async fn the_demo_loads_once_and_every_demo_user_signs_in() {
    let keys = PhiKeyring::generate_config_entry("demo");
    let app = TestApp::spawn_with_phi_keys(&keys).await;
    let keyring = PhiKeyring::from_config(&keys.clone().into()).unwrap();

    assert_eq!(
        bootstrap::create_system_admin(&app.db.app, "sysadmin", DEMO_PASSWORD)
            .await
            .unwrap(),
        Outcome::Created
    );
    assert_eq!(
        bootstrap::create_system_admin(&app.db.app, "sysadmin", DEMO_PASSWORD)
            .await
            .unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(
        demo::seed(&app.db.app, &keyring).await.unwrap(),
        ["northside", "riverside"]
    );
    assert!(
        demo::seed(&app.db.app, &keyring).await.unwrap().is_empty(),
        "a second run adds nothing"
    );

    let platform = app
        .graphql(
            None,
            LOGIN,
            json!({"t": "platform", "u": "sysadmin", "p": DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(platform.ok()["login"]["user"]["role"], "SYSTEM_ADMIN");

    for (slug, _) in DEMO_CLINICS {
        for (username, _) in DEMO_USERS {
            let response = app
                .graphql(
                    None,
                    LOGIN,
                    json!({"t": slug, "u": username, "p": DEMO_PASSWORD}),
                )
                .await;
            assert!(
                response.errors().is_empty(),
                "{username}@{slug}: {response:?}"
            );
        }
        let provider = app.login_with(slug, "provider", DEMO_PASSWORD).await;
        let patients = app
            .graphql(Some(&provider), "{ patients(search: \"muller\") { edges { node { firstName medical { allergies } } } } }", json!({}))
            .await;
        assert_eq!(
            patients.ok()["patients"]["edges"][0]["node"],
            json!({"firstName": "Zoë", "medical": {"allergies": "peanuts"}})
        );
    }
}

#[tokio::test]
async fn create_system_admin_resets_a_changed_password() {
    let app = TestApp::spawn().await;
    bootstrap::create_system_admin(&app.db.app, "root", "first password 1")
        .await
        .unwrap();
    assert_eq!(
        bootstrap::create_system_admin(&app.db.app, "root", "second password 2")
            .await
            .unwrap(),
        Outcome::PasswordReset
    );
    app.login_with("platform", "root", "second password 2")
        .await;
    assert!(
        bootstrap::create_system_admin(&app.db.app, "root", "short")
            .await
            .is_err()
    );
}

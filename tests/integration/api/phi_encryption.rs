//! PHI is stored only as AES-256-GCM ciphertext bound to its row: the owner reading the column
//! finds no plaintext, ciphertext moved to another row does not open, and rotating to a new key
//! keeps old rows readable.

use hpms::foundation::role::Role;
use hpms::patients::PhiKeyring;
use serde_json::json;

use crate::helpers::{TestApp, exec, scalar};

const MARKER: &str = "UNIQUE-PHI-MARKER-7f3a";

#[tokio::test]
async fn the_stored_column_never_holds_plaintext() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let response = app
        .graphql(
            Some(clinic.token(Role::Provider)),
            "mutation($i: UpdatePatientInput!) { updatePatient(input: $i) { medical { notes } } }",
            json!({"i": {"id": clinic.patient_id, "medical": {"notes": MARKER}},}),
        )
        .await;
    assert_eq!(response.ok()["updatePatient"]["medical"]["notes"], MARKER);

    let owner = app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await;
    let sealed_rows: i64 = scalar(
        &owner,
        "select count(*) from patients where phi_data is not null",
        [],
    )
    .await;
    assert_eq!(sealed_rows, 1, "the owner sees the row it searches");
    let plaintext_rows: i64 = scalar(
        &owner,
        "select count(*) from patients
         where position(convert_to($1, 'UTF8') in phi_data) > 0
            or position(convert_to('penicillin', 'UTF8') in phi_data) > 0",
        [MARKER.into()],
    )
    .await;
    assert_eq!(plaintext_rows, 0);
    let audit_mentions: i64 = scalar(
        &owner,
        "select count(*) from audit_logs where old_values::text like '%' || $1 || '%'
                                        or new_values::text like '%' || $1 || '%'",
        [MARKER.into()],
    )
    .await;
    assert_eq!(audit_mentions, 0, "audit snapshots show PHI as [encrypted]");
}

#[tokio::test]
async fn ciphertext_copied_to_another_patient_fails_to_decrypt() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let victim = app.create_patient(&clinic, "Grace", "Hopper").await;
    app.assign_care_provider(&clinic, victim, clinic.user(Role::Provider))
        .await;

    let tx = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    exec(
        &tx,
        "update patients set phi_data = (select phi_data from patients where id = $1 and tenant_id = $3)
          where id = $2 and tenant_id = $3",
        [clinic.patient_id.into(), victim.into(), clinic.tenant_id.into()],
    )
    .await
    .expect("the application role can write the column");
    tx.commit().await.unwrap();

    let response = app
        .graphql(
            Some(clinic.token(Role::Provider)),
            "query($id: UUID!) { patient(id: $id) { lastName medical { allergies } } }",
            json!({"id": victim}),
        )
        .await;
    assert_eq!(response.code(), "INTERNAL");
    assert!(response.data()["patient"]["medical"].is_null());
    assert!(
        !response.0.to_string().contains("penicillin"),
        "{response:?}"
    );
    assert_eq!(response.data()["patient"]["lastName"], "Hopper");
}

#[tokio::test]
async fn after_rotating_keys_old_rows_read_and_new_writes_use_the_new_key() {
    let old_key = PhiKeyring::generate_config_entry("2026-01");
    let mut app = TestApp::spawn_with_phi_keys(&old_key).await;
    let clinic = app.clinic("north").await;

    let new_key = PhiKeyring::generate_config_entry("2026-11");
    app.switch_server(&format!("{new_key},{old_key}")).await;
    let provider = app.login(&clinic.slug, "provider").await;
    let read = app
        .graphql(
            Some(&provider),
            "query($id: UUID!) { patient(id: $id) { medical { allergies } } }",
            json!({"id": clinic.patient_id}),
        )
        .await;
    assert_eq!(read.ok()["patient"]["medical"]["allergies"], "penicillin");

    let rewritten = app
        .graphql(
            Some(&provider),
            "mutation($i: UpdatePatientInput!) { updatePatient(input: $i) { contact { phone } } }",
            json!({"i": {"id": clinic.patient_id, "contact": {"phone": "555 0199"}}}),
        )
        .await;
    assert_eq!(
        rewritten.ok()["updatePatient"]["contact"]["phone"],
        "555 0199"
    );
    let tx = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    let key_id: String = scalar(
        &tx,
        "select convert_from(substring(phi_data from 3 for get_byte(phi_data, 1)), 'UTF8')
         from patients where id = $1",
        [clinic.patient_id.into()],
    )
    .await;
    assert_eq!(key_id, "2026-11");

    // A server that no longer has the old key cannot read rows sealed with it.
    let another = app.create_patient(&clinic, "Alan", "Turing").await;
    app.assign_care_provider(&clinic, another, clinic.user(Role::Provider))
        .await;
    app.switch_server(&PhiKeyring::generate_config_entry("2027-01"))
        .await;
    let provider = app.login(&clinic.slug, "provider").await;
    let unreadable = app
        .graphql(
            Some(&provider),
            "query($id: UUID!) { patient(id: $id) { medical { allergies } } }",
            json!({"id": another}),
        )
        .await;
    assert_eq!(unreadable.code(), "INTERNAL");
}

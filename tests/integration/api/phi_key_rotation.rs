//! `hpms rotate-phi-key`, run as the real binary: afterwards no row of any clinic, deleted
//! patients' included, is sealed under the old key (as the owner sees the column) and every patient reads back through the API from
//! a server that holds only the new key; killed half-way and run again, it finishes without
//! damage; a patient edited meanwhile keeps the edit; given keys that do not cover what is stored,
//! it changes nothing.

use hpms::foundation::db::{TenantTransaction, statement};
use sea_orm::ConnectionTrait;
use std::collections::BTreeMap;
use std::process::Output;

use hpms::foundation::role::Role;
use hpms::patients::PhiKeyring;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use uuid::Uuid;

use crate::helpers::server_process::hpms;
use crate::helpers::{ApiClinic, TestApp, exec, scalar, wait_for_blocked_sessions};

const OLD_KEY_ID: &str = "2026-01";
const NEW_KEY_ID: &str = "2026-11";
/// Patients per clinic, besides the one every test clinic starts with.
const PATIENTS: usize = 12;

/// A deployment whose patients were written under the old key, in two clinics, each patient with
/// details of its own; and the keyring that gained a new key.
struct Deployment {
    app: TestApp,
    clinics: Vec<ApiClinic>,
    /// Each live patient's contact phone and medical notes, by id.
    expected: BTreeMap<Uuid, (String, String)>,
    /// Sealed rows, deleted patients' included.
    rows: i64,
    old_key: String,
    rotated_keys: String,
}

impl Deployment {
    /// A front desk edit in progress: the second clinic's patient locked by an open transaction,
    /// as an update would lock it. Returns the transaction and the patient's id.
    async fn begin_an_edit_of_a_patient(&self) -> (TenantTransaction, Uuid) {
        let clinic = &self.clinics[1];
        let edit = self.app.db.begin(clinic.scope(Role::FrontDesk)).await;
        exec(
            &edit,
            "select 1 from patients where id = $1 and tenant_id = $2 for update",
            [clinic.patient_id.into(), clinic.tenant_id.into()],
        )
        .await
        .unwrap();
        (edit, clinic.patient_id)
    }

    async fn new() -> Deployment {
        let old_key = PhiKeyring::generate_config_entry(OLD_KEY_ID);
        let app = TestApp::spawn_with_phi_keys(&old_key).await;
        let mut clinics = Vec::new();
        let mut expected = BTreeMap::new();
        for (area, slug) in ["north", "south"].into_iter().enumerate() {
            let clinic = app.clinic(slug).await;
            expected.insert(
                clinic.patient_id,
                (
                    "+44 20 7946 0000".to_owned(),
                    "Prefers mornings.".to_owned(),
                ),
            );
            for n in 0..PATIENTS {
                let phone = format!("555 {area} {n:04}");
                let notes = format!("{slug} patient {n}: seen for rotation");
                let id = app
                    .create_patient_with(
                        &clinic,
                        &format!("Patient{n}"),
                        &format!("Of{slug}"),
                        json!({ "phone": phone }),
                        json!({ "notes": notes }),
                    )
                    .await;
                expected.insert(id, (phone, notes));
            }
            clinics.push(clinic);
        }
        let rotated_keys = format!(
            "{},{old_key}",
            PhiKeyring::generate_config_entry(NEW_KEY_ID)
        );
        Deployment {
            app,
            clinics,
            rows: expected.len() as i64,
            expected,
            old_key,
            rotated_keys,
        }
    }

    /// `hpms rotate-phi-key` with `phi_keys` and `args`, on this deployment's database.
    fn rotate(&self, phi_keys: &str, args: &[&str]) -> tokio::process::Command {
        let mut command = hpms("rotate-phi-key", "warn");
        command
            .args(args)
            .envs(self.app.server_environment())
            .env("HPMS_PHI_KEYS", phi_keys);
        command
    }

    async fn rotate_to_completion(&self) -> Output {
        let output = self
            .rotate(&self.rotated_keys, &[])
            .output()
            .await
            .expect("hpms rotate-phi-key runs");
        assert!(output.status.success(), "{output:?}");
        output
    }

    /// How many rows of every clinic are sealed under each key id, as the owner reads the column:
    /// one statement a clinic, so a batch that commits meanwhile is not counted under both keys.
    async fn rows_by_key(&self) -> BTreeMap<String, i64> {
        let mut by_key = BTreeMap::from([(OLD_KEY_ID.to_owned(), 0), (NEW_KEY_ID.to_owned(), 0)]);
        for clinic in &self.clinics {
            let owner = self
                .app
                .db
                .begin_as_owner(clinic.scope(Role::ClinicAdmin))
                .await;
            let counts = owner
                .query_all_raw(statement(
                    "select key_id, count(*) from (
                       select convert_from(substring(phi_data from 3 for get_byte(phi_data, 1)), 'UTF8') as key_id
                         from patients) sealed
                      where key_id = any($1) group by key_id",
                    [vec![OLD_KEY_ID.to_owned(), NEW_KEY_ID.to_owned()].into()],
                ))
                .await
                .expect("the owner counts sealed rows");
            for row in counts {
                let key_id: String = row.try_get_by_index(0).unwrap();
                let rows: i64 = row.try_get_by_index(1).unwrap();
                *by_key.entry(key_id).or_default() += rows;
            }
        }
        by_key
    }

    /// No row is left under the old key, and every patient of both clinics, read through a server
    /// that holds only the new key, shows the details it was last written with.
    async fn assert_every_patient_reads_with_only_the_new_key(&mut self) {
        assert_eq!(
            self.rows_by_key().await,
            BTreeMap::from([
                (OLD_KEY_ID.to_owned(), 0),
                (NEW_KEY_ID.to_owned(), self.patient_count())
            ])
        );
        let new_key_only = self.rotated_keys.split(',').next().unwrap().to_owned();
        self.app.switch_server(&new_key_only).await;
        let mut read = BTreeMap::new();
        for clinic in &self.clinics {
            let response = self
                .app
                .graphql(
                    // A ClinicAdmin reads every patient's medical data (a Provider only their own).
                    Some(clinic.token(Role::ClinicAdmin)),
                    "{ patients(first: 100) { edges { node { id contact { phone } medical { notes } } } } }",
                    json!({}),
                )
                .await;
            for edge in response.ok()["patients"]["edges"].as_array().unwrap() {
                let node = &edge["node"];
                let text = |value: &Value| value.as_str().unwrap().to_owned();
                read.insert(
                    node["id"].as_str().unwrap().parse::<Uuid>().unwrap(),
                    (
                        text(&node["contact"]["phone"]),
                        text(&node["medical"]["notes"]),
                    ),
                );
            }
        }
        assert_eq!(read, self.expected);
    }

    /// Audit rows of patients changed by no user with nothing visible changed: a rotation's.
    async fn rotation_audit_rows(&self) -> i64 {
        let mut rows = 0;
        for clinic in &self.clinics {
            let tx = self.app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
            rows += scalar::<i64, _>(
                &tx,
                "select count(*) from audit_logs
                  where entity_name = 'patients' and action = 'Update' and user_id is null
                    and old_values = new_values",
                [],
            )
            .await;
        }
        rows
    }

    fn patient_count(&self) -> i64 {
        self.rows
    }

    /// Deletes one of the second clinic's patients: a deleted patient's row keeps its PHI.
    async fn delete_a_patient(&mut self) {
        let clinic = &self.clinics[1];
        let response = self
            .app
            .graphql(
                Some(clinic.token(Role::ClinicAdmin)),
                "mutation($id: UUID!) { deletePatient(id: $id) }",
                json!({"id": clinic.patient_id}),
            )
            .await;
        assert_eq!(
            response.ok()["deletePatient"],
            clinic.patient_id.to_string()
        );
        self.expected.remove(&clinic.patient_id);
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn after_rotation_no_row_uses_the_old_key_and_every_patient_reads() {
    let mut deployment = Deployment::new().await;
    deployment.delete_a_patient().await;
    assert_eq!(
        deployment.rows_by_key().await[OLD_KEY_ID],
        deployment.patient_count()
    );

    let output = deployment.rotate_to_completion().await;
    let summary = stdout(&output);
    assert!(
        summary.contains(&format!(
            "done: {} re-encrypted, 0 already under the active key, 0 unreadable, 0 left under an older key, in 2 clinics",
            deployment.patient_count()
        )),
        "{summary}"
    );
    assert_eq!(
        deployment.rotation_audit_rows().await,
        deployment.patient_count(),
        "one audit row per re-encrypted patient"
    );
    deployment
        .assert_every_patient_reads_with_only_the_new_key()
        .await;

    let again = deployment.rotate_to_completion().await;
    assert!(
        stdout(&again).contains(&format!(
            "done: 0 re-encrypted, {} already under the active key",
            deployment.patient_count()
        )),
        "a second run finds nothing to do: {again:?}"
    );
}

#[tokio::test]
async fn killed_after_a_batch_and_run_again_it_finishes_without_damage() {
    let mut deployment = Deployment::new().await;
    // A front desk edit in progress on one patient: the run passes over it, comes back to it
    // last and waits there, so it is certainly still running when it is killed.
    let (edit, _) = deployment.begin_an_edit_of_a_patient().await;

    let mut run = deployment
        .rotate(&deployment.rotated_keys, &["--batch-size", "1"])
        .spawn()
        .expect("hpms rotate-phi-key starts");
    let mut lines = BufReader::new(run.stdout.take().unwrap()).lines();
    loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the run reports a committed batch before it ends");
        if line.contains("batch committed") {
            break;
        }
    }
    run.start_kill().expect("the run is still going: SIGKILL");
    let status = run.wait().await.unwrap();
    assert!(!status.success(), "killed: {status:?}");
    edit.rollback().await.unwrap();

    let interrupted = deployment.rows_by_key().await;
    assert!(interrupted[NEW_KEY_ID] >= 1, "{interrupted:?}");
    assert!(interrupted[OLD_KEY_ID] >= 1, "{interrupted:?}");
    assert_eq!(
        interrupted[NEW_KEY_ID] + interrupted[OLD_KEY_ID],
        deployment.patient_count(),
        "every row is whole, under one key or the other"
    );

    let output = deployment.rotate_to_completion().await;
    assert!(
        stdout(&output).contains(&format!(
            "done: {} re-encrypted, {} already under the active key, 0 unreadable, 0 left",
            interrupted[OLD_KEY_ID], interrupted[NEW_KEY_ID]
        )),
        "{output:?}"
    );
    deployment
        .assert_every_patient_reads_with_only_the_new_key()
        .await;
}

#[tokio::test]
async fn a_patient_edited_during_the_run_keeps_the_edit() {
    let mut deployment = Deployment::new().await;
    let tenant = deployment.clinics[1].tenant_id;
    let (edit, edited) = deployment.begin_an_edit_of_a_patient().await;

    let run = deployment
        .rotate(&deployment.rotated_keys, &["--batch-size", "5"])
        .spawn()
        .expect("hpms rotate-phi-key starts");
    // The run has done the rest and waits for the edit, which a server holding the new key
    // commits with new details: the run must not write the details it read before.
    wait_for_blocked_sessions(&deployment.app.db, 1).await;
    let details =
        json!({"contact": {"phone": "555 9 9999"}, "medical": {"notes": "edited during rotation"}});
    let sealed = PhiKeyring::from_config(&deployment.rotated_keys.clone().into())
        .unwrap()
        .seal(tenant, edited, details.to_string().as_bytes())
        .unwrap();
    exec(
        &edit,
        "update patients set phi_data = $2 where id = $1",
        [edited.into(), sealed.into()],
    )
    .await
    .unwrap();
    edit.commit().await.unwrap();

    let output = run.wait_with_output().await.unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout(&output).contains(&format!(
            "done: {} re-encrypted, 0 already under the active key, 0 unreadable, 0 left",
            deployment.patient_count() - 1
        )),
        "{output:?}"
    );
    deployment.expected.insert(
        edited,
        ("555 9 9999".to_owned(), "edited during rotation".to_owned()),
    );
    deployment
        .assert_every_patient_reads_with_only_the_new_key()
        .await;
}

#[tokio::test]
async fn keys_that_do_not_cover_what_is_stored_change_nothing() {
    let deployment = Deployment::new().await;
    let new_key_without_the_old = PhiKeyring::generate_config_entry(NEW_KEY_ID);
    let not_listed = format!(
        "sealed under keys that HPMS_PHI_KEYS does not list: `{OLD_KEY_ID}` ({} rows)",
        deployment.patient_count()
    );
    for (phi_keys, message) in [
        (None, "--phi-keys"),
        (Some("2026-11:not-a-key"), "HPMS_PHI_KEYS must be"),
        (Some(new_key_without_the_old.as_str()), not_listed.as_str()),
    ] {
        let mut command = deployment.rotate(phi_keys.unwrap_or_default(), &[]);
        if phi_keys.is_none() {
            command.env_remove("HPMS_PHI_KEYS");
        }
        let output = command.output().await.expect("hpms rotate-phi-key runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{output:?}");
        assert!(stderr.contains(message), "{stderr}");
        for key in [&deployment.old_key, &new_key_without_the_old] {
            let (_, secret) = key.split_once(':').unwrap();
            assert!(!stderr.contains(secret), "no key material: {stderr}");
        }
    }
    assert_eq!(
        deployment.rows_by_key().await,
        BTreeMap::from([
            (OLD_KEY_ID.to_owned(), deployment.patient_count()),
            (NEW_KEY_ID.to_owned(), 0)
        ])
    );
}

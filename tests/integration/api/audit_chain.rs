//! Each clinic's audit rows form a hash chain that `hpms verify-audit`, run as the real binary
//! with the application role's credential, checks whole: it passes on an untouched database and,
//! after the owner (as an intruder would, append-only trigger and forced row-level security
//! switched off) edits, deletes or moves one row, exits non-zero naming that clinic's first broken
//! row; with `--export` it appends the verified links to a JSON-lines file, and rows removed from
//! a chain's end show against that file.

use std::process::Output;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::helpers::server_process::hpms;
use crate::helpers::{Clinic, TestDb, exec, scalar};

struct Audited {
    db: TestDb,
    clinic: Clinic,
    other: Clinic,
}

impl Audited {
    /// Two clinics, each with a row in every table and so a chain of audit rows.
    async fn new() -> Audited {
        let db = TestDb::new().await;
        let clinic = db.create_clinic("chained").await;
        let other = db.create_clinic("untouched").await;
        Audited { db, clinic, other }
    }

    async fn verify(&self, args: &[&str]) -> Output {
        hpms("verify-audit", "warn")
            .args(args)
            .env("DATABASE_URL", self.db.app_url())
            .output()
            .await
            .expect("hpms verify-audit runs")
    }

    /// The id of the clinic's audit row at `chain_seq`, as the owner sees it.
    async fn row_at(&self, chain_seq: i64) -> i64 {
        let owner = self.db.begin_as_owner(self.clinic.admin()).await;
        scalar(
            &owner,
            "/* test */ select id from audit_logs where tenant_id = $1 and chain_seq = $2",
            [self.clinic.tenant_id.into(), chain_seq.into()],
        )
        .await
    }

    /// Runs `statements` on the clinic's audit rows as the owner with the protections an
    /// intruder holding the owner's credential can switch off switched off, and commits.
    async fn tamper(&self, statements: &[&str]) {
        let owner = self.db.begin_as_owner(self.clinic.admin()).await;
        exec(
            &owner,
            "/* test */ alter table audit_logs disable trigger append_only",
            [],
        )
        .await
        .unwrap();
        exec(
            &owner,
            "/* test */ alter table audit_logs no force row level security",
            [],
        )
        .await
        .unwrap();
        for statement in statements {
            let changed = owner
                .execute_raw(sea_orm::Statement::from_sql_and_values(
                    sea_orm::DbBackend::Postgres,
                    *statement,
                    [self.clinic.tenant_id.into()],
                ))
                .await
                .unwrap();
            assert!(changed.rows_affected() > 0, "{statement} changed nothing");
        }
        exec(
            &owner,
            "/* test */ alter table audit_logs force row level security",
            [],
        )
        .await
        .unwrap();
        exec(
            &owner,
            "/* test */ alter table audit_logs enable trigger append_only",
            [],
        )
        .await
        .unwrap();
        owner.commit().await.unwrap();
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts the run failed and named `clinic`'s break at the row with `audit_id` and `chain_seq`,
/// and found the other clinic intact.
fn assert_broken_at(output: &Output, audited: &Audited, audit_id: i64, chain_seq: i64) {
    let report = stdout(output);
    assert!(
        !output.status.success(),
        "a broken chain fails the run: {report}"
    );
    let expected = format!(
        "clinic {}: BROKEN at audit row id {audit_id} (chain_seq {chain_seq})",
        audited.clinic.tenant_id
    );
    assert!(
        report.contains(&expected),
        "expected {expected:?} in {report}"
    );
    let intact = format!("clinic {}: ", audited.other.tenant_id);
    assert!(
        report
            .lines()
            .any(|line| line.contains(&intact) && line.contains("chain intact")),
        "the other clinic's chain is intact: {report}"
    );
}

#[tokio::test]
async fn an_untouched_database_verifies() {
    let audited = Audited::new().await;

    let output = audited.verify(&[]).await;

    let report = stdout(&output);
    assert!(output.status.success(), "{output:?}");
    for clinic in [&audited.clinic, &audited.other] {
        assert!(
            report.contains(&format!("clinic {}: ", clinic.tenant_id)),
            "{report}"
        );
    }
    assert!(report.contains("every chain intact"), "{report}");
}

#[tokio::test]
async fn every_row_written_joins_its_clinics_chain_in_order() {
    let audited = Audited::new().await;
    let owner = audited.db.begin_as_owner(audited.clinic.admin()).await;

    let (rows, first, last, linked): (i64, i64, i64, i64) = (
        scalar(
            &owner,
            "/* test */ select count(*) from audit_logs where tenant_id = $1",
            [audited.clinic.tenant_id.into()],
        )
        .await,
        scalar(
            &owner,
            "/* test */ select min(chain_seq) from audit_logs where tenant_id = $1",
            [audited.clinic.tenant_id.into()],
        )
        .await,
        scalar(
            &owner,
            "/* test */ select max(chain_seq) from audit_logs where tenant_id = $1",
            [audited.clinic.tenant_id.into()],
        )
        .await,
        scalar(
            &owner,
            "/* test */ select count(*) from audit_logs later
               join audit_logs earlier on earlier.tenant_id = later.tenant_id
                                      and earlier.chain_seq = later.chain_seq - 1
              where later.tenant_id = $1 and later.previous_hash = earlier.row_hash",
            [audited.clinic.tenant_id.into()],
        )
        .await,
    );

    assert!(rows > 5, "the clinic's setup is audited: {rows} rows");
    assert_eq!((first, last), (1, rows), "numbered 1 to n without gaps");
    assert_eq!(
        linked,
        rows - 1,
        "every row but the first links to the one before"
    );
}

#[tokio::test]
async fn an_edited_row_is_named() {
    let audited = Audited::new().await;
    let edited = audited.row_at(3).await;

    audited
        .tamper(&[
            "/* test */ update audit_logs set new_values = '{\"allergies\": \"none\"}'
              where tenant_id = $1 and chain_seq = 3",
        ])
        .await;
    let output = audited.verify(&[]).await;

    assert_broken_at(&output, &audited, edited, 3);
    assert!(stdout(&output).contains("the row was changed"));
}

#[tokio::test]
async fn a_deleted_row_is_named_by_the_row_after_the_gap() {
    let audited = Audited::new().await;
    let after_the_gap = audited.row_at(4).await;

    audited
        .tamper(&["/* test */ delete from audit_logs where tenant_id = $1 and chain_seq = 3"])
        .await;
    let output = audited.verify(&[]).await;

    assert_broken_at(&output, &audited, after_the_gap, 4);
    assert!(stdout(&output).contains("the rows numbered 3 to 3 are missing"));
}

#[tokio::test]
async fn a_moved_row_is_named() {
    let audited = Audited::new().await;
    let moved = audited.row_at(3).await;

    // Row 3 goes before row 2: the two swap places in the chain.
    audited
        .tamper(&[
            "/* test */ update audit_logs set chain_seq = -2 where tenant_id = $1 and chain_seq = 2",
            "/* test */ update audit_logs set chain_seq = 2 where tenant_id = $1 and chain_seq = 3",
            "/* test */ update audit_logs set chain_seq = 3 where tenant_id = $1 and chain_seq = -2",
        ])
        .await;
    let output = audited.verify(&[]).await;

    assert_broken_at(&output, &audited, moved, 2);
}

#[tokio::test]
async fn the_export_appends_new_links_and_shows_rows_removed_from_the_end() {
    let audited = Audited::new().await;
    let directory = tempfile::tempdir().unwrap();
    let export = directory.path().join("audit-export.jsonl");
    let path = export.to_str().unwrap();

    let first = audited.verify(&["--export", path]).await;
    assert!(first.status.success(), "{first:?}");
    let exported = std::fs::read_to_string(path).unwrap();
    let last_line = exported.lines().last().unwrap().to_owned();
    let head: serde_json::Value = serde_json::from_str(&last_line).unwrap();
    assert!(head["row_hash"].as_str().unwrap().len() == 64, "{head}");
    assert!(
        !exported.contains("new_values"),
        "the export holds no audited values (patients' names are among them)"
    );

    let again = audited.verify(&["--export", path]).await;
    assert!(again.status.success(), "{again:?}");
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        exported,
        "nothing new, nothing appended"
    );

    // A new audit row: the next run appends exactly it.
    let admin = audited.db.begin(audited.clinic.admin()).await;
    exec(
        &admin,
        "/* test */ update patients set first_name = 'Augusta' where tenant_id = $1 and id = $2",
        [
            audited.clinic.tenant_id.into(),
            audited.clinic.patient_id.into(),
        ],
    )
    .await
    .unwrap();
    admin.commit().await.unwrap();
    let third = audited.verify(&["--export", path]).await;
    assert!(third.status.success(), "{third:?}");
    let grown = std::fs::read_to_string(path).unwrap();
    assert!(grown.starts_with(&exported), "the export only grows");
    assert_eq!(grown.lines().count(), exported.lines().count() + 1);

    // The clinic's newest row is removed: the database alone cannot tell, the export can.
    let clinic = audited.clinic.tenant_id;
    audited
        .tamper(&["/* test */ delete from audit_logs where tenant_id = $1
               and chain_seq = (select max(chain_seq) from audit_logs where tenant_id = $1)"])
        .await;
    assert!(audited.verify(&[]).await.status.success());
    let checked = audited.verify(&["--export", path]).await;
    let report = stdout(&checked);
    assert!(!checked.status.success(), "{report}");
    assert!(
        report.contains(&format!("clinic {clinic}: BROKEN at the chain's end")),
        "{report}"
    );
}

#[tokio::test]
async fn the_application_role_cannot_write_chain_columns_of_its_own() {
    let audited = Audited::new().await;
    let clinic: Uuid = audited.clinic.tenant_id;
    let admin = audited.db.begin(audited.clinic.admin()).await;

    // A Read row the reader may add, claiming a place and hash in the chain: the trigger sets both.
    exec(
        &admin,
        "/* test */ insert into audit_logs (tenant_id, entity_name, entity_id, user_id, action, new_values, chain_seq, row_hash)
         values ($1, 'patients', 'x', $2, 'Read', '{}', 1, '\\x00')",
        [clinic.into(), audited.clinic.admin_id.into()],
    )
    .await
    .unwrap();
    let (seq, hash_length): (i64, i32) = (
        scalar(
            &admin,
            "/* test */ select chain_seq from audit_logs where tenant_id = $1 and entity_id = 'x'",
            [clinic.into()],
        )
        .await,
        scalar(
            &admin,
            "/* test */ select octet_length(row_hash) from audit_logs where tenant_id = $1 and entity_id = 'x'",
            [clinic.into()],
        )
        .await,
    );
    assert!(
        seq > 1,
        "the row takes the next place, not the one it claimed"
    );
    assert_eq!(hash_length, 32, "the row's hash is the trigger's sha256");
}

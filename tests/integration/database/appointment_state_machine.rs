//! Database level: PostgreSQL allows only DESIGN.md's status moves and versions every update.
//!
//! SQL as the application role, no server: for every (from, to) pair a trigger lets through the
//! moves of DESIGN.md and refuses the rest, and a new appointment that is not Scheduled, with
//! SQLSTATE 23514 on `appointment_status_transition`, naming both states. Every update bumps
//! row_version whatever it sets, so a writer holding a stale version changes nothing. The same
//! moves as a client makes them, through GraphQL: `api/appointment_status_changes.rs`.

use crate::helpers::{TestDb, exec, scalar, set_status, sqlstate, try_scalar, violated_constraint};

const STATUSES: [&str; 6] = [
    "Scheduled",
    "Arrived",
    "InSession",
    "Completed",
    "NoShow",
    "Cancelled",
];

const ALLOWED: [(&str, &str); 6] = [
    ("Scheduled", "Arrived"),
    ("Arrived", "InSession"),
    ("InSession", "Completed"),
    ("Scheduled", "NoShow"),
    ("Arrived", "NoShow"),
    ("Scheduled", "Cancelled"),
];

/// The legal path from a new appointment to `status`.
fn path_to(status: &str) -> &'static [&'static str] {
    match status {
        "Scheduled" => &[],
        "Arrived" => &["Arrived"],
        "InSession" => &["Arrived", "InSession"],
        "Completed" => &["Arrived", "InSession", "Completed"],
        "NoShow" => &["NoShow"],
        "Cancelled" => &["Cancelled"],
        other => panic!("unknown status {other}"),
    }
}

#[tokio::test]
async fn every_status_transition_is_allowed_or_refused_as_specified() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let mut checked = 0;

    for from in STATUSES {
        for to in STATUSES.into_iter().filter(|to| *to != from) {
            let tx = db.begin(clinic.admin()).await;
            let appointment = clinic
                .book(&tx, "2030-04-01 09:00+00", "2030-04-01 09:30+00")
                .await
                .unwrap();
            for step in path_to(from) {
                set_status(&tx, appointment, step).await.unwrap();
            }
            let outcome = set_status(&tx, appointment, to).await;
            if ALLOWED.contains(&(from, to)) {
                assert_eq!(
                    outcome.unwrap_or_else(|e| panic!("{from} → {to} must be allowed: {e}")),
                    1
                );
            } else {
                let error = outcome.expect_err(&format!("{from} → {to} must be refused"));
                assert_eq!(
                    sqlstate(&error).as_deref(),
                    Some("23514"),
                    "{from} → {to}: {error}"
                );
                assert_eq!(
                    violated_constraint(&error).as_deref(),
                    Some("appointment_status_transition")
                );
                let message = error.to_string();
                assert!(
                    message.contains(from) && message.contains(to),
                    "the error names both states: {message}"
                );
            }
            tx.rollback().await.unwrap();
            checked += 1;
        }
    }
    assert_eq!(checked, 30);
}

#[tokio::test]
async fn a_new_appointment_must_start_scheduled() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let tx = db.begin(clinic.admin()).await;
    let inserted = try_scalar::<uuid::Uuid, _>(
        &tx,
        "insert into appointments (tenant_id, patient_id, provider_id, type_id, start_time, end_time, price, status)
         values ($1, $2, $3, $4, '2030-04-02 09:00+00', '2030-04-02 09:30+00', 10, 'Completed') returning id",
        [clinic.tenant_id.into(), clinic.patient_id.into(), clinic.provider_id.into(), clinic.type_id.into()],
    )
    .await;
    let error = inserted.expect_err("an appointment cannot be born Completed");
    assert_eq!(
        violated_constraint(&error).as_deref(),
        Some("appointment_status_transition")
    );
}

#[tokio::test]
async fn every_update_bumps_the_row_version_whatever_it_says() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let tx = db.begin(clinic.admin()).await;
    let appointment = clinic
        .book(&tx, "2030-04-03 09:00+00", "2030-04-03 09:30+00")
        .await
        .unwrap();
    let version = |tx| async move {
        scalar::<i64, _>(
            tx,
            "select row_version from appointments where id = $1",
            [appointment.into()],
        )
        .await
    };
    assert_eq!(version(&tx).await, 1);

    set_status(&tx, appointment, "Arrived").await.unwrap();
    assert_eq!(version(&tx).await, 2);
    exec(
        &tx,
        "update appointments set row_version = 100 where id = $1",
        [appointment.into()],
    )
    .await
    .unwrap();
    assert_eq!(
        version(&tx).await,
        3,
        "a writer cannot set the version it likes"
    );
}

#[tokio::test]
async fn an_update_carrying_a_stale_version_changes_nothing() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let tx = db.begin(clinic.admin()).await;
    let appointment = clinic
        .book(&tx, "2030-04-04 09:00+00", "2030-04-04 09:30+00")
        .await
        .unwrap();
    let guarded = "update appointments set start_time = start_time + interval '1 hour', end_time = end_time + interval '1 hour'
                    where id = $1 and row_version = $2";

    assert_eq!(
        exec(&tx, guarded, [appointment.into(), 1i64.into()])
            .await
            .unwrap(),
        1,
        "the first writer wins"
    );
    assert_eq!(
        exec(&tx, guarded, [appointment.into(), 1i64.into()])
            .await
            .unwrap(),
        0,
        "the second writer read version 1 too"
    );
    let start: String = scalar(
        &tx,
        "select to_char(start_time at time zone 'UTC', 'HH24:MI') from appointments where id = $1",
        [appointment.into()],
    )
    .await;
    assert_eq!(start, "10:00", "moved once, not twice");
}

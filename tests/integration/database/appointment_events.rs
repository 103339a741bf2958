//! Every booking and status change writes one appointment_events row and a NOTIFY in the same
//! transaction: a listener hears it after commit, and nothing at all when the transaction rolls
//! back. Each clinic numbers its events 1, 2, 3, … in commit order, so a partner resuming from
//! "id > last seen" can never skip one.

use std::time::Duration;

use sqlx::postgres::PgListener;
use uuid::Uuid;

use crate::helpers::{Clinic, TestDb, count, exec, scalar, set_status, wait_for_blocked_sessions};

async fn listen(db: &TestDb) -> PgListener {
    let mut listener = PgListener::connect(db.app_url())
        .await
        .expect("LISTEN connection");
    listener.listen("appointment_events").await.expect("LISTEN");
    listener
}

/// The next notification's payload; a deadline guards against a hang, it is not a delay.
async fn next_payload(listener: &mut PgListener) -> String {
    tokio::time::timeout(Duration::from_secs(10), listener.recv())
        .await
        .expect("a notification within 10 s")
        .expect("the LISTEN connection stays up")
        .payload()
        .to_owned()
}

async fn first_appointment(db: &TestDb, clinic: &Clinic) -> Uuid {
    scalar(
        &db.begin(clinic.admin()).await,
        "select id from appointments limit 1",
        [],
    )
    .await
}

#[tokio::test]
async fn a_status_change_writes_one_event_and_notifies_after_commit() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let appointment = first_appointment(&db, &clinic).await;
    let mut listener = listen(&db).await;

    let tx = db.begin(clinic.admin()).await;
    set_status(&tx, appointment, "Arrived").await.unwrap();
    // While the change is uncommitted, another session's notification gets through first:
    // nothing of the change may precede it.
    exec(
        &db.app,
        "select pg_notify('appointment_events', 'before-commit')",
        [],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(next_payload(&mut listener).await, "before-commit");
    assert_eq!(
        next_payload(&mut listener).await,
        format!("{}:2", clinic.tenant_id),
        "event 1 was the booking"
    );
    let tx = db.begin(clinic.admin()).await;
    let (old, new, provider): (String, String, Uuid) = (
        scalar(
            &tx,
            "select old_status from appointment_events where id = 2",
            [],
        )
        .await,
        scalar(
            &tx,
            "select new_status from appointment_events where id = 2",
            [],
        )
        .await,
        scalar(
            &tx,
            "select provider_id from appointment_events where id = 2",
            [],
        )
        .await,
    );
    assert_eq!(
        (old.as_str(), new.as_str(), provider),
        ("Scheduled", "Arrived", clinic.provider_id)
    );
    assert_eq!(count(&tx, "appointment_events").await, 2);
}

#[tokio::test]
async fn a_rolled_back_status_change_leaves_no_event_and_no_notification() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let appointment = first_appointment(&db, &clinic).await;
    let mut listener = listen(&db).await;

    let abandoned = db.begin(clinic.admin()).await;
    set_status(&abandoned, appointment, "NoShow").await.unwrap();
    abandoned.rollback().await.unwrap();

    let committed = db.begin(clinic.admin()).await;
    set_status(&committed, appointment, "Arrived")
        .await
        .unwrap();
    committed.commit().await.unwrap();

    // Notifications arrive in commit order: had the rolled-back change notified, it would come first.
    assert_eq!(
        next_payload(&mut listener).await,
        format!("{}:2", clinic.tenant_id)
    );
    let tx = db.begin(clinic.admin()).await;
    let statuses: Vec<String> = scalar(
        &tx,
        "select array_agg(new_status order by id) from appointment_events",
        [],
    )
    .await;
    assert_eq!(
        statuses,
        ["Scheduled", "Arrived"],
        "no trace of the rolled-back NoShow"
    );
}

#[tokio::test]
async fn a_clinics_events_are_numbered_in_commit_order() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let early = first_appointment(&db, &clinic).await;
    let setup = db.begin(clinic.admin()).await;
    let late = clinic
        .book(&setup, "2030-05-01 09:00+00", "2030-05-01 09:30+00")
        .await
        .unwrap();
    setup.commit().await.unwrap();

    // The first transaction changes a status and stays open; a second one, started later, must
    // wait for it instead of taking the next number and committing ahead of it.
    let first = db.begin(clinic.admin()).await;
    set_status(&first, early, "Arrived").await.unwrap();
    let second = db.begin(clinic.admin()).await;
    let racer = tokio::spawn(async move {
        set_status(&second, late, "Arrived").await.unwrap();
        second.commit().await.unwrap();
    });
    wait_for_blocked_sessions(&db, 1).await;
    first.commit().await.unwrap();
    racer.await.unwrap();

    let tx = db.begin(clinic.admin()).await;
    let order: Vec<Uuid> = scalar(&tx, "select array_agg(appointment_id order by id) from appointment_events where new_status = 'Arrived'", []).await;
    assert_eq!(order, [early, late], "event numbers follow commit order");
    let ids: Vec<i64> = scalar(
        &tx,
        "select array_agg(id order by id) from appointment_events",
        [],
    )
    .await;
    assert_eq!(ids, [1, 2, 3, 4], "numbers are dense per clinic");
}

#[tokio::test]
async fn each_clinic_numbers_its_own_events() {
    let db = TestDb::new().await;
    let a = db.create_clinic("alpha").await;
    let b = db.create_clinic("beta").await;
    let tx = db.begin(a.admin()).await;
    a.book(&tx, "2030-05-02 09:00+00", "2030-05-02 09:30+00")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    for (clinic, expected) in [(a, vec![1i64, 2]), (b, vec![1])] {
        let tx = db.begin(clinic.admin()).await;
        let ids: Vec<i64> = scalar(
            &tx,
            "select array_agg(id order by id) from appointment_events",
            [],
        )
        .await;
        assert_eq!(ids, expected);
    }
}

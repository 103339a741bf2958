//! Database level: an exclusion constraint forbids overlapping active appointments of one provider.
//!
//! SQL as the application role, no server: `appointments_no_double_booking` rejects an overlap
//! with SQLSTATE 23P01, even between two transactions that run at the same time (the second
//! waits on the first, then fails). Back-to-back slots and other providers' slots are fine;
//! cancelled, no-show and deleted appointments free theirs. What a client sees when many book at
//! once: `api/concurrent_booking_requests.rs`.

use crate::helpers::{
    TestDb, assert_sqlstate, count, exec, insert_user, violated_constraint,
    wait_for_blocked_sessions,
};
use hpms::foundation::role::Role;

#[tokio::test]
async fn overlapping_bookings_committed_concurrently_leave_exactly_one() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;

    let first = db.begin(clinic.admin()).await;
    clinic
        .book(&first, "2030-03-04 10:00+00", "2030-03-04 10:30+00")
        .await
        .expect("first booking");

    let second = db.begin(clinic.admin()).await;
    let contender = tokio::spawn(async move {
        let outcome = clinic
            .book(&second, "2030-03-04 10:15+00", "2030-03-04 10:45+00")
            .await;
        (outcome, second)
    });
    // The second insert must wait for the first transaction: the two really overlap in time.
    wait_for_blocked_sessions(&db, 1).await;
    first.commit().await.expect("first booking commits");

    let (outcome, second) = contender.await.unwrap();
    let error = outcome.expect_err("the overlapping booking must fail");
    assert_eq!(
        crate::helpers::sqlstate(&error).as_deref(),
        Some("23P01"),
        "{error}"
    );
    assert_eq!(
        violated_constraint(&error).as_deref(),
        Some("appointments_no_double_booking")
    );
    second.rollback().await.unwrap();

    let tx = db.begin(clinic.admin()).await;
    assert_eq!(
        count(&tx, "appointments").await,
        2,
        "the fixture's appointment and exactly one of the two"
    );
}

#[tokio::test]
async fn back_to_back_appointments_are_allowed() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let tx = db.begin(clinic.admin()).await;

    clinic
        .book(&tx, "2030-03-04 10:00+00", "2030-03-04 10:30+00")
        .await
        .expect("first slot");
    clinic
        .book(&tx, "2030-03-04 10:30+00", "2030-03-04 11:00+00")
        .await
        .expect("the slot that starts when the first ends");
    clinic
        .book(&tx, "2030-03-04 09:30+00", "2030-03-04 10:00+00")
        .await
        .expect("the slot that ends when the first starts");
    let overlap = clinic
        .book(&tx, "2030-03-04 10:29+00", "2030-03-04 10:31+00")
        .await;
    assert_sqlstate(overlap, "23P01", "a slot straddling the boundary");
}

#[tokio::test]
async fn a_cancelled_or_no_show_appointment_frees_its_slot() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;

    for freeing_change in [
        "update appointments set status = 'Cancelled', cancel_reason = 'Patient called' where id = $1",
        "update appointments set status = 'NoShow' where id = $1",
        "update appointments set is_deleted = true where id = $1",
    ] {
        let tx = db.begin(clinic.admin()).await;
        let taken = clinic
            .book(&tx, "2030-03-05 08:00+00", "2030-03-05 08:30+00")
            .await
            .unwrap();
        assert_eq!(
            exec(&tx, freeing_change, [taken.into()]).await.unwrap(),
            1,
            "{freeing_change}"
        );
        clinic
            .book(&tx, "2030-03-05 08:00+00", "2030-03-05 08:30+00")
            .await
            .unwrap_or_else(|error| panic!("slot not freed by `{freeing_change}`: {error}"));
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn different_providers_can_be_booked_at_the_same_time() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let tx = db.begin(clinic.admin()).await;
    let colleague = insert_user(&tx, clinic.tenant_id, "dr.two@alpha", Role::Provider).await;

    clinic
        .book(&tx, "2030-03-06 14:00+00", "2030-03-06 15:00+00")
        .await
        .expect("first provider");
    clinic
        .book_with(&tx, colleague, "2030-03-06 14:00+00", "2030-03-06 15:00+00")
        .await
        .expect("second provider, same time");
}

/// Books the clinic's patient with `provider` into `room` from `start` to `end`, in SQL.
async fn book_in_room(
    clinic: &crate::helpers::Clinic,
    tx: &impl sea_orm::ConnectionTrait,
    (provider, room): (uuid::Uuid, uuid::Uuid),
    (start, end): (&str, &str),
) -> Result<uuid::Uuid, sea_orm::DbErr> {
    crate::helpers::try_scalar(
        tx,
        "insert into appointments (tenant_id, patient_id, provider_id, type_id, start_time, end_time, price, room_id)
         values ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, 80.00, $7) returning id",
        [
            clinic.tenant_id.into(),
            clinic.patient_id.into(),
            provider.into(),
            clinic.type_id.into(),
            start.into(),
            end.into(),
            room.into(),
        ],
    )
    .await
}

/// The room's constraint is the provider's over the room: two providers booking one room at
/// overlapping times concurrently leave one; the room is free again once its visit is cancelled,
/// and visits in no room never clash over rooms.
#[tokio::test]
async fn a_room_is_never_double_booked_even_by_different_providers_at_once() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let setup = db.begin(clinic.admin()).await;
    let colleague = insert_user(&setup, clinic.tenant_id, "dr.two@alpha", Role::Provider).await;
    // The fixture's one room.
    let room: uuid::Uuid = crate::helpers::scalar(&setup, "select id from rooms", []).await;
    setup.commit().await.unwrap();

    let first = db.begin(clinic.admin()).await;
    book_in_room(
        &clinic,
        &first,
        (clinic.provider_id, room),
        ("2030-03-04 10:00+00", "2030-03-04 10:30+00"),
    )
    .await
    .expect("the first visit takes the room");
    let second = db.begin(clinic.admin()).await;
    let contender = tokio::spawn(async move {
        let outcome = book_in_room(
            &clinic,
            &second,
            (colleague, room),
            ("2030-03-04 10:15+00", "2030-03-04 10:45+00"),
        )
        .await;
        (outcome, second)
    });
    wait_for_blocked_sessions(&db, 1).await;
    first.commit().await.expect("the first visit commits");
    let (outcome, second) = contender.await.unwrap();
    let error = outcome.expect_err("the colleague's overlapping visit in the room must fail");
    assert_eq!(
        violated_constraint(&error).as_deref(),
        Some("appointments_no_room_double_booking")
    );
    second.rollback().await.unwrap();

    let tx = db.begin(clinic.admin()).await;
    exec(
        &tx,
        "update appointments set status = 'Cancelled', cancel_reason = 'Unwell' where room_id = $1",
        [room.into()],
    )
    .await
    .unwrap();
    book_in_room(
        &clinic,
        &tx,
        (colleague, room),
        ("2030-03-04 10:15+00", "2030-03-04 10:45+00"),
    )
    .await
    .expect("a cancelled visit frees the room");
    clinic
        .book(&tx, "2030-03-04 10:15+00", "2030-03-04 10:45+00")
        .await
        .expect("the provider, now free, books a visit in no room at the same time");
}

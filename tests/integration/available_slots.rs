//! `availableSlots` offers exactly the free starts of a provider's day: inside working hours
//! read on the clinic's wall clock, clear of appointments that hold their slot (a cancelled one
//! does not), up to a slot that ends as the day does, and right on daylight-saving days.

use hpms::identity::Role;
use hpms::platform::db::TenantScope;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{ApiClinic, TestApp, exec};

const SLOTS: &str = "query($p: UUID!, $d: NaiveDate!, $t: UUID!) { availableSlots(providerId: $p, date: $d, typeId: $t) }";

async fn set_time_zone(app: &TestApp, clinic: &ApiClinic, zone: &str) {
    let tx = app
        .db
        .begin(TenantScope {
            tenant_id: Uuid::nil(),
            user_id: None,
            role: Role::SystemAdmin,
        })
        .await;
    exec(
        &tx,
        "update tenants set time_zone = $1 where id = $2",
        [zone.into(), clinic.tenant_id.into()],
    )
    .await
    .expect("the platform sets a clinic's time zone");
    tx.commit().await.unwrap();
}

async fn slots(app: &TestApp, clinic: &ApiClinic, date: &str, type_id: Uuid) -> Vec<String> {
    let response = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            SLOTS,
            json!({"p": clinic.user(Role::Provider), "d": date, "t": type_id}),
        )
        .await;
    response.ok()["availableSlots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|slot| slot.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn slots_are_exact_around_bookings_a_cancellation_and_the_end_of_the_day() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    app.set_working_hours(
        &clinic,
        provider,
        json!([
            {"day": "MONDAY", "start": "09:00:00", "end": "11:00:00"},
            {"day": "MONDAY", "start": "23:00:00", "end": "00:00:00"},
        ]),
    )
    .await;
    // 2030-01-07 is a Monday. Booked 09:30–10:00; booked and then cancelled 10:00–10:30.
    app.book(&clinic, provider, "2030-01-07T09:30:00Z")
        .await
        .ok();
    let cancelled = app.book(&clinic, provider, "2030-01-07T10:00:00Z").await;
    let id = cancelled.ok()["bookAppointment"]["id"].clone();
    app.graphql(
        Some(clinic.token(Role::FrontDesk)),
        "mutation($id: UUID!) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"Sick\") { status } }",
        json!({"id": id}),
    )
    .await
    .ok();

    assert_eq!(
        slots(&app, &clinic, "2030-01-07", clinic.type_id).await,
        [
            "2030-01-07T09:00:00+00:00",
            "2030-01-07T10:00:00+00:00",
            "2030-01-07T10:15:00+00:00",
            "2030-01-07T10:30:00+00:00",
            "2030-01-07T23:00:00+00:00",
            "2030-01-07T23:15:00+00:00",
            "2030-01-07T23:30:00+00:00",
        ]
    );
    assert!(
        slots(&app, &clinic, "2030-01-08", clinic.type_id)
            .await
            .is_empty(),
        "no hours on Tuesday"
    );

    // A slot it offers books; one it does not is refused as outside working hours.
    assert!(
        app.book(&clinic, provider, "2030-01-07T23:30:00Z")
            .await
            .errors()
            .is_empty()
    );
    let outside = app.book(&clinic, provider, "2030-01-07T11:00:00Z").await;
    assert_eq!(outside.code(), "BAD_USER_INPUT");
    assert!(
        outside.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("working hours")
    );
}

#[tokio::test]
async fn on_the_spring_forward_day_slots_follow_the_clinic_clock() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    set_time_zone(&app, &clinic, "America/New_York").await;
    let hour_long = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "mutation { createAppointmentType(input: {name: \"Long\", durationMinutes: 60, price: \"100\"}) { id } }",
            json!({}),
        )
        .await;
    let hour_long: Uuid = hour_long.ok()["createAppointmentType"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // 2030-03-10 (a Sunday): 02:00 EST jumps to 03:00 EDT, so 01:00–04:00 holds two hours.
    app.set_working_hours(
        &clinic,
        clinic.user(Role::Provider),
        json!([{"day": "SUNDAY", "start": "01:00:00", "end": "04:00:00"}]),
    )
    .await;
    assert_eq!(
        slots(&app, &clinic, "2030-03-10", hour_long).await,
        [
            "2030-03-10T06:00:00+00:00",
            "2030-03-10T06:15:00+00:00",
            "2030-03-10T06:30:00+00:00",
            "2030-03-10T06:45:00+00:00",
            "2030-03-10T07:00:00+00:00",
        ],
        "01:00–01:45 EST, then 03:00 EDT; 02:xx does not exist"
    );
    // A week later the same hours are 05:00Z onwards, three full hours.
    let later = slots(&app, &clinic, "2030-03-17", hour_long).await;
    assert_eq!(
        later.first().map(String::as_str),
        Some("2030-03-17T05:00:00+00:00")
    );
    assert_eq!(
        later.last().map(String::as_str),
        Some("2030-03-17T07:00:00+00:00")
    );
}

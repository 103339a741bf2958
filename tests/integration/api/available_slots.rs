//! `availableSlots` offers exactly the free starts of a provider's day: inside working hours
//! read on the clinic's wall clock, clear of appointments that hold their slot (a cancelled one
//! does not), up to a slot that ends as the day does, and right on daylight-saving days.

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use hpms::foundation::role::Role;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{ApiClinic, TestApp, exec};

/// The `n`th `weekday` of `month` next year: slots are offered only from now on, so every date
/// here lies ahead whenever the test runs.
fn next_year(month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(Utc::now().year() + 1, month, weekday, n).unwrap()
}

/// `date` at `time` UTC, as the API writes instants.
fn at(date: NaiveDate, time: &str) -> String {
    format!("{date}T{time}+00:00")
}

async fn set_time_zone(app: &TestApp, clinic: &ApiClinic, zone: &str) {
    let tx = app.db.begin_as_platform().await;
    exec(
        &tx,
        "update tenants set time_zone = $1 where id = $2",
        [zone.into(), clinic.tenant_id.into()],
    )
    .await
    .expect("the platform sets a clinic's time zone");
    tx.commit().await.unwrap();
}

async fn slots(app: &TestApp, clinic: &ApiClinic, date: NaiveDate, type_id: Uuid) -> Vec<String> {
    app.available_slots(clinic, clinic.user(Role::Provider), date, type_id)
        .await
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
    // Booked 09:30–10:00; booked and then cancelled 10:00–10:30.
    let monday = next_year(1, Weekday::Mon, 2);
    app.book(&clinic, provider, &at(monday, "09:30:00"))
        .await
        .ok();
    let cancelled = app.book(&clinic, provider, &at(monday, "10:00:00")).await;
    let id = cancelled.ok()["bookAppointment"]["id"].clone();
    app.graphql(
        Some(clinic.token(Role::FrontDesk)),
        "mutation($id: UUID!) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"Sick\") { status } }",
        json!({"id": id}),
    )
    .await
    .ok();

    let expected: Vec<String> = [
        "09:00:00", "10:00:00", "10:15:00", "10:30:00", "23:00:00", "23:15:00", "23:30:00",
    ]
    .iter()
    .map(|time| at(monday, time))
    .collect();
    assert_eq!(slots(&app, &clinic, monday, clinic.type_id).await, expected);
    let tuesday = monday + Duration::days(1);
    assert!(
        slots(&app, &clinic, tuesday, clinic.type_id)
            .await
            .is_empty(),
        "no hours on Tuesday"
    );

    // A slot it offers books; one it does not is refused as outside working hours.
    let last = app.book(&clinic, provider, &at(monday, "23:30:00")).await;
    assert!(last.errors().is_empty(), "{last:?}");
    let outside = app.book(&clinic, provider, &at(monday, "11:00:00")).await;
    assert_eq!(outside.code(), "BAD_USER_INPUT");
    assert!(
        outside.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("working hours")
    );
}

#[tokio::test]
async fn on_daylight_saving_days_slots_follow_the_clinic_clock() {
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
    app.set_working_hours(
        &clinic,
        clinic.user(Role::Provider),
        json!([{"day": "SUNDAY", "start": "01:00:00", "end": "04:00:00"}]),
    )
    .await;

    // The second Sunday of March: 02:00 EST jumps to 03:00 EDT, so 01:00–04:00 holds two hours.
    let spring = next_year(3, Weekday::Sun, 2);
    let expected: Vec<String> = ["06:00:00", "06:15:00", "06:30:00", "06:45:00", "07:00:00"]
        .iter()
        .map(|time| at(spring, time))
        .collect();
    assert_eq!(
        slots(&app, &clinic, spring, hour_long).await,
        expected,
        "01:00–01:45 EST, then 03:00 EDT; 02:xx does not exist"
    );
    // A week later the same hours are three full hours from 05:00Z.
    let later = slots(&app, &clinic, spring + Duration::days(7), hour_long).await;
    assert_eq!(
        later.first(),
        Some(&at(spring + Duration::days(7), "05:00:00"))
    );
    assert_eq!(
        later.last(),
        Some(&at(spring + Duration::days(7), "07:00:00"))
    );

    // The first Sunday of November: 02:00 EDT falls back to 01:00 EST, so 01:00–02:00 happens
    // twice and both are offered (and bookable).
    let autumn = next_year(11, Weekday::Sun, 1);
    let offered = slots(&app, &clinic, autumn, hour_long).await;
    for repeated in [at(autumn, "05:00:00"), at(autumn, "06:00:00")] {
        assert!(offered.contains(&repeated), "{repeated} in {offered:?}");
    }
    assert_eq!(
        offered.last(),
        Some(&at(autumn, "08:00:00")),
        "03:00 EST is the last start"
    );
}

//! The figures of issue 17, printed for the note: `availableSlots` for each day of a 30-day
//! range for a provider with weekday hours, bookings, time off and a closure (p50/p99), the same
//! for a type that needs a room, and `bookSeries` of 52 weekly occurrences (ms), without and with
//! rooms. Each also asserts what it measured is right. Run it alone (`cargo test --test
//! integration clinic_week_figures -- --nocapture`): the numbers are of this machine, with
//! whatever else runs on it.

use std::time::{Duration as Elapsed, Instant};

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use hpms::foundation::role::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::recurring_series::weekly_series;
use crate::helpers::{ApiClinic, TestApp};

fn percentile(sorted: &[Elapsed], fraction: f64) -> f64 {
    let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Monday to Friday, 08:00–18:00.
fn weekday_hours() -> Value {
    let weekdays = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"];
    json!(
        weekdays
            .iter()
            .map(|day| json!({"day": day, "start": "08:00:00", "end": "18:00:00"}))
            .collect::<Vec<_>>()
    )
}

/// The 30 days measured, from the first Monday of next March, and the weekdays among them.
fn thirty_days() -> (Vec<NaiveDate>, Vec<NaiveDate>) {
    let first =
        NaiveDate::from_weekday_of_month_opt(Utc::now().year() + 1, 3, Weekday::Mon, 1).unwrap();
    let days: Vec<NaiveDate> = (0..30).map(|n| first + Duration::days(n)).collect();
    let weekdays = days
        .iter()
        .copied()
        .filter(|day| day.weekday().num_days_from_monday() < 5)
        .collect();
    (days, weekdays)
}

/// Books the clinic's patient with `provider` for a visit of `type_id` at `start`, as the front
/// desk.
async fn book(app: &TestApp, clinic: &ApiClinic, (provider, type_id): (Uuid, &str), start: String) {
    app.graphql(
        Some(clinic.token(Role::FrontDesk)),
        "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
        json!({"i": {"patientId": clinic.patient_id, "providerId": provider, "typeId": type_id, "start": start}}),
    )
    .await
    .ok();
}

/// `availableSlots` of `provider` for `type_id`, one call per day of `days`, five rounds; prints
/// p50 and p99 under `label` and returns the starts offered in a round.
async fn measure_slots(
    app: &TestApp,
    clinic: &ApiClinic,
    (provider, type_id): (Uuid, &str),
    days: &[NaiveDate],
    label: &str,
) -> usize {
    let mut samples = Vec::new();
    let mut offered = 0;
    for _round in 0..5 {
        offered = 0;
        for day in days {
            let started = Instant::now();
            let response = app
                .graphql(
                    Some(clinic.token(Role::FrontDesk)),
                    "query($p: UUID!, $d: NaiveDate!, $t: UUID!) { availableSlots(providerId: $p, date: $d, typeId: $t) }",
                    json!({"p": provider, "d": day, "t": type_id}),
                )
                .await;
            samples.push(started.elapsed());
            offered += response.ok()["availableSlots"].as_array().unwrap().len();
        }
    }
    samples.sort();
    println!(
        "{label}, one call per day of a 30-day range ({} calls): p50 {:.1} ms, p99 {:.1} ms",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99)
    );
    offered
}

/// Five 52-week series of `type_id` on Mondays from `first`, one at each of `hours` (UTC); prints
/// the median and slowest under `label` and returns each series' occurrences.
async fn measure_series(
    app: &TestApp,
    clinic: &ApiClinic,
    (type_id, first): (&str, NaiveDate),
    hours: [u32; 5],
    label: &str,
) -> Vec<Vec<Value>> {
    let mut times = Vec::new();
    let mut booked_series = Vec::new();
    for hour in hours {
        let mut request = weekly_series(clinic, first, 52);
        request["i"]["firstStart"] = json!(format!("{first}T{hour:02}:00:00Z"));
        request["i"]["typeId"] = json!(type_id);
        let started = Instant::now();
        let booked = app
            .graphql(
                Some(clinic.token(Role::FrontDesk)),
                "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { appointments { id roomId } } }",
                request,
            )
            .await;
        times.push(started.elapsed());
        let occurrences = booked.ok()["bookSeries"]["appointments"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(occurrences.len(), 52);
        booked_series.push(occurrences);
    }
    times.sort();
    println!(
        "{label} (5 series): median {:.0} ms, slowest {:.0} ms",
        percentile(&times, 0.5),
        percentile(&times, 1.0)
    );
    booked_series
}

#[tokio::test]
async fn available_slots_over_thirty_days_and_a_52_week_series_are_measured() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    let consultation = clinic.type_id.to_string();
    app.set_working_hours(&clinic, provider, weekday_hours())
        .await;
    let (days, weekdays) = thirty_days();
    for day in &weekdays {
        for hour in [9, 11, 14] {
            book(
                &app,
                &clinic,
                (provider, &consultation),
                format!("{day}T{hour:02}:00:00Z"),
            )
            .await;
        }
    }
    app.graphql(
        Some(clinic.token(Role::FrontDesk)),
        "mutation($i: AddTimeOffInput!) { addTimeOff(input: $i) { timeOff { id } } }",
        json!({"i": {"providerId": provider, "firstDay": days[8], "lastDay": days[10], "reason": "Leave"}}),
    )
    .await
    .ok();

    let offered = measure_slots(
        &app,
        &clinic,
        (provider, &consultation),
        &days,
        "availableSlots",
    )
    .await;
    // 22 weekdays, 3 of them on leave; 39 half-hour starts in 08:00–18:00, less 3 bookings
    // taking 3 starts each.
    assert_eq!(offered, 19 * (39 - 9));

    let later = days[0] + Duration::weeks(5);
    measure_series(
        &app,
        &clinic,
        (&consultation, later),
        [8, 10, 12, 15, 16],
        "bookSeries of 52 weekly occurrences",
    )
    .await;
}

/// The same 30 days for a type that needs an Exam room, in a clinic of three Exam rooms whose
/// three other providers fill every one of them at 10:00 each weekday: a start is offered only
/// when the provider and a room are free. Then 52-week series that take a room each week.
#[tokio::test]
async fn available_slots_with_a_room_kind_over_thirty_days_and_a_52_week_series_in_rooms_are_measured()
 {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    app.set_working_hours(&clinic, provider, weekday_hours())
        .await;
    let mut rooms = Vec::new();
    for name in ["Exam A", "Exam B", "Exam C"] {
        rooms.push(app.create_room(&clinic, name, Some("Exam")).await);
    }
    let physical = app.create_type_needing_room(&clinic, 30, "Exam").await;
    let mut colleagues = Vec::new();
    for name in ["drb", "drc", "drd"] {
        colleagues.push(app.create_provider(&clinic, name, weekday_hours()).await);
    }
    let (days, weekdays) = thirty_days();
    for day in &weekdays {
        for hour in [9, 11, 14] {
            book(
                &app,
                &clinic,
                (provider, &physical),
                format!("{day}T{hour:02}:00:00Z"),
            )
            .await;
        }
        for colleague in &colleagues {
            book(
                &app,
                &clinic,
                (*colleague, &physical),
                format!("{day}T10:00:00Z"),
            )
            .await;
        }
    }

    let label = "availableSlots with a room kind (3 rooms)";
    let offered = measure_slots(&app, &clinic, (provider, &physical), &days, label).await;
    // 22 weekdays; 39 half-hour starts in 08:00–18:00, less 3 for each of the provider's three
    // visits and 3 more for 10:00, when every Exam room is taken.
    assert_eq!(offered, 22 * (39 - 9 - 3));

    let later = days[0] + Duration::weeks(5);
    let label = "bookSeries of 52 weekly occurrences in rooms";
    let booked = measure_series(
        &app,
        &clinic,
        (&physical, later),
        [8, 12, 15, 16, 17],
        label,
    )
    .await;
    assert!(
        booked
            .iter()
            .flatten()
            .all(|occurrence| occurrence["roomId"] == rooms[0].as_str()),
        "the hours differ, so every occurrence takes the first room by name"
    );
}

//! The figures of issue 17, printed for the note: `availableSlots` for each day of a 30-day
//! range for a provider with weekday hours, bookings, time off and a closure (p50/p99), and
//! `bookSeries` of 52 weekly occurrences (ms). Each also asserts what it measured is right.
//! Run it alone (`cargo test --test integration clinic_week_figures -- --nocapture`): the
//! numbers are of this machine, with whatever else runs on it.

use std::time::{Duration as Elapsed, Instant};

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use hpms::foundation::role::Role;
use serde_json::json;
use uuid::Uuid;

use crate::api::recurring_series::weekly_series;
use crate::helpers::TestApp;

fn percentile(sorted: &[Elapsed], fraction: f64) -> f64 {
    let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::test]
async fn available_slots_over_thirty_days_and_a_52_week_series_are_measured() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    let weekdays = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"];
    let hours: Vec<_> = weekdays
        .iter()
        .map(|day| json!({"day": day, "start": "08:00:00", "end": "18:00:00"}))
        .collect();
    app.set_working_hours(&clinic, provider, json!(hours)).await;
    let first =
        NaiveDate::from_weekday_of_month_opt(Utc::now().year() + 1, 3, Weekday::Mon, 1).unwrap();
    let days: Vec<NaiveDate> = (0..30).map(|n| first + Duration::days(n)).collect();
    for day in days
        .iter()
        .filter(|day| day.weekday().num_days_from_monday() < 5)
    {
        for hour in [9, 11, 14] {
            app.book(&clinic, provider, &format!("{day}T{hour:02}:00:00Z"))
                .await
                .ok();
        }
    }
    app.graphql(
        Some(clinic.token(Role::FrontDesk)),
        "mutation($i: AddTimeOffInput!) { addTimeOff(input: $i) { timeOff { id } } }",
        json!({"i": {"providerId": provider, "firstDay": days[8], "lastDay": days[10], "reason": "Leave"}}),
    )
    .await
    .ok();

    let mut samples = Vec::new();
    let mut offered = 0;
    for _round in 0..5 {
        offered = 0;
        for day in &days {
            let started = Instant::now();
            let response = app
                .graphql(
                    Some(clinic.token(Role::FrontDesk)),
                    "query($p: UUID!, $d: NaiveDate!, $t: UUID!) { availableSlots(providerId: $p, date: $d, typeId: $t) }",
                    json!({"p": provider, "d": day, "t": clinic.type_id}),
                )
                .await;
            samples.push(started.elapsed());
            offered += response.ok()["availableSlots"].as_array().unwrap().len();
        }
    }
    // 22 weekdays, 3 of them on leave; 39 half-hour starts in 08:00–18:00, less 3 bookings
    // taking 3 starts each.
    assert_eq!(offered, 19 * (39 - 9));
    samples.sort();
    println!(
        "availableSlots, one call per day of a 30-day range ({} calls): p50 {:.1} ms, p99 {:.1} ms",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99)
    );

    let later = first + Duration::weeks(5);
    let mut series_times = Vec::new();
    for hour in [8, 10, 12, 15, 16] {
        let mut request = weekly_series(&clinic, later, 52);
        request["i"]["firstStart"] = json!(format!("{later}T{hour:02}:00:00Z"));
        let started = Instant::now();
        let booked = app
            .graphql(
                Some(clinic.token(Role::FrontDesk)),
                "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { appointments { id } } }",
                request,
            )
            .await;
        series_times.push(started.elapsed());
        assert_eq!(
            booked.ok()["bookSeries"]["appointments"]
                .as_array()
                .unwrap()
                .len(),
            52
        );
    }
    series_times.sort();
    println!(
        "bookSeries of 52 weekly occurrences (5 series): median {:.0} ms, slowest {:.0} ms",
        percentile(&series_times, 0.5),
        percentile(&series_times, 1.0)
    );
}

/// Creates a provider working weekdays 08:00–18:00; their id.
async fn weekday_provider(app: &TestApp, clinic: &crate::helpers::ApiClinic, name: &str) -> Uuid {
    let created = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
            json!({"i": {"username": name, "password": "a long enough password", "role": "PROVIDER"}}),
        )
        .await;
    let id = created.ok()["createUser"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.set_working_hours(clinic, id, weekday_hours()).await;
    id
}

fn weekday_hours() -> serde_json::Value {
    let weekdays = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"];
    json!(
        weekdays
            .iter()
            .map(|day| json!({"day": day, "start": "08:00:00", "end": "18:00:00"}))
            .collect::<Vec<_>>()
    )
}

/// The same 30 days for a type that needs an Exam room, in a clinic of three Exam rooms whose
/// three other providers fill every one of them at 10:00 each weekday: a start is offered only
/// when the provider and a room are free. Then a 52-week series that takes a room each week.
#[tokio::test]
async fn available_slots_with_a_room_kind_over_thirty_days_and_a_52_week_series_in_rooms_are_measured()
 {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = clinic.token(Role::ClinicAdmin);
    let provider = clinic.user(Role::Provider);
    app.set_working_hours(&clinic, provider, weekday_hours())
        .await;
    let mut rooms = Vec::new();
    for name in ["Exam A", "Exam B", "Exam C"] {
        let created = app
            .graphql(
                Some(admin),
                "mutation($n: String!) { createRoom(input: {name: $n, kind: \"Exam\"}) { id } }",
                json!({"n": name}),
            )
            .await;
        rooms.push(
            created.ok()["createRoom"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let physical = app
        .graphql(
            Some(admin),
            "mutation { createAppointmentType(input: {name: \"Physical\", durationMinutes: 30, price: \"90.00\", roomKind: \"Exam\"}) { id } }",
            json!({}),
        )
        .await;
    let physical = physical.ok()["createAppointmentType"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut colleagues = Vec::new();
    for name in ["drb", "drc", "drd"] {
        colleagues.push(weekday_provider(&app, &clinic, name).await);
    }
    const BOOK: &str = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }";
    let book = |who: Uuid, start: String| {
        let app = &app;
        let clinic = &clinic;
        let physical = physical.clone();
        async move {
            app.graphql(
                Some(clinic.token(Role::FrontDesk)),
                BOOK,
                json!({"i": {"patientId": clinic.patient_id, "providerId": who, "typeId": physical, "start": start}}),
            )
            .await
            .ok();
        }
    };
    let first =
        NaiveDate::from_weekday_of_month_opt(Utc::now().year() + 1, 3, Weekday::Mon, 1).unwrap();
    let days: Vec<NaiveDate> = (0..30).map(|n| first + Duration::days(n)).collect();
    for day in days
        .iter()
        .filter(|day| day.weekday().num_days_from_monday() < 5)
    {
        for hour in [9, 11, 14] {
            book(provider, format!("{day}T{hour:02}:00:00Z")).await;
        }
        for colleague in &colleagues {
            book(*colleague, format!("{day}T10:00:00Z")).await;
        }
    }

    let mut samples = Vec::new();
    let mut offered = 0;
    for _round in 0..5 {
        offered = 0;
        for day in &days {
            let started = Instant::now();
            let response = app
                .graphql(
                    Some(clinic.token(Role::FrontDesk)),
                    "query($p: UUID!, $d: NaiveDate!, $t: UUID!) { availableSlots(providerId: $p, date: $d, typeId: $t) }",
                    json!({"p": provider, "d": day, "t": physical}),
                )
                .await;
            samples.push(started.elapsed());
            offered += response.ok()["availableSlots"].as_array().unwrap().len();
        }
    }
    // 22 weekdays; 39 half-hour starts in 08:00–18:00, less 3 for each of the provider's three
    // visits and 3 more for 10:00, when every Exam room is taken.
    assert_eq!(offered, 22 * (39 - 9 - 3));
    samples.sort();
    println!(
        "availableSlots with a room kind (3 rooms), one call per day of a 30-day range ({} calls): p50 {:.1} ms, p99 {:.1} ms",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99)
    );

    let later = first + Duration::weeks(5);
    let mut series_times = Vec::new();
    for hour in [8, 12, 15, 16, 17] {
        let mut request = weekly_series(&clinic, later, 52);
        request["i"]["firstStart"] = json!(format!("{later}T{hour:02}:00:00Z"));
        request["i"]["typeId"] = json!(physical);
        let started = Instant::now();
        let booked = app
            .graphql(
                Some(clinic.token(Role::FrontDesk)),
                "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { appointments { roomId } } }",
                request,
            )
            .await;
        series_times.push(started.elapsed());
        let occurrences = booked.ok()["bookSeries"]["appointments"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(occurrences.len(), 52);
        assert!(
            occurrences
                .iter()
                .all(|occurrence| occurrence["roomId"] == rooms[0].as_str())
        );
    }
    series_times.sort();
    println!(
        "bookSeries of 52 weekly occurrences in rooms (5 series): median {:.0} ms, slowest {:.0} ms",
        percentile(&series_times, 0.5),
        percentile(&series_times, 1.0)
    );
}

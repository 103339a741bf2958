//! `bookSeries` books a recurring visit all or nothing: every occurrence is judged by the
//! database's own no-double-booking constraint, the working hours and time off, and a refusal
//! lists every occurrence that cannot be booked while writing nothing; of two concurrent series
//! for the same provider and times exactly one is booked.

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use hpms::foundation::role::Role;
use serde_json::{Value, json};

use crate::helpers::{ApiClinic, TestApp, count};

const BOOK_SERIES: &str = "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { seriesId appointments { id start seriesId } } }";

/// A Monday in February next year: ahead whenever the test runs, with 12 weeks of room.
fn first_monday() -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(Utc::now().year() + 1, 2, Weekday::Mon, 1).unwrap()
}

pub fn weekly_series(clinic: &ApiClinic, first: NaiveDate, count: i64) -> Value {
    json!({"i": {"patientId": clinic.patient_id, "providerId": clinic.user(Role::Provider),
                 "typeId": clinic.type_id, "firstStart": format!("{first}T09:00:00Z"),
                 "rule": {"everyWeeks": 1, "days": ["MONDAY"], "count": count}}})
}

async fn appointments_and_series(app: &TestApp, clinic: &ApiClinic) -> (i64, i64) {
    let tx = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    (
        count(&tx, "appointments").await,
        count(&tx, "appointment_series").await,
    )
}

#[tokio::test]
async fn a_twelve_week_series_with_three_clashes_is_refused_listing_all_three_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    let first = first_monday();
    let mut clashing = Vec::new();
    for week in [2, 5, 11] {
        let day = first + Duration::weeks(week);
        app.book(&clinic, provider, &format!("{day}T09:15:00Z"))
            .await
            .ok();
        clashing.push(format!("{day} 09:00:00 UTC"));
    }
    let before = appointments_and_series(&app, &clinic).await;
    let events_before = app.latest_event_id(&clinic).await;

    let refused = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            BOOK_SERIES,
            weekly_series(&clinic, first, 12),
        )
        .await;
    assert_eq!(refused.code(), "CONFLICT");
    let listed: Vec<String> = refused.errors()[0]["extensions"]["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|conflict| conflict.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), 3, "{listed:?}");
    for (conflict, start) in listed.iter().zip(&clashing) {
        assert!(
            conflict.starts_with(start) && conflict.contains("already booked"),
            "{conflict}"
        );
    }
    assert!(
        refused.errors()[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("3 of the series' 12 occurrences cannot be booked")
    );
    assert_eq!(appointments_and_series(&app, &clinic).await, before);
    assert_eq!(app.latest_event_id(&clinic).await, events_before);
}

#[tokio::test]
async fn a_twelve_week_series_without_clashes_books_twelve_weekly_occurrences() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let first = first_monday();
    let booked = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            BOOK_SERIES,
            weekly_series(&clinic, first, 12),
        )
        .await;
    let series = &booked.ok()["bookSeries"];
    let appointments = series["appointments"].as_array().unwrap();
    assert_eq!(appointments.len(), 12);
    for (week, appointment) in appointments.iter().enumerate() {
        let day = first + Duration::weeks(week as i64);
        assert_eq!(appointment["start"], format!("{day}T09:00:00+00:00"));
        assert_eq!(appointment["seriesId"], series["seriesId"]);
    }
    assert_eq!(appointments_and_series(&app, &clinic).await, (12, 1));
}

#[tokio::test]
async fn a_series_into_time_off_lists_it_with_its_reason() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let first = first_monday();
    let away = first + Duration::weeks(1);
    app.graphql(
        Some(clinic.token(Role::FrontDesk)),
        "mutation($i: AddTimeOffInput!) { addTimeOff(input: $i) { timeOff { id } } }",
        json!({"i": {"providerId": clinic.user(Role::Provider), "firstDay": away, "reason": "Holiday"}}),
    )
    .await
    .ok();
    let refused = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            BOOK_SERIES,
            weekly_series(&clinic, first, 4),
        )
        .await;
    assert_eq!(refused.code(), "CONFLICT");
    let conflicts = refused.errors()[0]["extensions"]["conflicts"].clone();
    assert_eq!(conflicts.as_array().unwrap().len(), 1, "{conflicts}");
    assert!(conflicts[0].as_str().unwrap().contains("Holiday"));
}

#[tokio::test]
async fn two_concurrent_series_for_the_same_provider_and_times_leave_exactly_one() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let first = first_monday();
    let request = weekly_series(&clinic, first, 12);
    let (one, other) = tokio::join!(
        app.graphql(
            Some(clinic.token(Role::FrontDesk)),
            BOOK_SERIES,
            request.clone()
        ),
        app.graphql(Some(clinic.token(Role::Provider)), BOOK_SERIES, request),
    );
    let mut codes = [one.codes(), other.codes()];
    codes.sort();
    assert_eq!(codes, [vec![], vec!["CONFLICT".to_owned()]]);
    assert_eq!(appointments_and_series(&app, &clinic).await, (12, 1));
}

#[tokio::test]
async fn cancelling_from_an_occurrence_cancels_it_and_every_later_one_at_its_version() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let booked = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            BOOK_SERIES,
            weekly_series(&clinic, first_monday(), 6),
        )
        .await;
    let ids: Vec<Value> = booked.ok()["bookSeries"]["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|appointment| appointment["id"].clone())
        .collect();
    let cancel = "mutation($id: UUID!, $v: Int!) { cancelSeriesFrom(id: $id, expectedVersion: $v, reason: \"Moved away\", category: PATIENT_REQUEST) { id status } }";
    let stale = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            cancel,
            json!({"id": ids[3], "v": 7}),
        )
        .await;
    assert_eq!(stale.code(), "CONFLICT");

    let cancelled = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            cancel,
            json!({"id": ids[3], "v": 1}),
        )
        .await;
    let cancelled = cancelled.ok()["cancelSeriesFrom"]
        .as_array()
        .unwrap()
        .clone();
    let cancelled_ids: Vec<Value> = cancelled.iter().map(|row| row["id"].clone()).collect();
    assert_eq!(cancelled_ids, ids[3..]);
    assert!(cancelled.iter().all(|row| row["status"] == "CANCELLED"));
    for earlier in &ids[..3] {
        let still = app
            .graphql(
                Some(clinic.token(Role::FrontDesk)),
                "query($id: UUID!) { appointment(id: $id) { status } }",
                json!({"id": earlier}),
            )
            .await;
        assert_eq!(still.ok()["appointment"]["status"], "SCHEDULED");
    }
}

#[tokio::test]
async fn moving_from_an_occurrence_moves_every_later_one_by_as_much_or_none() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let first = first_monday();
    let booked = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            BOOK_SERIES,
            weekly_series(&clinic, first, 4),
        )
        .await;
    let ids: Vec<Value> = booked.ok()["bookSeries"]["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|appointment| appointment["id"].clone())
        .collect();
    let tuesday = |week: i64| first + Duration::weeks(week) + Duration::days(1);
    app.book(
        &clinic,
        clinic.user(Role::Provider),
        &format!("{}T10:00:00Z", tuesday(3)),
    )
    .await
    .ok();
    let reschedule = "mutation($i: RescheduleSeriesFromInput!) { rescheduleSeriesFrom(input: $i) { id start version } }";
    let move_to = |version: i64, start: String| json!({"i": {"id": ids[1], "expectedVersion": version, "start": start}});

    let refused = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            reschedule,
            move_to(1, format!("{}T10:00:00Z", tuesday(1))),
        )
        .await;
    assert_eq!(refused.code(), "CONFLICT");
    let conflicts = refused.errors()[0]["extensions"]["conflicts"].clone();
    assert_eq!(conflicts.as_array().unwrap().len(), 1, "{conflicts}");
    assert!(
        conflicts[0]
            .as_str()
            .unwrap()
            .starts_with(&format!("{} 10:00:00 UTC", tuesday(3)))
    );

    let moved = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            reschedule,
            move_to(1, format!("{}T11:00:00Z", tuesday(1))),
        )
        .await;
    let starts: Vec<Value> = moved.ok()["rescheduleSeriesFrom"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["start"].clone())
        .collect();
    let expected: Vec<Value> = (1..4)
        .map(|week| json!(format!("{}T11:00:00+00:00", tuesday(week))))
        .collect();
    assert_eq!(starts, expected);

    // A week later: each occurrence moves onto the times the next one held.
    let week_later = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            reschedule,
            move_to(2, format!("{}T11:00:00Z", tuesday(2))),
        )
        .await;
    assert_eq!(
        week_later.ok()["rescheduleSeriesFrom"][2]["start"],
        format!("{}T11:00:00+00:00", tuesday(4))
    );
    let untouched = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "query($id: UUID!) { appointment(id: $id) { start } }",
            json!({"id": ids[0]}),
        )
        .await;
    assert_eq!(
        untouched.ok()["appointment"]["start"],
        format!("{first}T09:00:00+00:00")
    );
}

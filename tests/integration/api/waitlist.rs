//! The waitlist (issue 17, item 5): a freed slot is offered to the waiting patients it fits —
//! waiting for that provider or any, for a type no longer than the slot, in a window containing
//! it — oldest first; the cancellation or reschedule that frees it puts a SLOT_FREED event in the
//! feed, with the provider, times and type and no patient; booking from an entry ends it in the
//! booking's transaction, and only a booking that succeeds does.

use hpms::foundation::role::Role::{ClinicAdmin, FrontDesk, Provider};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ApiClinic, TestApp};

const ADD: &str = "mutation($i: AddToWaitlistInput!) { addToWaitlist(input: $i) { id } }";
const MATCHES: &str = "query($p: UUID!, $s: DateTime!, $e: DateTime!) {
    waitlistMatches(providerId: $p, start: $s, end: $e) { id patientId } }";
const BOOK: &str = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }";
const EVENTS: &str = "query($a: ID!) { appointmentEvents(after: $a) {
    kind appointmentId providerId patientId typeId startsAt endsAt } }";

/// Adds `patient` to the waitlist as the front desk; the entry's id.
async fn wait(app: &TestApp, clinic: &ApiClinic, patient: Uuid, window: Value) -> String {
    let mut input = json!({"patientId": patient, "typeId": clinic.type_id});
    input
        .as_object_mut()
        .unwrap()
        .extend(window.as_object().unwrap().clone());
    app.graphql(Some(clinic.token(FrontDesk)), ADD, json!({ "i": input }))
        .await
        .ok()["addToWaitlist"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Monday 6 January 2031, 08:00 to 18:00 UTC (the clinic's zone is UTC in the tests' clinics).
fn monday() -> Value {
    json!({"start": "2031-01-06T08:00:00Z", "end": "2031-01-06T18:00:00Z"})
}

async fn book(app: &TestApp, clinic: &ApiClinic, start: &str) -> String {
    app.book(clinic, clinic.user(Provider), start).await.ok()["bookAppointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn cancel(app: &TestApp, clinic: &ApiClinic, id: &str) {
    app.graphql(
        Some(clinic.token(FrontDesk)),
        "mutation($id: UUID!) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"Feeling better\") { id } }",
        json!({"id": id}),
    )
    .await
    .ok();
}

async fn matches(app: &TestApp, clinic: &ApiClinic, (start, end): (&str, &str)) -> Vec<String> {
    let response = app
        .graphql(
            Some(clinic.token(FrontDesk)),
            MATCHES,
            json!({"p": clinic.user(Provider), "s": start, "e": end}),
        )
        .await;
    response.ok()["waitlistMatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn events_since(app: &TestApp, clinic: &ApiClinic, after: i64) -> Vec<Value> {
    let response = app
        .graphql(
            Some(clinic.token(FrontDesk)),
            EVENTS,
            json!({"a": after.to_string()}),
        )
        .await;
    response.ok()["appointmentEvents"]
        .as_array()
        .unwrap()
        .clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect()
}

fn instant(text: &Value) -> chrono::DateTime<chrono::Utc> {
    text.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_cancellation_offers_the_waitlisted_patients_it_fits_oldest_first_and_emits_the_freed_slot_event()
 {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Provider);
    let long_visit = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "mutation { createAppointmentType(input: {name: \"Long visit\", durationMinutes: 60, price: \"120.00\"}) { id } }",
            json!({}),
        )
        .await;
    let long_visit = long_visit.ok()["createAppointmentType"]["id"].clone();
    let mut patients = Vec::new();
    for name in ["Grace", "Edsger", "Barbara", "Donald", "Frances"] {
        patients.push(app.create_patient(&clinic, name, "Waiting").await);
    }

    let any_provider = wait(&app, &clinic, patients[0], monday()).await;
    let mut this_provider = monday();
    this_provider["providerId"] = json!(provider);
    let this_provider = wait(&app, &clinic, patients[1], this_provider).await;
    // Waiting on Tuesday only, for a longer visit, and one who no longer waits.
    wait(
        &app,
        &clinic,
        patients[2],
        json!({"firstDay": "2031-01-07"}),
    )
    .await;
    let mut longer = monday();
    longer["typeId"] = long_visit;
    wait(&app, &clinic, patients[3], longer).await;
    let removed = wait(&app, &clinic, patients[4], monday()).await;
    app.graphql(
        Some(clinic.token(FrontDesk)),
        "mutation($id: UUID!) { removeFromWaitlist(id: $id) }",
        json!({"id": removed}),
    )
    .await
    .ok();

    let after = app.latest_event_id(&clinic).await;
    let appointment = book(&app, &clinic, "2031-01-06T10:00:00Z").await;
    cancel(&app, &clinic, &appointment).await;

    assert_eq!(
        matches(
            &app,
            &clinic,
            ("2031-01-06T10:00:00Z", "2031-01-06T10:30:00Z")
        )
        .await,
        [any_provider, this_provider],
        "the two entries the half-hour fits, the older first"
    );
    let events = events_since(&app, &clinic, after).await;
    assert_eq!(kinds(&events), ["BOOKED", "CANCELLED", "SLOT_FREED"]);
    let freed = &events[2];
    assert_eq!(freed["providerId"], json!(provider));
    assert_eq!(freed["typeId"], json!(clinic.type_id));
    assert_eq!(freed["appointmentId"], json!(appointment));
    assert_eq!(
        instant(&freed["startsAt"]),
        instant(&json!("2031-01-06T10:00:00Z"))
    );
    assert_eq!(
        instant(&freed["endsAt"]),
        instant(&json!("2031-01-06T10:30:00Z"))
    );
    assert_eq!(
        freed["patientId"],
        Value::Null,
        "the event names no patient"
    );
}

#[tokio::test]
async fn a_reschedule_frees_the_old_slot_for_the_waitlist() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let waiting = app.create_patient(&clinic, "Grace", "Waiting").await;
    let entry = wait(&app, &clinic, waiting, monday()).await;
    let appointment = book(&app, &clinic, "2031-01-06T11:00:00Z").await;
    let after = app.latest_event_id(&clinic).await;

    app.graphql(
        Some(clinic.token(FrontDesk)),
        "mutation($id: UUID!) { rescheduleAppointment(input: {id: $id, expectedVersion: 1, start: \"2031-01-08T11:00:00Z\"}) { id } }",
        json!({"id": appointment}),
    )
    .await
    .ok();

    let events = events_since(&app, &clinic, after).await;
    assert_eq!(kinds(&events), ["RESCHEDULED", "SLOT_FREED"]);
    assert_eq!(
        instant(&events[1]["startsAt"]),
        instant(&json!("2031-01-06T11:00:00Z"))
    );
    assert_eq!(
        matches(
            &app,
            &clinic,
            ("2031-01-06T11:00:00Z", "2031-01-06T11:30:00Z")
        )
        .await,
        [entry]
    );
}

#[tokio::test]
async fn a_cancellation_that_no_waiting_patient_fits_announces_no_freed_slot() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let waiting = app.create_patient(&clinic, "Grace", "Waiting").await;
    wait(&app, &clinic, waiting, json!({"firstDay": "2031-01-07"})).await;
    let after = app.latest_event_id(&clinic).await;

    let appointment = book(&app, &clinic, "2031-01-06T10:00:00Z").await;
    cancel(&app, &clinic, &appointment).await;

    assert_eq!(
        kinds(&events_since(&app, &clinic, after).await),
        ["BOOKED", "CANCELLED"]
    );
}

#[tokio::test]
async fn booking_from_the_waitlist_ends_the_entry_and_a_failed_booking_keeps_it() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let waiting = app.create_patient(&clinic, "Grace", "Waiting").await;
    let entry = wait(&app, &clinic, waiting, monday()).await;
    let taken = book(&app, &clinic, "2031-01-06T09:00:00Z").await;
    let booking = |start: &str| {
        json!({"i": {"patientId": waiting, "providerId": clinic.user(Provider),
                     "typeId": clinic.type_id, "start": start, "waitlistEntryId": entry}})
    };

    let clash = app
        .graphql(
            Some(clinic.token(FrontDesk)),
            BOOK,
            booking("2031-01-06T09:00:00Z"),
        )
        .await;
    assert_eq!(clash.code(), "CONFLICT", "{taken} holds that time");
    let waitlist = "{ waitlist { edges { node { id } } } }";
    let listed = app
        .graphql(Some(clinic.token(FrontDesk)), waitlist, json!({}))
        .await;
    assert_eq!(
        listed.ok()["waitlist"]["edges"][0]["node"]["id"],
        json!(entry)
    );

    let booked = app
        .graphql(
            Some(clinic.token(FrontDesk)),
            BOOK,
            booking("2031-01-06T10:00:00Z"),
        )
        .await;
    booked.ok();
    let listed = app
        .graphql(Some(clinic.token(FrontDesk)), waitlist, json!({}))
        .await;
    assert_eq!(listed.ok()["waitlist"]["edges"], json!([]));
    let again = app
        .graphql(
            Some(clinic.token(FrontDesk)),
            BOOK,
            booking("2031-01-06T11:00:00Z"),
        )
        .await;
    assert_eq!(
        again.code(),
        "NOT_FOUND",
        "the entry ended with the booking"
    );
}

#[tokio::test]
async fn booking_another_patient_from_an_entry_is_refused_and_books_nothing() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let waiting = app.create_patient(&clinic, "Grace", "Waiting").await;
    let entry = wait(&app, &clinic, waiting, monday()).await;
    let before = app.footprint(&clinic).await;

    let response = app
        .graphql(
            Some(clinic.token(FrontDesk)),
            BOOK,
            json!({"i": {"patientId": clinic.patient_id, "providerId": clinic.user(Provider),
                         "typeId": clinic.type_id, "start": "2031-01-06T10:00:00Z",
                         "waitlistEntryId": entry}}),
        )
        .await;

    assert_eq!(response.code(), "BAD_USER_INPUT");
    assert_eq!(response.field(), "input.waitlistEntryId");
    assert_eq!(app.footprint(&clinic).await, before);
}

#[tokio::test]
async fn the_waitlist_pages_oldest_first() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let mut entries = Vec::new();
    for name in ["Grace", "Edsger", "Barbara"] {
        let patient = app.create_patient(&clinic, name, "Waiting").await;
        entries.push(wait(&app, &clinic, patient, monday()).await);
    }
    let page = "query($a: String) { waitlist(first: 2, after: $a) {
        edges { node { id } } pageInfo { hasNextPage endCursor } } }";

    let first = app
        .graphql(Some(clinic.token(Provider)), page, json!({"a": null}))
        .await;
    let first = &first.ok()["waitlist"];
    let second = app
        .graphql(
            Some(clinic.token(Provider)),
            page,
            json!({"a": first["pageInfo"]["endCursor"]}),
        )
        .await;
    let second = &second.ok()["waitlist"];

    let ids = |page: &Value| -> Vec<String> {
        page["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(first["pageInfo"]["hasNextPage"], json!(true));
    assert_eq!(ids(first), entries[..2]);
    assert_eq!(ids(second), entries[2..]);
    assert_eq!(second["pageInfo"]["hasNextPage"], json!(false));
}

#[tokio::test]
async fn cancelling_for_the_providers_time_off_frees_no_slot_to_offer() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let waiting = app.create_patient(&clinic, "Grace", "Waiting").await;
    wait(&app, &clinic, waiting, monday()).await;
    let appointment = book(&app, &clinic, "2031-01-06T10:00:00Z").await;
    app.graphql(
        Some(clinic.token(FrontDesk)),
        "mutation($i: AddTimeOffInput!) { addTimeOff(input: $i) { timeOff { id } } }",
        json!({"i": {"providerId": clinic.user(Provider), "start": "2031-01-06T09:00:00Z",
                     "end": "2031-01-06T12:00:00Z", "reason": "Dentist"}}),
    )
    .await
    .ok();
    let after = app.latest_event_id(&clinic).await;

    cancel(&app, &clinic, &appointment).await;

    assert_eq!(
        kinds(&events_since(&app, &clinic, after).await),
        ["CANCELLED"]
    );
    assert!(
        matches(
            &app,
            &clinic,
            ("2031-01-06T10:00:00Z", "2031-01-06T10:30:00Z")
        )
        .await
        .is_empty(),
        "the provider is away then"
    );
}

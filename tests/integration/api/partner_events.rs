//! Events that say what happened (issue 16): a booking, a reschedule, a status change and a
//! cancellation each record one event of their kind, with the appointment's patient, type and
//! times (and the times before, for a reschedule), the cancellation's category and reason, and
//! who acted; the subscription and `appointmentEvents` return the same events, and clients that
//! select only the original fields still get what they always did.

use hpms::foundation::role::Role::{ClinicAdmin, FrontDesk, Provider};
use serde_json::{Value, json};

use crate::helpers::subscriptions::{EVENT_FIELDS, EventSocket};
use crate::helpers::{ApiClinic, TestApp};

/// Every field of an event.
const ALL_FIELDS: &str = "id kind appointmentId providerId patientId typeId startsAt endsAt \
    previousStartsAt previousEndsAt oldStatus newStatus cancelReasonCategory cancelReason \
    actorKind occurredAt";

/// The `n`th hour-long slot from Monday 6 January 2031, so no two bookings of a test clash.
fn slot(n: i64) -> String {
    let monday: chrono::DateTime<chrono::Utc> = "2031-01-06T00:00:00Z".parse().unwrap();
    (monday + chrono::Duration::hours(n)).to_rfc3339()
}

/// The instant `text` (RFC 3339) names, so times compare whatever their notation.
fn instant(text: &Value) -> chrono::DateTime<chrono::Utc> {
    text.as_str()
        .unwrap_or_else(|| panic!("a time, not {text}"))
        .parse()
        .unwrap()
}

async fn book(app: &TestApp, clinic: &ApiClinic, n: i64) -> String {
    app.book(clinic, clinic.user(Provider), &slot(n)).await.ok()["bookAppointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_reschedule_a_cancellation_with_reason_and_a_completion_each_produce_one_event_of_their_kind()
 {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let after = app.latest_event_id(&clinic).await;
    let mut socket = EventSocket::open(app.address, "graphql-transport-ws").await;
    socket
        .init(json!({"token": clinic.token(FrontDesk)}))
        .await
        .unwrap();
    socket.start_selecting(Some(after), ALL_FIELDS).await;

    let moved = book(&app, &clinic, 0).await;
    app.graphql(
        Some(clinic.token(FrontDesk)),
        "mutation($id: UUID!, $s: DateTime!) { rescheduleAppointment(input: {id: $id, expectedVersion: 1, start: $s}) { id } }",
        json!({"id": moved, "s": slot(5)}),
    )
    .await
    .ok();
    let cancelled = book(&app, &clinic, 1).await;
    app.graphql(
        Some(clinic.token(FrontDesk)),
        "mutation($id: UUID!) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"Patient is travelling\", category: PATIENT_REQUEST) { cancelReasonCategory } }",
        json!({"id": cancelled}),
    )
    .await
    .ok();
    let completed = book(&app, &clinic, 2).await;
    for (version, status) in [(1, "ARRIVED"), (2, "IN_SESSION"), (3, "COMPLETED")] {
        app.set_status(&clinic, &completed, version, status)
            .await
            .ok();
    }

    let heard = socket.events(8).await;
    let polled = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            &format!("query($a: ID!) {{ appointmentEvents(after: $a) {{ {ALL_FIELDS} }} }}"),
            json!({"a": after.to_string()}),
        )
        .await;
    assert_eq!(
        polled.ok()["appointmentEvents"],
        json!(heard),
        "the query returns what the subscription delivered"
    );
    let kinds: Vec<(&str, &str)> = heard
        .iter()
        .map(|event| {
            (
                event["appointmentId"].as_str().unwrap(),
                event["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (moved.as_str(), "BOOKED"),
            (moved.as_str(), "RESCHEDULED"),
            (cancelled.as_str(), "BOOKED"),
            (cancelled.as_str(), "CANCELLED"),
            (completed.as_str(), "BOOKED"),
            (completed.as_str(), "STATUS_CHANGED"),
            (completed.as_str(), "STATUS_CHANGED"),
            (completed.as_str(), "STATUS_CHANGED"),
        ],
        "one event per change, of its kind"
    );
    for event in &heard {
        assert_eq!(event["providerId"], clinic.user(Provider).to_string());
        assert_eq!(event["patientId"], clinic.patient_id.to_string());
        assert_eq!(event["typeId"], clinic.type_id.to_string());
        assert_eq!(event["actorKind"], "USER");
        assert_eq!(
            instant(&event["endsAt"]) - instant(&event["startsAt"]),
            chrono::Duration::minutes(30),
            "{event}"
        );
    }

    let rescheduled = &heard[1];
    assert_eq!(instant(&rescheduled["startsAt"]), instant(&json!(slot(5))));
    assert_eq!(
        instant(&rescheduled["previousStartsAt"]),
        instant(&json!(slot(0)))
    );
    assert_eq!(
        instant(&rescheduled["previousEndsAt"]),
        instant(&json!(slot(0))) + chrono::Duration::minutes(30)
    );
    assert_eq!(
        (&rescheduled["oldStatus"], &rescheduled["newStatus"]),
        (&json!("SCHEDULED"), &json!("SCHEDULED")),
        "a move changes no status"
    );

    let cancellation = &heard[3];
    assert_eq!(cancellation["cancelReasonCategory"], "PATIENT_REQUEST");
    assert_eq!(cancellation["cancelReason"], "Patient is travelling");
    assert_eq!(instant(&cancellation["startsAt"]), instant(&json!(slot(1))));
    assert_eq!(cancellation["newStatus"], "CANCELLED");

    let completion = &heard[7];
    assert_eq!(
        (&completion["oldStatus"], &completion["newStatus"]),
        (&json!("IN_SESSION"), &json!("COMPLETED"))
    );
    assert_eq!(instant(&completion["startsAt"]), instant(&json!(slot(2))));
    for event in heard.iter().filter(|event| event["kind"] != "RESCHEDULED") {
        assert_eq!(
            (&event["previousStartsAt"], &event["previousEndsAt"]),
            (&Value::Null, &Value::Null),
            "only a reschedule has times before"
        );
    }
    for event in heard.iter().filter(|event| event["kind"] != "CANCELLED") {
        assert_eq!(
            (&event["cancelReasonCategory"], &event["cancelReason"]),
            (&Value::Null, &Value::Null),
            "only a cancellation has a reason"
        );
    }
}

#[tokio::test]
async fn a_reschedule_reaches_a_subscriber_that_selects_only_the_original_fields() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let (key, _) = app.issue_api_key(&clinic, "Calendar sync").await;
    let visit = book(&app, &clinic, 0).await;
    let after = app.latest_event_id(&clinic).await;
    let mut socket = EventSocket::subscribe(app.address, json!({"apiKey": key}), Some(after)).await;

    app.graphql(
        Some(clinic.token(FrontDesk)),
        "mutation($id: UUID!, $s: DateTime!) { rescheduleAppointment(input: {id: $id, expectedVersion: 1, start: $s}) { id } }",
        json!({"id": visit, "s": slot(3)}),
    )
    .await
    .ok();

    let event = socket.next_event().await;
    let names: Vec<&String> = event.as_object().unwrap().keys().collect();
    assert_eq!(
        names.len(),
        EVENT_FIELDS.split_whitespace().count(),
        "a client gets the fields it selected and no others: {event}"
    );
    assert_eq!(event["appointmentId"], visit.as_str());
    assert_eq!(
        (&event["oldStatus"], &event["newStatus"]),
        (&json!("SCHEDULED"), &json!("SCHEDULED"))
    );
}

#[tokio::test]
async fn a_cancellation_without_a_category_is_recorded_as_other() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let visit = book(&app, &clinic, 0).await;
    let after = app.latest_event_id(&clinic).await;
    let cancelled = app
        .graphql(
            Some(clinic.token(FrontDesk)),
            "mutation($id: UUID!) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"Clinic flooded\") { status cancelReason cancelReasonCategory } }",
            json!({"id": visit}),
        )
        .await;
    assert_eq!(
        cancelled.ok()["cancelAppointment"],
        json!({"status": "CANCELLED", "cancelReason": "Clinic flooded", "cancelReasonCategory": "OTHER"})
    );
    let events = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "query($a: ID!) { appointmentEvents(after: $a) { kind cancelReasonCategory cancelReason actorKind } }",
            json!({"a": after.to_string()}),
        )
        .await;
    assert_eq!(
        events.ok()["appointmentEvents"],
        json!([{"kind": "CANCELLED", "cancelReasonCategory": "OTHER", "cancelReason": "Clinic flooded", "actorKind": "USER"}])
    );
}

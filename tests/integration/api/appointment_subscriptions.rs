//! `appointmentStatusChanged` over WebSocket: every committed change reaches every subscriber of
//! its clinic exactly once, in commit order, across instances, reconnections and a lost LISTEN
//! connection; nothing reaches another clinic, and nothing is sent for what rolled back.

use std::net::SocketAddr;
use std::time::Duration;

use hpms::foundation::role::Role::{self, ClinicAdmin, FrontDesk, Provider};
use serde_json::{Value, json};

use crate::helpers::subscriptions::{EventSocket, event_id};
use crate::helpers::{ApiClinic, TestApp, eventually, scalar, set_status};

/// The `n`th hour-long slot from Monday 6 January 2031, so no two bookings of a test clash.
fn slot(n: i64) -> String {
    let monday: chrono::DateTime<chrono::Utc> = "2031-01-06T00:00:00Z".parse().unwrap();
    (monday + chrono::Duration::hours(n)).to_rfc3339()
}

/// Books slot `n` for the clinic's patient with its Provider; the appointment id.
async fn book(app: &TestApp, clinic: &ApiClinic, n: i64) -> String {
    app.book(clinic, clinic.user(Provider), &slot(n)).await.ok()["bookAppointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn as_user(clinic: &ApiClinic, role: Role) -> Value {
    json!({"token": clinic.token(role)})
}

/// (old status, new status) of each event.
fn transitions(events: &[Value]) -> Vec<(Value, Value)> {
    events
        .iter()
        .map(|event| (event["oldStatus"].clone(), event["newStatus"].clone()))
        .collect()
}

fn ids(events: &[Value]) -> Vec<i64> {
    events.iter().map(event_id).collect()
}

#[tokio::test]
async fn subscribers_on_two_instances_hear_every_change_in_commit_order() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let second: SocketAddr = app.another_instance().await;
    let after = app.latest_event_id(&clinic).await;
    let mut here =
        EventSocket::subscribe(app.address, as_user(&clinic, FrontDesk), Some(after)).await;
    let mut there = EventSocket::subscribe(second, as_user(&clinic, Provider), Some(after)).await;

    // One visit walked through its flow, and ten bookings committed concurrently.
    let visit = book(&app, &clinic, 0).await;
    for (version, status) in [(1, "ARRIVED"), (2, "IN_SESSION"), (3, "COMPLETED")] {
        app.set_status(&clinic, &visit, version, status).await.ok();
    }
    futures::future::join_all((1..=10).map(|n| book(&app, &clinic, n))).await;

    let heard_there = there.events(14).await;
    let heard_here = here.events(14).await;
    assert_eq!(
        ids(&heard_there),
        ((after + 1)..=(after + 14)).collect::<Vec<_>>()
    );
    assert_eq!(
        heard_here, heard_there,
        "both instances deliver the same events, in the same order"
    );
    assert_eq!(
        transitions(&heard_there[..4]),
        [
            (Value::Null, json!("SCHEDULED")),
            (json!("SCHEDULED"), json!("ARRIVED")),
            (json!("ARRIVED"), json!("IN_SESSION")),
            (json!("IN_SESSION"), json!("COMPLETED")),
        ]
    );
    assert!(
        heard_there[..4]
            .iter()
            .all(|event| event["appointmentId"] == visit.as_str())
    );
    assert!(
        heard_there
            .iter()
            .all(|event| event["providerId"] == clinic.user(Provider).to_string())
    );

    // Commit order is the database's: what the subscribers heard is what the table says.
    let polled = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "query($a: ID!) { appointmentEvents(after: $a) { id appointmentId providerId oldStatus newStatus occurredAt } }",
            json!({"a": after.to_string()}),
        )
        .await;
    assert_eq!(polled.ok()["appointmentEvents"], json!(heard_there));
}

#[tokio::test]
async fn events_carry_ids_times_and_statuses_but_no_name_or_contact_detail() {
    let app = TestApp::spawn().await;
    let fields = app
        .graphql(
            None,
            "{ __type(name: \"AppointmentStatusEvent\") { fields { name } } }",
            json!({}),
        )
        .await;
    let names: Vec<&str> = fields.ok()["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "id",
            "kind",
            "appointmentId",
            "providerId",
            "patientId",
            "typeId",
            "startsAt",
            "endsAt",
            "previousStartsAt",
            "previousEndsAt",
            "oldStatus",
            "newStatus",
            "cancelReasonCategory",
            "cancelReason",
            "actorKind",
            "occurredAt"
        ]
    );
}

#[tokio::test]
async fn a_clinic_hears_nothing_of_another_even_when_replaying_with_its_event_ids() {
    let app = TestApp::spawn().await;
    let north = app.clinic("north").await;
    let south = app.clinic("south").await;
    for n in 0..3 {
        book(&app, &north, n).await;
    }
    let south_visit = book(&app, &south, 0).await;
    let (south_key, _) = app.issue_api_key(&south, "South lab").await;

    // South replays from its beginning: its one event, though north has had three.
    let mut socket =
        EventSocket::subscribe(app.address, json!({"apiKey": south_key}), Some(0)).await;
    let first = socket.next_event().await;
    assert_eq!(event_id(&first), 1);
    assert_eq!(first["appointmentId"], south_visit.as_str());

    // North keeps changing; south's next event is its own.
    book(&app, &north, 3).await;
    app.set_status(&north, &book(&app, &north, 4).await, 1, "ARRIVED")
        .await
        .ok();
    app.set_status(&south, &south_visit, 1, "ARRIVED")
        .await
        .ok();
    let next = socket.next_event().await;
    assert_eq!(event_id(&next), 2);
    assert_eq!(next["appointmentId"], south_visit.as_str());
    assert_eq!(next["newStatus"], "ARRIVED");

    // A cursor south never had (north's latest) is refused, not waited on.
    let mut replay =
        EventSocket::subscribe(app.address, json!({"apiKey": south_key}), Some(6)).await;
    let error = replay.final_error().await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        !error.to_string().contains(&north.tenant_id.to_string()),
        "{error}"
    );
}

#[tokio::test]
async fn a_subscriber_resuming_after_its_last_event_gets_exactly_what_it_missed_then_live_events() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let after = app.latest_event_id(&clinic).await;
    let mut socket =
        EventSocket::subscribe(app.address, as_user(&clinic, FrontDesk), Some(after)).await;
    let visit = book(&app, &clinic, 0).await;
    let last_seen = event_id(&socket.next_event().await);
    socket.close().await;

    for (version, status) in [(1, "ARRIVED"), (2, "IN_SESSION"), (3, "COMPLETED")] {
        app.set_status(&clinic, &visit, version, status).await.ok();
    }
    let mut socket =
        EventSocket::subscribe(app.address, as_user(&clinic, FrontDesk), Some(last_seen)).await;
    let missed = socket.events(3).await;
    assert_eq!(ids(&missed), [last_seen + 1, last_seen + 2, last_seen + 3]);
    assert_eq!(
        transitions(&missed),
        [
            (json!("SCHEDULED"), json!("ARRIVED")),
            (json!("ARRIVED"), json!("IN_SESSION")),
            (json!("IN_SESSION"), json!("COMPLETED")),
        ]
    );

    let live = book(&app, &clinic, 1).await;
    let next = socket.next_event().await;
    assert_eq!(
        event_id(&next),
        last_seen + 4,
        "no duplicate between replay and live"
    );
    assert_eq!(next["appointmentId"], live.as_str());
}

#[tokio::test]
async fn every_event_arrives_exactly_once_while_the_listen_connection_is_killed() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let second = app.another_instance().await;
    let after = app.latest_event_id(&clinic).await;
    let mut subscribers = [
        EventSocket::subscribe(app.address, as_user(&clinic, FrontDesk), Some(after)).await,
        EventSocket::subscribe(second, as_user(&clinic, Provider), Some(after)).await,
    ];
    let bookings = 30;

    let producer = async {
        let mut terminated = Vec::new();
        for n in 0..bookings {
            if n % 10 == 5 {
                terminated.push(kill_listeners(&app).await);
            }
            book(&app, &clinic, n).await;
        }
        terminated
    };
    let consumers = futures::future::join_all(
        subscribers
            .iter_mut()
            .map(|socket| socket.events(bookings as usize)),
    );
    let (terminated, heard) = tokio::join!(producer, consumers);

    assert!(
        terminated[0] >= 1,
        "a LISTEN backend was terminated: {terminated:?}"
    );
    let expected: Vec<i64> = ((after + 1)..=(after + bookings)).collect();
    for events in heard {
        assert_eq!(ids(&events), expected, "every event once, in order");
    }

    // The last change commits as the listeners die, and nothing follows it: its NOTIFY is lost
    // (unless a listener is back first), so only catching up after reconnecting delivers it.
    // Both listeners must be back from the last kill for this one to find them.
    wait_for_listeners(&app, 2).await;
    let visit = book(&app, &clinic, bookings).await;
    let tx = app.db.begin(clinic.scope(Provider)).await;
    set_status(&tx, visit.parse().unwrap(), "Arrived")
        .await
        .unwrap();
    let killed: i64 = scalar(&tx, KILL_LISTENERS, []).await;
    tx.commit().await.unwrap();
    assert!(killed >= 1);
    for socket in &mut subscribers {
        let booked = socket.next_event().await;
        let arrived = socket.next_event().await;
        assert_eq!(
            ids(&[booked, arrived.clone()]),
            [after + bookings + 1, after + bookings + 2]
        );
        assert_eq!(arrived["newStatus"], "ARRIVED");
    }
}

const KILL_LISTENERS: &str = "select count(pg_terminate_backend(pid)) from pg_stat_activity
     where application_name = 'hpms-listener' and datname = current_database()";

/// Waits until `count` LISTEN backends are connected to this database. Reconnecting happens in
/// the servers' own tasks, with nothing to await from here: `eventually`, for at most 30 s.
async fn wait_for_listeners(app: &TestApp, count: i64) {
    eventually(
        &format!("{count} LISTEN connection(s) back"),
        Duration::from_secs(30),
        || async {
            let connected: i64 = scalar(
                &app.db.app,
                "select count(*) from pg_stat_activity
                  where application_name = 'hpms-listener' and datname = current_database()",
                [],
            )
            .await;
            if connected >= count {
                Ok(())
            } else {
                Err(format!("{connected} of {count} listeners back"))
            }
        },
    )
    .await
}

/// Terminates this database's LISTEN backends (of every instance); how many there were.
async fn kill_listeners(app: &TestApp) -> i64 {
    scalar(&app.db.app, KILL_LISTENERS, []).await
}

#[tokio::test]
async fn a_rolled_back_status_change_sends_no_event() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let visit = book(&app, &clinic, 0).await;
    let after = app.latest_event_id(&clinic).await;
    let mut socket =
        EventSocket::subscribe(app.address, as_user(&clinic, FrontDesk), Some(after)).await;

    // The arrival is the first field of a request whose second field fails: it rolls back.
    let failed = app
        .graphql(
            Some(clinic.token(Provider)),
            "mutation($id: UUID!, $nobody: UUID!) {
               arrived: setAppointmentStatus(id: $id, expectedVersion: 1, status: ARRIVED) { id }
               broken: setAppointmentStatus(id: $nobody, expectedVersion: 1, status: ARRIVED) { id } }",
            json!({"id": visit, "nobody": uuid::Uuid::new_v4()}),
        )
        .await;
    assert_eq!(failed.codes(), ["NOT_FOUND"]);
    app.set_status(&clinic, &visit, 1, "NO_SHOW").await.ok();

    let next = socket.next_event().await;
    assert_eq!(
        event_id(&next),
        after + 1,
        "the rolled-back change took no event id"
    );
    assert_eq!(
        transitions(&[next]),
        [(json!("SCHEDULED"), json!("NO_SHOW"))]
    );
}

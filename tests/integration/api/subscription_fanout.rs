//! Fan-out under load: many subscribers of one clinic on one instance receive a burst of events,
//! each one exactly once and in order, while a subscriber that stops reading holds up nobody;
//! one that falls further behind than the server buffers is dropped with FELL_BEHIND and resumes
//! with `after`. Prints delivery latency and the server's memory (README, "Subscriptions").
//!
//! `HPMS_FANOUT_SUBSCRIBERS` and `HPMS_FANOUT_EVENTS` size the run: 1,000 subscribers and a
//! burst of 100 under `make test` (a debug build on two cores), 1,000 × 1,000 under
//! `make bench-subscriptions` (a release build), whose figures the README quotes.

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::join_all;
use hpms::foundation::role::Role::{FrontDesk, Provider};
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::server_process::ServerProcess;
use crate::helpers::subscriptions::{EventSocket, event_id};
use crate::helpers::{ApiClinic, TestApp, scalar};

/// Socket buffers small enough that a client which stops reading blocks the server at once.
const TINY_SOCKET_BUFFER: u32 = 4096;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Commits `count` bookings one transaction each, straight into the database as the clinic's
/// FrontDesk (the API's own cost is not what this measures); when each committed.
async fn burst(app: &TestApp, clinic: &ApiClinic, first_slot: i64, count: usize) -> Vec<Instant> {
    let mut committed = Vec::with_capacity(count);
    for n in 0..count as i64 {
        let tx = app.db.begin(clinic.scope(FrontDesk)).await;
        insert_booking(&tx, clinic, first_slot + n).await;
        tx.commit().await.unwrap();
        committed.push(Instant::now());
    }
    committed
}

/// Books the clinic's patient with its Provider in the `hour`th half-hour slot (hourly) from
/// Monday 6 January 2031, straight into the database.
async fn insert_booking(tx: &impl ConnectionTrait, clinic: &ApiClinic, hour: i64) {
    let _: Uuid = scalar(
        tx,
        "insert into appointments (tenant_id, patient_id, provider_id, type_id, start_time, end_time, price)
         values ($1, $2, $3, $4, timestamptz '2031-01-06 00:00Z' + make_interval(hours => $5::int),
                 timestamptz '2031-01-06 00:30Z' + make_interval(hours => $5::int), 80.00)
         returning id",
        [
            clinic.tenant_id.into(),
            clinic.patient_id.into(),
            clinic.user(Provider).into(),
            clinic.type_id.into(),
            hour.into(),
        ],
    )
    .await;
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_reaches_every_subscriber_once_in_order_and_a_stalled_one_delays_nobody() {
    let _turn = crate::helpers::load_test_turn().await;
    let subscribers = setting("HPMS_FANOUT_SUBSCRIBERS", 1000);
    let events = setting("HPMS_FANOUT_EVENTS", 100);
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    // Small socket buffers, so the stalled subscriber really blocks the server's writes to it.
    let server = ServerProcess::start(
        &app,
        &[
            "--socket-send-buffer-bytes",
            &TINY_SOCKET_BUFFER.to_string(),
            // Stalled for the whole burst, yet not disconnected: it is to catch up afterwards.
            "--websocket-send-timeout-seconds",
            "600",
        ],
    )
    .await;
    let (idle_mib, _) = server.memory_mib();
    let credentials = json!({"token": clinic.token(FrontDesk)});
    let after = app.latest_event_id(&clinic).await;

    // Connecting is not what this measures: at most 50 handshakes at a time, as clients
    // spreading their reconnects would.
    let mut sockets: Vec<EventSocket> = futures::stream::iter(
        (0..subscribers)
            .map(|_| EventSocket::subscribe(server.address, credentials.clone(), Some(after))),
    )
    .buffer_unordered(50)
    .collect()
    .await;
    let mut stalled = EventSocket::subscribe_with_receive_buffer(
        server.address,
        credentials.clone(),
        Some(after),
        Some(TINY_SOCKET_BUFFER),
    )
    .await;
    // A first event that every subscriber receives: from here on all of them are live.
    burst(&app, &clinic, 0, 1).await;
    for socket in &mut sockets {
        assert_eq!(event_id(&socket.next_event().await), after + 1);
    }
    let (subscribed_mib, _) = server.memory_mib();

    let first = after + 2;
    let receivers = sockets.iter_mut().map(|socket| async move {
        let mut arrivals = Vec::with_capacity(events);
        for expected in first..first + events as i64 {
            assert_eq!(
                event_id(&socket.next_event().await),
                expected,
                "in order, once"
            );
            arrivals.push(Instant::now());
        }
        arrivals
    });
    let started = Instant::now();
    let (committed, arrivals) = tokio::join!(burst(&app, &clinic, 1, events), join_all(receivers));
    let delivered_in = started.elapsed();
    let (_, peak_mib) = server.memory_mib();

    // The stalled subscriber read nothing while all the others got everything; now it catches
    // up from where it stopped, every event once.
    let mut next = after + 1;
    while next < first + events as i64 {
        let event = stalled.next_event().await;
        assert_eq!(event_id(&event), next);
        next += 1;
    }

    let mut latencies: Vec<Duration> = arrivals
        .iter()
        .flat_map(|subscriber| {
            subscriber
                .iter()
                .zip(&committed)
                .map(|(arrived, committed)| arrived.saturating_duration_since(*committed))
        })
        .collect();
    latencies.sort();
    println!(
        "fan-out: {subscribers} subscribers (+1 stalled) x {events} events = {} deliveries in {:.2} s; \
         latency commit->client p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         server memory: idle {idle_mib:.1} MiB, {subscribers} subscribed {subscribed_mib:.1} MiB, peak {peak_mib:.1} MiB",
        latencies.len(),
        delivered_in.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        percentile(&latencies, 1.0).as_secs_f64() * 1000.0,
    );
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_the_buffer_is_dropped_and_resumes_with_after() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let server = app
        .instance_with(|settings| {
            settings.subscriber_buffer_events = 32;
            settings.subscriber_max_backlog_events = 100;
            settings.socket_send_buffer_bytes = Some(TINY_SOCKET_BUFFER);
        })
        .await;
    let credentials = json!({"token": clinic.token(FrontDesk)});
    let after = app.latest_event_id(&clinic).await;
    let mut reader = EventSocket::subscribe(server, credentials.clone(), Some(after)).await;
    let mut stalled = EventSocket::subscribe_with_receive_buffer(
        server,
        credentials.clone(),
        Some(after),
        Some(TINY_SOCKET_BUFFER),
    )
    .await;
    let events = 600;

    // The reader keeps up while the stalled one reads nothing.
    let reading = async {
        for expected in (after + 1)..=(after + events) {
            assert_eq!(event_id(&reader.next_event().await), expected);
        }
    };
    tokio::join!(burst(&app, &clinic, 0, events as usize), reading);

    // What reached the stalled socket before it fell behind, then the error saying where to
    // resume, then (after resubscribing) the rest: each event exactly once.
    let mut next = after + 1;
    let resume_after = loop {
        match stalled.receive().await {
            crate::helpers::subscriptions::Received::Event(event) => {
                assert_eq!(event_id(&event), next);
                next += 1;
            }
            crate::helpers::subscriptions::Received::Errors(errors) => {
                assert_eq!(errors[0]["extensions"]["code"], "FELL_BEHIND");
                break errors[0]["extensions"]["resumeAfter"]
                    .as_str()
                    .unwrap()
                    .parse::<i64>()
                    .unwrap();
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(
        resume_after,
        next - 1,
        "resume from the last event delivered"
    );
    assert!(
        resume_after < after + events,
        "the stalled subscriber really fell behind"
    );
    let mut resumed = EventSocket::subscribe(server, credentials, Some(resume_after)).await;
    for expected in (resume_after + 1)..=(after + events) {
        assert_eq!(event_id(&resumed.next_event().await), expected);
    }
}

#[tokio::test]
async fn a_burst_larger_than_the_buffer_reaches_a_reading_subscriber_through_the_table() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let server = app
        .instance_with(|settings| settings.subscriber_buffer_events = 8)
        .await;
    let after = app.latest_event_id(&clinic).await;
    let mut socket = EventSocket::subscribe(
        server,
        json!({"token": clinic.token(FrontDesk)}),
        Some(after),
    )
    .await;

    // Fifty events in one commit: the feed broadcasts them at once, overrunning the buffer.
    let tx = app.db.begin(clinic.scope(FrontDesk)).await;
    for hour in 0..50_i64 {
        insert_booking(&tx, &clinic, hour).await;
    }
    tx.commit().await.unwrap();

    for expected in (after + 1)..=(after + 50) {
        assert_eq!(event_id(&socket.next_event().await), expected);
    }
}

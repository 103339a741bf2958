//! Webhooks (issue 16), against real receivers on loopback: every event reaches every endpoint
//! of its clinic in order and signed so that the Standard Webhooks reference library verifies it;
//! two instances share the work without delivering anything twice; a receiver that fails, is
//! down and comes back gets everything, in order, with the retries in the delivery log; one that
//! never recovers ends disabled and resumes where it stopped once re-enabled; a hanging receiver
//! delays no other; endpoints at internal addresses are refused.

use std::collections::HashSet;
use std::time::Duration;

use hpms::foundation::role::Role::{ClinicAdmin, FrontDesk, Provider};
use serde_json::{Value, json};

use crate::helpers::webhooks::{Behaviour, Delivery, Receiver, verified_by_reference_library};
use crate::helpers::{ApiClinic, TestApp, delivering_webhooks, eventually, shared_database};

const ALL_KINDS: &str = "[BOOKED, RESCHEDULED, STATUS_CHANGED, CANCELLED]";
/// A bound on a broken test, not a pause.
const PATIENCE: Duration = Duration::from_secs(120);

/// The `n`th hour-long slot from Monday 6 January 2031.
fn slot(n: i64) -> String {
    let monday: chrono::DateTime<chrono::Utc> = "2031-01-06T00:00:00Z".parse().unwrap();
    (monday + chrono::Duration::hours(n)).to_rfc3339()
}

/// Registers `url` for the clinic's events of `kinds`; (endpoint id, secret).
async fn register(app: &TestApp, clinic: &ApiClinic, url: &str, kinds: &str) -> (String, String) {
    let response = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            &format!(
                "mutation($u: String!) {{ createWebhookEndpoint(input: {{url: $u, eventKinds: {kinds}, description: \"test receiver\"}}) {{ secret endpoint {{ id enabled }} }} }}"
            ),
            json!({"u": url}),
        )
        .await;
    let created = &response.ok()["createWebhookEndpoint"];
    assert_eq!(created["endpoint"]["enabled"], true);
    (
        created["endpoint"]["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

/// Books slots `range` for the clinic's patient, eight at a time; the appointment ids in order.
async fn book_slots(app: &TestApp, clinic: &ApiClinic, range: std::ops::Range<i64>) -> Vec<String> {
    let mut ids = Vec::new();
    let slots: Vec<i64> = range.collect();
    for chunk in slots.chunks(8) {
        let starts: Vec<String> = chunk.iter().map(|n| slot(*n)).collect();
        let booked = futures::future::join_all(
            starts
                .iter()
                .map(|start| app.book(clinic, clinic.user(Provider), start)),
        )
        .await;
        for response in booked {
            ids.push(
                response.ok()["bookAppointment"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    ids
}

async fn cancel(app: &TestApp, clinic: &ApiClinic, id: &str) {
    app.graphql(
        Some(clinic.token(FrontDesk)),
        "mutation($id: UUID!) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"Called in\", category: PATIENT_REQUEST) { id } }",
        json!({"id": id}),
    )
    .await
    .ok();
}

async fn receives(receiver: &Receiver, count: usize, what: &str) -> Vec<Delivery> {
    eventually(what, PATIENCE, || async {
        let accepted = receiver.accepted();
        if accepted.len() >= count {
            Ok(accepted)
        } else {
            Err(format!("{} of {count}", accepted.len()))
        }
    })
    .await
}

fn event_ids(deliveries: &[Delivery]) -> Vec<i64> {
    deliveries.iter().map(Delivery::event_id).collect()
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

/// Milliseconds from each event's commit (its `occurredAt`, taken in the committing
/// transaction) to its receipt.
fn latencies_ms(deliveries: &[Delivery]) -> Vec<f64> {
    let mut latencies: Vec<f64> = deliveries
        .iter()
        .map(|delivery| {
            let occurred: chrono::DateTime<chrono::Utc> = delivery.payload()["data"]["occurredAt"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            (delivery.received_at - occurred)
                .num_microseconds()
                .unwrap() as f64
                / 1000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    latencies
}

#[tokio::test]
async fn five_hundred_events_of_two_clinics_reach_three_endpoints_in_order_signed_once_each() {
    let _turn = crate::helpers::load_test_turn().await;
    let app = TestApp::spawn_adjusted(delivering_webhooks).await;
    let _second = app.instance_with(delivering_webhooks).await;
    let north = app.clinic("north").await;
    let south = app.clinic("south").await;
    let (everything, north_all) = (Receiver::start().await, Receiver::start().await);
    let cancellations = Receiver::start().await;
    let (_, everything_secret) = register(&app, &north, &north_all.url("/north"), ALL_KINDS).await;
    let (_, cancellations_secret) = register(
        &app,
        &north,
        &cancellations.url("/cancelled"),
        "[CANCELLED]",
    )
    .await;
    let (_, south_secret) = register(&app, &south, &everything.url("/south"), ALL_KINDS).await;

    let started = std::time::Instant::now();
    let (north_ids, _) = tokio::join!(
        book_slots(&app, &north, 0..250),
        book_slots(&app, &south, 0..250)
    );
    for id in &north_ids[..10] {
        cancel(&app, &north, id).await;
    }

    let north_received = receives(&north_all, 260, "north's 260 events").await;
    let south_received = receives(&everything, 250, "south's 250 events").await;
    let cancelled = receives(&cancellations, 10, "north's 10 cancellations").await;
    let elapsed = started.elapsed();

    assert_eq!(
        event_ids(&north_received),
        (1..=260).collect::<Vec<_>>(),
        "in order, none missing"
    );
    assert_eq!(
        event_ids(&south_received),
        (1..=250).collect::<Vec<_>>(),
        "in order, none missing"
    );
    assert_eq!(
        event_ids(&cancelled),
        (251..=260).collect::<Vec<_>>(),
        "only the kinds asked for"
    );
    assert!(
        cancelled
            .iter()
            .all(|delivery| delivery.payload()["type"] == "appointment.cancelled")
    );
    assert_eq!(
        cancelled[0].payload()["data"]["cancelReasonCategory"],
        "PATIENT_REQUEST"
    );
    for (receiver, name) in [
        (&north_all, "north"),
        (&everything, "south"),
        (&cancellations, "cancellations"),
    ] {
        let all = receiver.deliveries();
        let unique: HashSet<&str> = all.iter().map(Delivery::webhook_id).collect();
        assert_eq!(
            unique.len(),
            all.len(),
            "{name}: two instances, no event delivered twice"
        );
    }
    assert_eq!(
        verified_by_reference_library(&everything_secret, &north_received).await,
        260
    );
    assert_eq!(
        verified_by_reference_library(&south_secret, &south_received).await,
        250
    );
    assert_eq!(
        verified_by_reference_library(&cancellations_secret, &cancelled).await,
        10
    );

    let mut all = north_received.clone();
    all.extend(south_received.iter().cloned());
    all.extend(cancelled.iter().cloned());
    let latencies = latencies_ms(&all);
    println!(
        "webhooks: {} deliveries to 3 endpoints in {:.1} s ({:.0} deliveries/s, booking included); \
         commit to receipt p50 {:.0} ms, p99 {:.0} ms",
        all.len(),
        elapsed.as_secs_f64(),
        all.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    );
}

#[tokio::test]
async fn a_receiver_that_fails_then_is_down_then_comes_back_gets_every_event_in_order() {
    let app = TestApp::spawn_adjusted(|settings| {
        delivering_webhooks(settings);
        settings.webhooks.webhook_poll_ms = 50;
    })
    .await;
    let clinic = app.clinic("north").await;
    let receiver = Receiver::start().await;
    let (endpoint, secret) = register(&app, &clinic, &receiver.url("/hooks"), ALL_KINDS).await;

    receiver.behave(Behaviour::Answer(500));
    book_slots(&app, &clinic, 0..5).await;
    eventually("three attempts answered 500", PATIENCE, || async {
        receiver.deliveries().len() >= 3
    })
    .await;
    receiver.behave(Behaviour::Drop);
    let before = receiver.deliveries().len();
    eventually(
        "two attempts while the receiver is down",
        PATIENCE,
        || async { receiver.deliveries().len() >= before + 2 },
    )
    .await;
    receiver.behave(Behaviour::Accept);

    let received = receives(&receiver, 5, "all five events").await;
    assert_eq!(
        event_ids(&received),
        [1, 2, 3, 4, 5],
        "in order, none missing"
    );
    assert!(
        receiver.deliveries()[..before + 2]
            .iter()
            .all(|delivery| delivery.event_id() == 1),
        "nothing goes ahead of the event that keeps failing"
    );
    assert_eq!(verified_by_reference_library(&secret, &received).await, 5);

    let log = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "query($e: UUID!) { webhookDeliveries(endpointId: $e, first: 100) { eventId webhookId attempt statusCode succeeded error attemptedAt latencyMs } }",
            json!({"e": endpoint}),
        )
        .await;
    let mut attempts: Vec<Value> = log.ok()["webhookDeliveries"].as_array().unwrap().clone();
    attempts.reverse();
    let first_event: Vec<&Value> = attempts
        .iter()
        .filter(|attempt| attempt["eventId"] == "1")
        .collect();
    assert!(
        first_event.len() >= 6,
        "the retries are in the log: {first_event:?}"
    );
    assert_eq!(
        first_event
            .iter()
            .map(|attempt| attempt["attempt"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        (1..=first_event.len() as i64).collect::<Vec<_>>(),
        "attempts numbered 1, 2, 3, …"
    );
    assert!(
        first_event[..3]
            .iter()
            .all(|attempt| attempt["statusCode"] == 500 && attempt["succeeded"] == false)
    );
    assert!(
        first_event
            .iter()
            .any(|attempt| attempt["statusCode"].is_null() && attempt["error"].is_string()),
        "a receiver that is down has no status, and the error says why"
    );
    assert_eq!(first_event.last().unwrap()["succeeded"], true);
    let ids: HashSet<&str> = first_event
        .iter()
        .map(|attempt| attempt["webhookId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "the webhook id is the same on every attempt, for de-duplication"
    );
    let times: Vec<chrono::DateTime<chrono::Utc>> = first_event
        .iter()
        .map(|attempt| attempt["attemptedAt"].as_str().unwrap().parse().unwrap())
        .collect();
    let gaps: Vec<i64> = times
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).num_milliseconds())
        .collect();
    // Base 100 ms doubling, with half of each delay random, capped at 1 s (the test settings).
    assert!(gaps[0] >= 50, "the first retry waits: {gaps:?}");
    assert!(gaps[3] >= 400, "the delays grow: {gaps:?}");

    if shared_database() {
        // Every instance on the database delivers any clinic's endpoints: on a shared one, other
        // tests' instances share this clinic's deliveries, and this one theirs.
        return;
    }
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
            .parse()
            .unwrap()
    };
    assert_eq!(value("hpms_webhook_deliveries_total"), 5.0);
    assert_eq!(
        value("hpms_webhook_delivery_failures_total"),
        (first_event.len() - 1) as f64
    );
    assert_eq!(value("hpms_webhook_delivery_lag_seconds_count"), 5.0);
}

#[tokio::test]
async fn a_receiver_that_never_recovers_ends_disabled_and_re_enabling_resumes_from_the_first_undelivered_event()
 {
    let app = TestApp::spawn_adjusted(|settings| {
        delivering_webhooks(settings);
        settings.webhooks.webhook_retry_window_seconds = 2;
        settings.webhooks.webhook_poll_ms = 50;
    })
    .await;
    let clinic = app.clinic("north").await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&app, &clinic, &receiver.url("/hooks"), ALL_KINDS).await;
    book_slots(&app, &clinic, 0..2).await;
    let received = receives(&receiver, 2, "the first two events").await;
    assert_eq!(event_ids(&received), [1, 2]);

    receiver.behave(Behaviour::Answer(503));
    book_slots(&app, &clinic, 2..5).await;
    let state = "query { webhookEndpoints { id enabled disabledAt disabledReason lastDeliveredEventId consecutiveFailures } }";
    let disabled = eventually("the endpoint is disabled", PATIENCE, || async {
        let listed = app
            .graphql(Some(clinic.token(ClinicAdmin)), state, json!({}))
            .await;
        let endpoint = listed.ok()["webhookEndpoints"][0].clone();
        if endpoint["enabled"] == false {
            Ok(endpoint)
        } else {
            Err(endpoint.to_string())
        }
    })
    .await;
    assert_eq!(disabled["id"], endpoint.as_str());
    assert_eq!(disabled["lastDeliveredEventId"], "2");
    assert!(
        disabled["disabledReason"]
            .as_str()
            .unwrap()
            .contains("event 3")
    );
    let attempts = receiver.deliveries().len();
    assert!(
        receiver.deliveries()[2..]
            .iter()
            .all(|delivery| delivery.event_id() == 3),
        "only event 3 was tried"
    );

    // Disabled: nothing more is sent, whatever happens.
    receiver.behave(Behaviour::Accept);
    book_slots(&app, &clinic, 5..6).await;
    let enabled = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "mutation($id: UUID!) { enableWebhookEndpoint(id: $id) { enabled disabledAt consecutiveFailures } }",
            json!({"id": endpoint}),
        )
        .await;
    assert_eq!(
        enabled.ok()["enableWebhookEndpoint"],
        json!({"enabled": true, "disabledAt": null, "consecutiveFailures": 0})
    );
    let received = receives(&receiver, 6, "every event, once re-enabled").await;
    assert_eq!(
        event_ids(&received),
        [1, 2, 3, 4, 5, 6],
        "resumed from event 3"
    );
    assert!(receiver.deliveries().len() >= attempts + 4);

    // A replay delivers from the event asked for again, with the same webhook ids.
    app.graphql(
        Some(clinic.token(ClinicAdmin)),
        "mutation($id: UUID!) { replayWebhook(endpointId: $id, fromEventId: \"5\") { lastDeliveredEventId } }",
        json!({"id": endpoint}),
    )
    .await
    .ok();
    let received = receives(&receiver, 8, "events 5 and 6 again").await;
    assert_eq!(event_ids(&received[6..]), [5, 6]);
    assert_eq!(received[6].webhook_id(), received[4].webhook_id());
}

#[tokio::test]
async fn a_hanging_endpoint_delays_neither_another_endpoint_nor_the_api() {
    // Each attempt at the hanging endpoint holds its delivery for the whole timeout.
    let app = TestApp::spawn_adjusted(|settings| {
        delivering_webhooks(settings);
        settings.webhooks.webhook_timeout_ms = 5_000;
    })
    .await;
    let clinic = app.clinic("north").await;
    let (hanging, healthy) = (Receiver::start().await, Receiver::start().await);
    hanging.behave(Behaviour::Hang);
    register(&app, &clinic, &hanging.url("/slow"), ALL_KINDS).await;
    register(&app, &clinic, &healthy.url("/fast"), ALL_KINDS).await;

    let mut api_ms = Vec::new();
    for n in 0..40 {
        let started = std::time::Instant::now();
        app.book(&clinic, clinic.user(Provider), &slot(n))
            .await
            .ok();
        api_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let received = receives(&healthy, 40, "the healthy endpoint's 40 events").await;
    assert_eq!(event_ids(&received), (1..=40).collect::<Vec<_>>());
    let latencies = latencies_ms(&received);
    api_ms.sort_by(f64::total_cmp);
    println!(
        "webhooks with a hanging endpoint beside: healthy endpoint commit to receipt p50 {:.0} ms, \
         p99 {:.0} ms; bookings p50 {:.0} ms, p99 {:.0} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&api_ms, 0.5),
        percentile(&api_ms, 0.99),
    );
    // Had the healthy endpoint waited behind the hanging one even once, that delivery would
    // have taken the 5 s timeout (and the next ones longer still).
    assert!(percentile(&latencies, 0.99) < 5_000.0, "{latencies:?}");
    assert!(
        hanging
            .deliveries()
            .iter()
            .all(|delivery| delivery.event_id() == 1)
    );
}

#[tokio::test]
async fn endpoints_at_loopback_link_local_private_or_metadata_addresses_are_refused() {
    let app =
        TestApp::spawn_adjusted(|settings| settings.webhooks.webhook_allowed_hosts.clear()).await;
    let clinic = app.clinic("north").await;
    for url in [
        "http://127.0.0.1:8080/hooks",
        "https://127.0.0.1/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/hooks",
        "https://[::1]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",
        "https://localhost/hooks",
        "http://partner.example.org/hooks",
        "https://user:secret@partner.example.org/hooks",
        "ftp://partner.example.org/hooks",
    ] {
        let response = app
            .graphql(
                Some(clinic.token(ClinicAdmin)),
                "mutation($u: String!) { createWebhookEndpoint(input: {url: $u, eventKinds: [BOOKED]}) { secret } }",
                json!({"u": url}),
            )
            .await;
        assert_eq!(response.code(), "BAD_USER_INPUT", "{url}: {response:?}");
        assert_eq!(response.field(), "input.url", "{url}");
    }
    let listed = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "{ webhookEndpoints { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed.ok()["webhookEndpoints"],
        json!([]),
        "nothing was registered"
    );

    // The operator's allow-list admits the loopback receivers of the other tests, and nothing else.
    let allowing = TestApp::spawn().await;
    let clinic = allowing.clinic("north").await;
    for (url, code) in [
        ("http://127.0.0.1:9/hooks", None),
        ("https://169.254.169.254/hooks", Some("BAD_USER_INPUT")),
        ("http://10.0.0.1/hooks", Some("BAD_USER_INPUT")),
    ] {
        let response = allowing
            .graphql(
                Some(clinic.token(ClinicAdmin)),
                "mutation($u: String!) { createWebhookEndpoint(input: {url: $u, eventKinds: [BOOKED]}) { secret } }",
                json!({"u": url}),
            )
            .await;
        assert_eq!(
            response.codes().first().map(String::as_str),
            code,
            "{url}: {response:?}"
        );
    }
}

#[tokio::test]
async fn only_a_clinic_admin_manages_webhooks_and_the_secret_is_shown_once() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let receiver = Receiver::start().await;
    let (endpoint, secret) = register(&app, &clinic, &receiver.url("/hooks"), "[BOOKED]").await;
    assert!(secret.starts_with("whsec_"));
    for role in [Provider, FrontDesk] {
        let response = app
            .graphql(
                Some(clinic.token(role)),
                "{ webhookEndpoints { id } }",
                json!({}),
            )
            .await;
        assert_eq!(response.code(), "FORBIDDEN");
    }
    let (key, _) = app.issue_api_key(&clinic, "Partner").await;
    let response = app
        .graphql_with_api_key(&key, "{ webhookEndpoints { id } }", json!({}))
        .await;
    assert_eq!(response.code(), "FORBIDDEN");
    let listed = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "{ webhookEndpoints { id url eventKinds enabled } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed.ok()["webhookEndpoints"],
        json!([{"id": endpoint, "url": receiver.url("/hooks"), "eventKinds": ["BOOKED"], "enabled": true}])
    );
    let audit = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "query($id: String!) { auditLogs(entityName: \"webhook_endpoints\", entityId: $id) { edges { node { action newValues } } } }",
            json!({"id": endpoint}),
        )
        .await;
    let text = audit.ok().to_string();
    assert!(text.contains("CREATE"), "registration is audited: {text}");
    assert!(
        !text.contains(&secret["whsec_".len()..]),
        "the secret is in no audit row"
    );
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_during_the_overlap() {
    let app = TestApp::spawn_adjusted(delivering_webhooks).await;
    let clinic = app.clinic("north").await;
    let receiver = Receiver::start().await;
    let (endpoint, old_secret) = register(&app, &clinic, &receiver.url("/hooks"), ALL_KINDS).await;
    let rotated = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "mutation($id: UUID!) { rotateWebhookSecret(id: $id, overlapMinutes: 60) { secret endpoint { previousSecretExpiresAt } } }",
            json!({"id": endpoint}),
        )
        .await;
    let new_secret = rotated.ok()["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_secret, old_secret);
    let audit = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "query($id: String!) { auditLogs(entityName: \"webhook_endpoints\", entityId: $id) { edges { node { oldValues newValues } } } }",
            json!({"id": endpoint}),
        )
        .await;
    let text = audit.ok().to_string();
    assert!(
        text.contains("previous_secret_expires_at"),
        "the rotation is audited: {text}"
    );
    assert!(
        !text.contains("secret_ciphertext"),
        "no sealed secret is in an audit row: {text}"
    );
    book_slots(&app, &clinic, 0..2).await;
    let received = receives(&receiver, 2, "two events").await;
    assert_eq!(
        verified_by_reference_library(&old_secret, &received).await,
        2
    );
    assert_eq!(
        verified_by_reference_library(&new_secret, &received).await,
        2
    );
}

#[tokio::test]
async fn a_server_killed_during_a_burst_loses_no_event_and_the_duplicates_are_counted() {
    use crate::helpers::server_process::ServerProcess;
    let _turn = crate::helpers::load_test_turn().await;
    // This test's in-process server serves the API only (as every test server does unless
    // told otherwise); the `hpms` processes deliver.
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let receiver = Receiver::start().await;
    let (_, secret) = register(&app, &clinic, &receiver.url("/hooks"), ALL_KINDS).await;
    let delivering = [
        "--webhook-allowed-hosts",
        "127.0.0.1",
        "--webhook-timeout-ms",
        "1000",
        "--webhook-poll-ms",
        "50",
    ];
    let server = ServerProcess::start(&app, &delivering).await;

    let burst = book_slots(&app, &clinic, 0..200);
    let kill = async {
        receives(&receiver, 40, "the burst under way").await;
        server.kill();
    };
    tokio::join!(burst, kill);
    let _restarted = ServerProcess::start(&app, &delivering).await;

    let accepted = eventually("all 200 events after the restart", PATIENCE, || async {
        let accepted = receiver.accepted();
        let unique: HashSet<i64> = accepted.iter().map(Delivery::event_id).collect();
        if unique.len() == 200 {
            Ok(accepted)
        } else {
            Err(format!("{} of 200", unique.len()))
        }
    })
    .await;
    let mut first_seen = Vec::new();
    for id in event_ids(&accepted) {
        if !first_seen.contains(&id) {
            first_seen.push(id);
        }
    }
    assert_eq!(
        first_seen,
        (1..=200).collect::<Vec<_>>(),
        "in order, none missing"
    );
    let duplicates = accepted.len() - 200;
    println!("webhooks: a SIGKILL during a burst of 200: {duplicates} event(s) delivered twice");
    assert!(
        duplicates <= 1,
        "only the event in flight at the kill may come again"
    );
    assert_eq!(
        verified_by_reference_library(&secret, &accepted).await,
        accepted.len()
    );
}

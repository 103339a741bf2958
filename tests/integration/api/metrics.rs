//! `GET /metrics`: strict OpenMetrics text whose figures move with traffic. Requests are counted
//! by root field (never by the client's operation name) and outcome, subscriptions while they
//! run, and events as they are fanned out to subscribers.

use std::net::SocketAddr;
use std::time::Duration;

use hpms::foundation::role::Role;
use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::subscriptions::EventSocket;
use crate::helpers::{TestApp, eventually};

/// One scrape, parsed.
struct Scrape(MetricsExposition<OpenMetricsType, OpenMetricsValue>);

impl Scrape {
    async fn of(address: SocketAddr) -> Scrape {
        let response = reqwest::get(format!("http://{address}/metrics"))
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        let text = response.text().await.unwrap();
        let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&text)
            .unwrap_or_else(|error| panic!("/metrics is not OpenMetrics ({error:?}):\n{text}"));
        Scrape(parsed)
    }

    /// The value of `family`'s sample with `labels` (a histogram's count), 0 when it has none.
    fn value(&self, family: &str, labels: &[(&str, &str)]) -> f64 {
        let family = self
            .0
            .families
            .get(family)
            .unwrap_or_else(|| panic!("no metric family {family}"));
        let sample = family.iter_samples().find(|sample| {
            let set = sample.get_labelset().unwrap();
            labels
                .iter()
                .all(|(name, value)| set.get_label_value(name) == Some(value))
        });
        match sample.map(|sample| &sample.value) {
            None => 0.0,
            Some(OpenMetricsValue::Counter(counter)) => counter.value.as_f64(),
            Some(OpenMetricsValue::Gauge(gauge)) => gauge.as_f64(),
            Some(OpenMetricsValue::Histogram(histogram)) => histogram.count.unwrap() as f64,
            Some(other) => panic!("unexpected sample {other:?}"),
        }
    }

    fn requests(&self, operation: &str, operation_type: &str, outcome: &str) -> f64 {
        self.value(
            "hpms_graphql_requests",
            &[
                ("operation", operation),
                ("operation_type", operation_type),
                ("outcome", outcome),
            ],
        )
    }

    /// Every value the `operation` label takes.
    fn operations(&self) -> Vec<String> {
        self.0.families["hpms_graphql_requests"]
            .iter_samples()
            .map(|sample| {
                let set = sample.get_labelset().unwrap();
                set.get_label_value("operation").unwrap().to_owned()
            })
            .collect()
    }
}

#[tokio::test]
async fn requests_are_counted_by_root_field_and_outcome() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let frontdesk = Some(clinic.token(Role::FrontDesk));
    let before = Scrape::of(app.address).await;

    for _ in 0..2 {
        app.graphql(
            frontdesk,
            "query ClientChosenName { patients(first: 5) { edges { node { id } } } }",
            json!({}),
        )
        .await
        .ok();
    }
    let missing = app
        .graphql(
            frontdesk,
            "query($id: UUID!) { patient(id: $id) { id } }",
            json!({"id": Uuid::new_v4()}),
        )
        .await;
    assert_eq!(missing.code(), "NOT_FOUND");
    let refused = app
        .graphql(
            frontdesk,
            "{ auditLogs { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(refused.code(), "FORBIDDEN");
    let invented = app.graphql(frontdesk, "{ noSuchField }", json!({})).await;
    assert_eq!(invented.code(), "BAD_USER_INPUT");
    app.graphql(frontdesk, "{ me { id } version }", json!({}))
        .await
        .ok();

    let after = Scrape::of(app.address).await;
    let moved = |operation, operation_type, outcome| {
        after.requests(operation, operation_type, outcome)
            - before.requests(operation, operation_type, outcome)
    };
    assert_eq!(moved("patients", "query", "ok"), 2.0);
    assert_eq!(moved("patient", "query", "NOT_FOUND"), 1.0);
    assert_eq!(moved("auditLogs", "query", "FORBIDDEN"), 1.0);
    assert_eq!(moved("unknown", "query", "BAD_USER_INPUT"), 1.0);
    assert_eq!(moved("multiple", "query", "ok"), 1.0);
    let latency = |scrape: &Scrape| {
        scrape.value(
            "hpms_graphql_request_duration_seconds",
            &[("operation", "patients"), ("outcome", "ok")],
        )
    };
    assert_eq!(latency(&after) - latency(&before), 2.0);
    assert!(
        !after
            .operations()
            .iter()
            .any(|operation| operation == "ClientChosenName"),
        "a client's operation name never becomes a label"
    );
    // The clinic's set-up signed in through the API and made its patient and appointment type.
    assert!(after.requests("login", "mutation", "ok") >= 4.0);
    assert!(after.requests("createPatient", "mutation", "ok") >= 1.0);

    let max = after.value("hpms_db_pool_max_connections", &[]);
    let size = after.value("hpms_db_pool_connections", &[]);
    let idle = after.value("hpms_db_pool_idle_connections", &[]);
    assert_eq!(max, 8.0, "the test servers' pool size");
    assert!(
        (1.0..=max).contains(&size) && idle <= size,
        "pool: {size} held, {idle} idle"
    );
}

#[tokio::test]
async fn subscriptions_and_fanned_out_events_are_counted_while_they_happen() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let booked = app
        .book(&clinic, clinic.user(Role::Provider), "2030-01-07T09:00:00Z")
        .await;
    let appointment = booked.ok()["bookAppointment"].clone();
    let active = |scrape: &Scrape| scrape.value("hpms_subscriptions_active", &[]);
    let delivered = |scrape: &Scrape| scrape.value("hpms_subscription_events_delivered", &[]);
    let idle = Scrape::of(app.address).await;
    assert_eq!(active(&idle), 0.0);
    assert_eq!(delivered(&idle), 0.0);

    // The booking replayed proves the subscription is running.
    let mut socket = EventSocket::subscribe(
        app.address,
        json!({"token": clinic.token(Role::Provider)}),
        Some(0),
    )
    .await;
    assert_eq!(socket.next_event().await["newStatus"], "SCHEDULED");
    let subscribed = Scrape::of(app.address).await;
    assert_eq!(active(&subscribed), 1.0);
    assert_eq!(subscribed.value("hpms_websocket_connections", &[]), 1.0);
    assert_eq!(delivered(&subscribed), 1.0);

    app.set_status(
        &clinic,
        appointment["id"].as_str().unwrap(),
        appointment["version"].as_i64().unwrap(),
        "ARRIVED",
    )
    .await
    .ok();
    assert_eq!(socket.next_event().await["newStatus"], "ARRIVED");
    let changed = Scrape::of(app.address).await;
    assert_eq!(delivered(&changed), 2.0);
    assert_eq!(
        changed.value("hpms_feed_events_broadcast", &[]),
        1.0,
        "the feed broadcast the live change once"
    );
    assert_eq!(
        changed.value("hpms_listen_connections_established", &[]),
        app.listened_nodes().await as f64,
        "the live change came through the LISTEN connections, each connected once"
    );

    socket.close().await;
    // The server notices the close in its own time, with nothing to await from here.
    let left = eventually(
        "the closed subscription and socket gone from the metrics",
        Duration::from_secs(10),
        || async {
            let scrape = Scrape::of(app.address).await;
            let (subscriptions, sockets) = (
                active(&scrape),
                scrape.value("hpms_websocket_connections", &[]),
            );
            if subscriptions == 0.0 && sockets == 0.0 {
                Ok(scrape)
            } else {
                Err(format!(
                    "{subscriptions} subscription(s) and {sockets} socket(s)"
                ))
            }
        },
    )
    .await;
    assert_eq!(delivered(&left), 2.0, "counters never go down");
}

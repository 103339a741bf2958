//! What `GET /metrics` shows, in the OpenMetrics text format Prometheus scrapes. Each app owns
//! its registry (no process-wide recorder), so instances in one process count apart.
//!
//! Label values come from closed sets only, so the number of series stays bounded whatever
//! clients send: an `operation` is the name of the root field a request selects, taken from the
//! schema (operation names are chosen by clients and never become labels); `outcome` is `ok` or
//! one of the error codes of `foundation::error`. Nothing here carries a tenant id, a user or PHI.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
pub use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
pub use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sea_orm::DatabaseConnection;

/// The content type of what `render` writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The kind of GraphQL operation, as a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationType {
    Query,
    Mutation,
    Subscription,
    /// A request whose operation could not be told (it did not parse, or named none).
    Unknown,
}

impl OperationType {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationType::Query => "query",
            OperationType::Mutation => "mutation",
            OperationType::Subscription => "subscription",
            OperationType::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    operation_type: &'static str,
    outcome: &'static str,
}

/// Subscription figures, which the event feed keeps up to date.
#[derive(Clone, Debug, Default)]
pub struct SubscriptionMetrics {
    /// Subscriptions running on this instance.
    pub active: Gauge,
    /// Events handed to subscribers (one event to 100 subscribers counts 100).
    pub delivered: Counter,
    /// Events the clinics' feeds read and broadcast to their subscribers here.
    pub broadcast: Counter,
    /// Times the LISTEN connection was (re)established: more than one means it reconnected.
    pub listens: Counter,
}

/// Webhook figures, which the dispatcher keeps up to date. No label names an endpoint or a
/// clinic: the label sets are closed.
#[derive(Clone, Debug)]
pub struct WebhookMetrics {
    /// Delivery attempts the receiver took (2xx).
    pub delivered: Counter,
    /// Delivery attempts that failed (no answer, or not 2xx): each is retried.
    pub failed: Counter,
    /// Endpoints disabled after failing for the retry window.
    pub disabled: Counter,
    /// Deliveries in flight on this instance.
    pub in_flight: Gauge,
    /// From an event's commit to its receipt, per delivery.
    pub lag: Histogram,
}

impl Default for WebhookMetrics {
    fn default() -> WebhookMetrics {
        WebhookMetrics {
            delivered: Counter::default(),
            failed: Counter::default(),
            disabled: Counter::default(),
            in_flight: Gauge::default(),
            // 10 ms to about 3 days, quadrupling: a retried event's lag spans the retry window.
            lag: Histogram::new(exponential_buckets(0.01, 4.0, 14)),
        }
    }
}

/// One up on a gauge for as long as it lives (a connection, a subscription).
pub struct Counted(Gauge);

impl Counted {
    pub fn on(gauge: &Gauge) -> Counted {
        gauge.inc();
        Counted(gauge.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The app's metrics; clones share them.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram, fn() -> Histogram>,
    pub subscriptions: SubscriptionMetrics,
    pub webhooks: WebhookMetrics,
    /// Open WebSocket connections.
    pub websocket_connections: Gauge,
    pool: PoolGauges,
}

/// The database pool, read at each scrape.
#[derive(Clone, Default)]
struct PoolGauges {
    size: Gauge,
    idle: Gauge,
    max: Gauge,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let requests = Family::default();
        // 1 ms to about 16 s, doubling.
        let durations = Family::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.001, 2.0, 15))) as fn() -> Histogram,
        );
        let subscriptions = SubscriptionMetrics::default();
        let webhooks = WebhookMetrics::default();
        let websocket_connections = Gauge::default();
        let pool = PoolGauges::default();
        let mut registry = Registry::with_prefix("hpms");
        registry.register(
            "graphql_requests",
            "GraphQL requests over HTTP, by root field, operation type and outcome",
            requests.clone(),
        );
        // The unit is in the name rather than a UNIT line, which some OpenMetrics parsers
        // refuse on histograms.
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL request over HTTP, by root field, operation type and outcome",
            durations.clone(),
        );
        registry.register(
            "subscriptions_active",
            "Subscriptions running on this instance",
            subscriptions.active.clone(),
        );
        registry.register(
            "subscription_events_delivered",
            "Appointment events handed to subscribers, one per subscriber",
            subscriptions.delivered.clone(),
        );
        registry.register(
            "feed_events_broadcast",
            "Appointment events read by the clinics' feeds and broadcast to their subscribers",
            subscriptions.broadcast.clone(),
        );
        registry.register(
            "listen_connections_established",
            "Times the LISTEN connection that wakes the feeds was established; more than one \
             means it was lost and reconnected",
            subscriptions.listens.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts the receiver took (2xx)",
            webhooks.delivered.clone(),
        );
        registry.register(
            "webhook_delivery_failures",
            "Webhook delivery attempts that failed (no answer within the timeout, or not 2xx); each is retried",
            webhooks.failed.clone(),
        );
        registry.register(
            "webhook_endpoints_disabled",
            "Webhook endpoints disabled after failing the same event for the retry window",
            webhooks.disabled.clone(),
        );
        registry.register(
            "webhook_deliveries_in_flight",
            "Webhook deliveries in flight on this instance",
            webhooks.in_flight.clone(),
        );
        registry.register(
            "webhook_delivery_lag_seconds",
            "From an appointment event's commit to a receiver taking it, per delivery",
            webhooks.lag.clone(),
        );
        registry.register(
            "websocket_connections",
            "Open WebSocket connections",
            websocket_connections.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Connections the database pool holds, in use or idle",
            pool.size.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Connections the database pool holds idle",
            pool.idle.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Most connections the database pool may hold (HPMS_DB_POOL_SIZE)",
            pool.max.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            requests,
            durations,
            subscriptions,
            webhooks,
            websocket_connections,
            pool,
        }
    }
}

impl Metrics {
    /// Counts a GraphQL request that took `elapsed`: `operation` is a root field name of the
    /// schema (or a fixed stand-in), `outcome` "ok" or an error code.
    pub fn observe_request(
        &self,
        operation: &str,
        operation_type: OperationType,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        let labels = RequestLabels {
            operation: operation.to_owned(),
            operation_type: operation_type.as_str(),
            outcome,
        };
        self.requests.get_or_create(&labels).inc();
        self.durations
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The exposition, with the pool's figures as they are now.
    pub fn render(&self, db: &DatabaseConnection) -> String {
        let pool = db.get_postgres_connection_pool();
        self.pool.size.set(pool.size().into());
        self.pool.idle.set(pool.num_idle() as i64);
        self.pool
            .max
            .set(pool.options().get_max_connections().into());
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

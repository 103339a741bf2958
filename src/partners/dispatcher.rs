//! Webhook delivery. Every instance runs one dispatcher: woken by the clinics' new events (the
//! LISTEN connection) and by a short poll (retries fall due with no event), it claims due
//! endpoints through `claim_webhook_endpoints()` (FOR UPDATE SKIP LOCKED and a lease, so any
//! number of instances share the work and never deliver to one endpoint at once) and delivers
//! each endpoint's events after its cursor, oldest first, one at a time: the cursor moves only
//! when the receiver answered 2xx, so delivery is in order and at least once (an instance killed
//! mid-delivery leaves a lease that runs out; whoever claims next sends the same event, with the
//! same `webhook-id`, again).
//!
//! A failure (no answer within the timeout, a non-2xx status, an address refused) is logged and
//! retried after an exponentially growing delay with jitter; an endpoint that keeps failing the
//! same event for the retry window (72 hours by default) is disabled until a ClinicAdmin
//! re-enables it. Deliveries in flight are bounded by a semaphore and each request by a timeout,
//! so a hanging endpoint holds one permit for at most the timeout and delays no other endpoint
//! or request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

use crate::foundation::config::WebhookSettings;
use crate::foundation::db::{TenantScope, begin_tenant_transaction};
use crate::foundation::error::ApiError;
use crate::foundation::metrics::{Counted, WebhookMetrics};
use crate::foundation::sync::lock;
use crate::partners::address::{AddressPolicy, CheckingResolver};
use crate::partners::entity::webhook_endpoint;
use crate::partners::payload::WebhookPayloadV1;
use crate::partners::signing::signature_header;
use crate::partners::store::{self, Attempt};
use crate::partners::webhooks::WebhookVault;
use crate::scheduling::{AppointmentEvent, events_after};

/// Events read for an endpoint at once.
const PAGE: u64 = 100;
/// Most events delivered to one endpoint per claim, so that a backlog of one does not hold a
/// permit for long while others wait.
const PER_CLAIM: usize = 200;
/// How often a clinic's delivery log is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Longest error text kept in the log.
const MAX_ERROR_CHARS: usize = 300;

/// The dispatcher's settings, from `WebhookSettings`.
#[derive(Clone, Debug)]
pub struct DispatcherSettings {
    pub concurrency: usize,
    pub timeout: Duration,
    pub retry_base: Duration,
    pub retry_max_delay: Duration,
    pub retry_window: Duration,
    pub log_retention: Duration,
    pub poll: Duration,
}

impl From<&WebhookSettings> for DispatcherSettings {
    fn from(settings: &WebhookSettings) -> Self {
        DispatcherSettings {
            concurrency: settings.webhook_concurrency as usize,
            timeout: Duration::from_millis(settings.webhook_timeout_ms),
            retry_base: Duration::from_millis(settings.webhook_retry_base_ms),
            retry_max_delay: Duration::from_secs(settings.webhook_retry_max_delay_seconds),
            retry_window: Duration::from_secs(settings.webhook_retry_window_seconds),
            log_retention: Duration::from_secs(
                u64::from(settings.webhook_log_retention_days) * 86_400,
            ),
            poll: Duration::from_millis(settings.webhook_poll_ms),
        }
    }
}

pub struct Dispatcher {
    db: DatabaseConnection,
    client: reqwest::Client,
    policy: AddressPolicy,
    vault: Arc<WebhookVault>,
    settings: DispatcherSettings,
    /// This instance, as the lease names it.
    worker: Uuid,
    wake: Notify,
    permits: Arc<Semaphore>,
    pruned: Mutex<HashMap<Uuid, Instant>>,
    metrics: WebhookMetrics,
}

impl Dispatcher {
    pub fn new(
        db: DatabaseConnection,
        policy: AddressPolicy,
        vault: Arc<WebhookVault>,
        settings: DispatcherSettings,
        metrics: WebhookMetrics,
    ) -> anyhow::Result<Arc<Dispatcher>> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .dns_resolver(Arc::new(CheckingResolver(policy.clone())))
            .user_agent(concat!("hpms-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Arc::new(Dispatcher {
            db,
            client,
            policy,
            vault,
            permits: Arc::new(Semaphore::new(settings.concurrency)),
            settings,
            worker: Uuid::new_v4(),
            wake: Notify::new(),
            pruned: Mutex::new(HashMap::new()),
            metrics,
        }))
    }

    /// Something new may be due (an event committed, a delivery finished).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The lease: long enough for one delivery and its bookkeeping.
    fn lease_ms(&self) -> i64 {
        (self.settings.timeout + Duration::from_secs(5)).as_millis() as i64
    }

    /// Runs until the task is aborted; at once returns for an instance that delivers nothing
    /// (concurrency 0).
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let dispatcher = Arc::clone(self);
        tokio::spawn(async move {
            if dispatcher.settings.concurrency > 0 {
                dispatcher.run().await;
            }
        })
    }

    async fn run(self: Arc<Self>) {
        loop {
            let free = self.permits.available_permits();
            let claimed = if free == 0 {
                Ok(Vec::new())
            } else {
                self.claim(free).await
            };
            match claimed {
                Ok(endpoints) if !endpoints.is_empty() => {
                    for (tenant_id, endpoint_id) in endpoints {
                        let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
                            return;
                        };
                        let dispatcher = Arc::clone(&self);
                        tokio::spawn(async move {
                            if let Err(error) = dispatcher.serve(tenant_id, endpoint_id).await {
                                tracing::warn!(?error, %endpoint_id, "webhook delivery failed");
                            }
                            drop(permit);
                            dispatcher.wake();
                        });
                    }
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(?error, "claiming webhook endpoints failed"),
            }
            let _ = tokio::time::timeout(self.settings.poll, self.wake.notified()).await;
        }
    }

    async fn claim(&self, most: usize) -> Result<Vec<(Uuid, Uuid)>, ApiError> {
        // The claim names no clinic: it runs through its SECURITY DEFINER function, in a
        // transaction of no clinic and no role.
        let transaction =
            begin_tenant_transaction(&self.db, &TenantScope::server_work(Uuid::nil())).await?;
        let claimed = store::claim(&transaction, self.worker, self.lease_ms(), most as i32).await?;
        transaction.commit().await?;
        Ok(claimed)
    }

    /// Delivers the claimed endpoint's events until it is caught up, fails, or has had its
    /// share; then gives the lease back.
    async fn serve(&self, tenant_id: Uuid, endpoint_id: Uuid) -> Result<(), ApiError> {
        let scope = TenantScope::server_work(tenant_id);
        let mut delivered = 0;
        loop {
            let transaction = begin_tenant_transaction(&self.db, &scope).await?;
            let Some(endpoint) =
                store::leased_endpoint(&transaction, endpoint_id, self.worker).await?
            else {
                return Ok(());
            };
            let events =
                events_after(&transaction, tenant_id, endpoint.last_event_id, None, PAGE).await?;
            transaction.commit().await?;
            let Some(last) = events.last().map(|event| event.id) else {
                return self.release(&scope, endpoint_id).await;
            };
            let mut endpoint = endpoint;
            for event in &events {
                if !endpoint.event_kinds.contains(&event.kind) {
                    continue;
                }
                // Pass over the events before it that the endpoint does not want.
                if event.id > endpoint.last_event_id + 1 {
                    if !self.advance(&scope, &endpoint, event.id - 1).await? {
                        return Ok(());
                    }
                    endpoint.last_event_id = event.id - 1;
                }
                if !self.deliver(&scope, &endpoint, event).await? {
                    // Failed (a retry is scheduled and the lease given back), or the cursor was
                    // moved meanwhile (a replay): stop here either way.
                    self.release(&scope, endpoint_id).await?;
                    return self.prune_if_due(&scope).await;
                }
                endpoint.last_event_id = event.id;
                endpoint.attempts = 0;
                endpoint.failing_since = None;
                delivered += 1;
                if delivered >= PER_CLAIM {
                    break;
                }
            }
            if delivered >= PER_CLAIM {
                break;
            }
            // Pass over what is left of the page that the endpoint does not want.
            if endpoint.last_event_id < last && !self.advance(&scope, &endpoint, last).await? {
                return Ok(());
            }
        }
        self.release(&scope, endpoint_id).await?;
        self.prune_if_due(&scope).await
    }

    async fn advance(
        &self,
        scope: &TenantScope,
        endpoint: &webhook_endpoint::Model,
        to: i64,
    ) -> Result<bool, ApiError> {
        let transaction = begin_tenant_transaction(&self.db, scope).await?;
        let moved = store::advance(
            &transaction,
            endpoint.id,
            self.worker,
            (endpoint.last_event_id, to),
            self.lease_ms(),
        )
        .await?;
        transaction.commit().await?;
        Ok(moved)
    }

    async fn release(&self, scope: &TenantScope, endpoint_id: Uuid) -> Result<(), ApiError> {
        let transaction = begin_tenant_transaction(&self.db, scope).await?;
        store::release(&transaction, endpoint_id, self.worker).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Sends one event and records the attempt; true when it was received (2xx) and the cursor
    /// moved past it.
    async fn deliver(
        &self,
        scope: &TenantScope,
        endpoint: &webhook_endpoint::Model,
        event: &AppointmentEvent,
    ) -> Result<bool, ApiError> {
        let webhook_id = format!("msg_{}_{}", endpoint.id.simple(), event.id);
        let attempt_number = endpoint.attempts + 1;
        let started = Instant::now();
        let outcome = {
            let _in_flight = Counted::on(&self.metrics.in_flight);
            self.send(endpoint, event, &webhook_id).await
        };
        let latency_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        let (status_code, error) = match &outcome {
            Ok(status) if (200..300).contains(status) => (Some(*status), None),
            Ok(status) => (
                Some(*status),
                Some(format!("the receiver answered {status}")),
            ),
            Err(error) => (None, Some(error.clone())),
        };
        let succeeded = error.is_none();
        if succeeded {
            self.metrics.delivered.inc();
            let lag = Utc::now() - chrono::DateTime::<Utc>::from(event.occurred_at);
            self.metrics
                .lag
                .observe(lag.num_milliseconds().max(0) as f64 / 1000.0);
        } else {
            self.metrics.failed.inc();
        }
        let attempt = Attempt {
            event_id: event.id,
            webhook_id,
            attempt: attempt_number,
            status_code: status_code.map(i32::from),
            latency_ms,
            error: error.map(|text| text.chars().take(MAX_ERROR_CHARS).collect()),
        };
        // The endpoint's row is locked before the attempt is logged, because logging it writes
        // the clinic's audit chain: a ClinicAdmin's replay or re-enable locks in the same order
        // (the row, then the chain), so the two wait for each other instead of deadlocking.
        let transaction = begin_tenant_transaction(&self.db, scope).await?;
        let moved = if succeeded {
            store::advance(
                &transaction,
                endpoint.id,
                self.worker,
                (endpoint.last_event_id, event.id),
                self.lease_ms(),
            )
            .await?
        } else {
            let failing_since = endpoint
                .failing_since
                .map(chrono::DateTime::<Utc>::from)
                .unwrap_or_else(Utc::now);
            let window = chrono::Duration::from_std(self.settings.retry_window)
                .unwrap_or(chrono::Duration::MAX);
            let disable = (Utc::now() - failing_since >= window).then(|| {
                format!(
                    "event {} failed for {} hours ({} attempts); re-enable to resume",
                    event.id,
                    self.settings.retry_window.as_secs() / 3600,
                    attempt_number
                )
            });
            if disable.is_some() {
                self.metrics.disabled.inc();
            }
            let delay = retry_delay(&self.settings, attempt_number);
            store::fail(
                &transaction,
                endpoint.id,
                self.worker,
                endpoint.last_event_id,
                delay.as_millis() as i64,
                disable,
            )
            .await?;
            false
        };
        store::log_attempt(&transaction, endpoint.id, &attempt, succeeded).await?;
        transaction.commit().await?;
        Ok(moved)
    }

    /// The receiver's status, or why there was none.
    async fn send(
        &self,
        endpoint: &webhook_endpoint::Model,
        event: &AppointmentEvent,
        webhook_id: &str,
    ) -> Result<u16, String> {
        // The operator's allow-list may have changed since the endpoint was registered; a name
        // is checked again as the client resolves it.
        let url = self
            .policy
            .check_url(&endpoint.url)
            .map_err(|refused| refused.0)?;
        let secrets = self
            .vault
            .signing_secrets(endpoint)
            .map_err(|_| "the endpoint's secret cannot be opened".to_owned())?;
        let body =
            serde_json::to_vec(&WebhookPayloadV1::of(event)).map_err(|error| error.to_string())?;
        let timestamp = Utc::now().timestamp();
        let signature = signature_header(
            secrets.iter().map(Vec::as_slice),
            webhook_id,
            timestamp,
            &body,
        );
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(describe)?;
        Ok(response.status().as_u16())
    }

    async fn prune_if_due(&self, scope: &TenantScope) -> Result<(), ApiError> {
        {
            let mut pruned = lock(&self.pruned);
            let now = Instant::now();
            match pruned.get(&scope.tenant_id) {
                Some(last) if now.duration_since(*last) < PRUNE_EVERY => return Ok(()),
                _ => pruned.insert(scope.tenant_id, now),
            };
        }
        let older_than = Utc::now()
            - chrono::Duration::from_std(self.settings.log_retention)
                .unwrap_or(chrono::Duration::MAX);
        let transaction = begin_tenant_transaction(&self.db, scope).await?;
        store::prune(&transaction, older_than).await?;
        transaction.commit().await?;
        Ok(())
    }
}

/// What went wrong, without the URL (it may carry a partner's token in its path).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    if error.is_timeout() {
        "no answer within the timeout".to_owned()
    } else if error.is_connect() {
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&error);
        let mut cause = String::from("could not connect");
        while let Some(inner) = source {
            cause = format!("could not connect: {inner}");
            source = inner.source();
        }
        cause
    } else {
        error.to_string()
    }
}

/// The delay before attempt `attempt + 1`: the base doubled per failed attempt, capped, with
/// "equal jitter" (half fixed, half random) so that endpoints failing together spread out.
pub fn retry_delay(settings: &DispatcherSettings, attempt: i32) -> Duration {
    let exponent = attempt.saturating_sub(1).clamp(0, 30) as u32;
    let full = settings
        .retry_base
        .saturating_mul(1u32 << exponent)
        .min(settings.retry_max_delay);
    let half = full / 2;
    let random = getrandom::u64().unwrap_or(0) % (half.as_millis() as u64 + 1);
    half + Duration::from_millis(random)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_with_jitter_up_to_the_cap() {
        let settings = DispatcherSettings {
            concurrency: 1,
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(5),
            retry_max_delay: Duration::from_secs(3600),
            retry_window: Duration::from_secs(72 * 3600),
            log_retention: Duration::from_secs(86_400),
            poll: Duration::from_secs(1),
        };
        for (attempt, full) in [(1, 5), (2, 10), (3, 20), (10, 2560), (11, 3600), (40, 3600)] {
            let delay = retry_delay(&settings, attempt);
            let full = Duration::from_secs(full);
            assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
        }
        // Over 72 hours the schedule makes dozens of attempts, not a handful.
        let mut elapsed = Duration::ZERO;
        let mut attempts = 0;
        while elapsed < settings.retry_window {
            attempts += 1;
            elapsed += retry_delay(&settings, attempts);
        }
        assert!(attempts > 70, "{attempts} attempts in 72 hours");
    }
}

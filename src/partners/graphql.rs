//! Webhooks over GraphQL (ClinicAdmin): register endpoints, list them with their delivery state,
//! re-enable a disabled one, replay from an event, rotate the signing secret, read the delivery
//! log. The rules are in `webhooks`.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::foundation::error::ApiError;
use crate::foundation::session::session;
use crate::partners::address::AddressPolicy;
use crate::partners::entity::{webhook_delivery, webhook_endpoint};
use crate::partners::store;
use crate::partners::webhooks::{self, EndpointRequest, WebhookVault};
use crate::scheduling::AppointmentEventKind;

const MAX_DELIVERIES_PER_PAGE: i32 = 100;

/// Where a clinic's appointment events are delivered by HTTP POST, signed per the Standard
/// Webhooks specification (`webhook-id`, `webhook-timestamp`, `webhook-signature`), in event
/// order and at least once.
#[derive(SimpleObject)]
pub struct WebhookEndpoint {
    /// The endpoint's id.
    pub id: Uuid,
    /// Where events are POSTed.
    pub url: String,
    /// What the endpoint is for, as the ClinicAdmin described it.
    pub description: String,
    /// The kinds of events delivered; others are passed over.
    pub event_kinds: Vec<AppointmentEventKind>,
    /// False once the endpoint failed the same event for the whole retry window (72 hours by
    /// default): nothing is delivered until `enableWebhookEndpoint`.
    pub enabled: bool,
    /// When the endpoint was disabled (UTC); null while enabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why it was disabled; null while enabled.
    pub disabled_reason: Option<String>,
    /// The last event delivered (or passed over as a kind not wanted); delivery goes on with
    /// the next.
    pub last_delivered_event_id: ID,
    /// Consecutive failed attempts of the next event; 0 when all is well.
    pub consecutive_failures: i32,
    /// When the current run of failures began (UTC); null when all is well.
    pub failing_since: Option<DateTime<Utc>>,
    /// When the next attempt is due (UTC).
    pub next_attempt_at: DateTime<Utc>,
    /// Until when the secret before the last rotation still signs too (UTC); null if none.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When the endpoint was registered (UTC).
    pub created_at: DateTime<Utc>,
}

impl From<webhook_endpoint::Model> for WebhookEndpoint {
    fn from(model: webhook_endpoint::Model) -> Self {
        WebhookEndpoint {
            id: model.id,
            url: model.url,
            description: model.description,
            event_kinds: model
                .event_kinds
                .iter()
                .filter_map(|kind| AppointmentEventKind::parse(kind))
                .collect(),
            enabled: model.state == "Enabled",
            disabled_at: model.disabled_at.map(Into::into),
            disabled_reason: model.disabled_reason,
            last_delivered_event_id: ID(model.last_event_id.to_string()),
            consecutive_failures: model.attempts,
            failing_since: model.failing_since.map(Into::into),
            next_attempt_at: model.next_attempt_at.into(),
            previous_secret_expires_at: model.previous_secret_expires_at.map(Into::into),
            created_at: model.created_at.into(),
        }
    }
}

/// One delivery attempt.
#[derive(SimpleObject)]
pub struct WebhookDelivery {
    /// The event delivered.
    pub event_id: ID,
    /// The `webhook-id` sent: the same on every attempt of the event, for de-duplication.
    pub webhook_id: String,
    /// 1 for the first attempt of the event, 2 for the first retry, …
    pub attempt: i32,
    /// When the attempt was made (UTC).
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status; null when no answer came.
    pub status_code: Option<i32>,
    /// How long the attempt took, in milliseconds.
    pub latency_ms: i32,
    /// Whether the receiver took it (a 2xx answer).
    pub succeeded: bool,
    /// What went wrong; null on success.
    pub error: Option<String>,
}

impl From<webhook_delivery::Model> for WebhookDelivery {
    fn from(model: webhook_delivery::Model) -> Self {
        WebhookDelivery {
            event_id: ID(model.event_id.to_string()),
            webhook_id: model.webhook_id,
            attempt: model.attempt,
            attempted_at: model.attempted_at.into(),
            status_code: model.status_code,
            latency_ms: model.latency_ms,
            succeeded: model.succeeded,
            error: model.error,
        }
    }
}

/// A webhook endpoint to register.
#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// Where to POST events: https, at a public address (an operator's allow-list may admit
    /// others); redirects are not followed.
    pub url: String,
    /// The kinds of events to deliver: at least one.
    pub event_kinds: Vec<AppointmentEventKind>,
    /// What the endpoint is for: one line, at most 500 characters.
    pub description: Option<String>,
}

/// An endpoint with its signing secret, shown this once.
#[derive(SimpleObject)]
pub struct WebhookEndpointWithSecret {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// The signing secret (`whsec_…`), as Standard Webhooks libraries take it. Shown this once.
    pub secret: String,
}

fn vault<'a>(ctx: &Context<'a>) -> Result<&'a Arc<WebhookVault>, ApiError> {
    ctx.data::<Arc<WebhookVault>>()
        .map_err(|_| ApiError::internal())
}

fn event_id(field: &str, id: &ID) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .map_err(|_| ApiError::bad_input(field, "must be an event id such as \"42\""))
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The clinic's webhook endpoints, oldest first, with their delivery state. ClinicAdmin only.
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> Result<Vec<WebhookEndpoint>, ApiError> {
        let session = session(ctx)?;
        Ok(webhooks::list(session.db(), &session.principal)
            .await?
            .into_iter()
            .map(WebhookEndpoint::from)
            .collect())
    }

    /// An endpoint's delivery log, newest attempt first (kept for the server's retention,
    /// `HPMS_WEBHOOK_LOG_RETENTION_DAYS`). ClinicAdmin only.
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint's id.")] endpoint_id: Uuid,
        #[graphql(default = 50, desc = "Most attempts to return: 1 to 100.")] first: i32,
    ) -> Result<Vec<WebhookDelivery>, ApiError> {
        let session = session(ctx)?;
        webhooks::find(session.db(), &session.principal, endpoint_id).await?;
        if !(1..=MAX_DELIVERIES_PER_PAGE).contains(&first) {
            return Err(ApiError::bad_input(
                "first",
                format!("must be between 1 and {MAX_DELIVERIES_PER_PAGE}"),
            ));
        }
        Ok(store::deliveries(session.db(), endpoint_id, first as u64)
            .await?
            .into_iter()
            .map(WebhookDelivery::from)
            .collect())
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an endpoint; it receives the clinic's events from now on. BAD_USER_INPUT for a
    /// URL that is not https or names or resolves to a loopback, private, link-local or
    /// metadata address (unless the operator allow-lists its host). ClinicAdmin only.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint to register.")] input: CreateWebhookEndpointInput,
    ) -> Result<WebhookEndpointWithSecret, ApiError> {
        let session = session(ctx)?;
        let policy = ctx
            .data::<AddressPolicy>()
            .map_err(|_| ApiError::internal())?;
        let (endpoint, secret) = webhooks::register(
            session.db(),
            &session.principal,
            (vault(ctx)?, policy),
            EndpointRequest {
                url: input.url,
                description: input.description,
                event_kinds: input.event_kinds,
            },
        )
        .await?;
        Ok(WebhookEndpointWithSecret {
            endpoint: endpoint.into(),
            secret,
        })
    }

    /// Enables an endpoint again (after it was disabled for failing); delivery resumes from the
    /// first event it has not had. ClinicAdmin only.
    async fn enable_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint's id.")] id: Uuid,
    ) -> Result<WebhookEndpoint, ApiError> {
        let session = session(ctx)?;
        Ok(webhooks::enable(session.db(), &session.principal, id)
            .await?
            .into())
    }

    /// Delivers the clinic's events again from `fromEventId` on, in order (each with the same
    /// `webhook-id` as before). ClinicAdmin only.
    async fn replay_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint's id.")] endpoint_id: Uuid,
        #[graphql(desc = "The first event to deliver again.")] from_event_id: ID,
    ) -> Result<WebhookEndpoint, ApiError> {
        let session = session(ctx)?;
        let from = event_id("fromEventId", &from_event_id)?;
        Ok(
            webhooks::replay(session.db(), &session.principal, endpoint_id, from)
                .await?
                .into(),
        )
    }

    /// A new signing secret, shown this once; the current one keeps signing beside it for
    /// `overlapMinutes`, so receivers can switch without missing a message. ClinicAdmin only.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint's id.")] id: Uuid,
        #[graphql(
            default = 1440,
            desc = "How long the current secret keeps signing too, in minutes: 0 to 10080 (a week)."
        )]
        overlap_minutes: i32,
    ) -> Result<WebhookEndpointWithSecret, ApiError> {
        let session = session(ctx)?;
        let (endpoint, secret) = webhooks::rotate_secret(
            session.db(),
            &session.principal,
            vault(ctx)?,
            id,
            overlap_minutes,
        )
        .await?;
        Ok(WebhookEndpointWithSecret {
            endpoint: endpoint.into(),
            secret,
        })
    }
}

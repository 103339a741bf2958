//! Appointment status changes for partners and live screens: the `appointmentStatusChanged`
//! subscription (WebSocket) and the `appointmentEvents` query (polling). Both carry ids and
//! statuses only, never PHI, and both resume from an event id.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use crate::foundation::access::Permission;
use crate::foundation::error::ApiError;
use crate::foundation::session::session;
use crate::identity::Authenticated;
use crate::scheduling::entity::appointment_event;
use crate::scheduling::event_feed::{EventHub, check_after, events_after, latest_event_id};
use crate::scheduling::model::AppointmentStatus;

const MAX_EVENTS_PER_PAGE: i32 = 500;

/// An appointment was booked (`oldStatus` null) or changed status.
#[derive(SimpleObject)]
pub struct AppointmentStatusEvent {
    /// The clinic's event number, in commit order: the cursor to resume `after`.
    pub id: ID,
    /// The appointment booked or changed.
    pub appointment_id: Uuid,
    /// The appointment's provider.
    pub provider_id: Uuid,
    /// The status before the change; null when the appointment was booked.
    pub old_status: Option<AppointmentStatus>,
    /// The status after the change (Scheduled for a booking).
    pub new_status: AppointmentStatus,
    /// When the change was made (UTC).
    pub occurred_at: DateTime<Utc>,
}

impl TryFrom<&appointment_event::Model> for AppointmentStatusEvent {
    type Error = ApiError;

    fn try_from(event: &appointment_event::Model) -> Result<Self, ApiError> {
        let status = |stored: &str| {
            AppointmentStatus::parse(stored)
                .ok_or_else(|| ApiError::internal_with("an event has an unknown status"))
        };
        Ok(AppointmentStatusEvent {
            id: ID(event.id.to_string()),
            appointment_id: event.appointment_id,
            provider_id: event.provider_id,
            old_status: event.old_status.as_deref().map(status).transpose()?,
            new_status: status(&event.new_status)?,
            occurred_at: event.occurred_at.into(),
        })
    }
}

fn event_id(field: &str, id: &ID) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .map_err(|_| ApiError::bad_input(field, "must be an event id such as \"42\""))
}

#[derive(Default)]
pub struct EventsQuery;

#[Object]
impl EventsQuery {
    /// The clinic's appointment events after event `after` (0, or omitted, for the first),
    /// oldest first: the polling alternative to `appointmentStatusChanged`. Ids and statuses
    /// only, no PHI. ClinicAdmin, Provider, FrontDesk, BillingManager, and API keys with scope
    /// APPOINTMENT_EVENTS.
    async fn appointment_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The id of the last event already read (0 or omitted: from the clinic's first event); must be one the clinic has had."
        )]
        after: Option<ID>,
        #[graphql(default = 100, desc = "Most events to return: 1 to 500.")] first: i32,
    ) -> Result<Vec<AppointmentStatusEvent>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::FollowAppointmentEvents)?;
        if !(1..=MAX_EVENTS_PER_PAGE).contains(&first) {
            return Err(ApiError::bad_input(
                "first",
                format!("must be between 1 and {MAX_EVENTS_PER_PAGE}"),
            ));
        }
        let after = match after {
            Some(after) => check_after(
                event_id("after", &after)?,
                latest_event_id(session.db(), session.tenant_id()).await?,
            )?,
            None => 0,
        };
        events_after(session.db(), session.tenant_id(), after, None, first as u64)
            .await?
            .iter()
            .map(AppointmentStatusEvent::try_from)
            .collect()
    }
}

#[derive(Default)]
pub struct SchedulingSubscription;

#[Subscription]
impl SchedulingSubscription {
    /// The clinic's appointment bookings and status changes, in commit order, each exactly
    /// once. With `after`, the events since that one are replayed first; without it, events
    /// start from now. Authenticate in `connection_init` with `{"token": …}` or `{"apiKey": …}`.
    /// The subscription ends with an error carrying `extensions.resumeAfter` when access ends
    /// (a token expires, a key is revoked, a user or clinic is deactivated) or the subscriber
    /// reads too slowly (FELL_BEHIND): subscribe again with that `after`. Ids and statuses only,
    /// no PHI. ClinicAdmin, Provider, FrontDesk, BillingManager, and API keys with scope
    /// APPOINTMENT_EVENTS.
    async fn appointment_status_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The id of the last event already received, to replay those after it (0: from the clinic's first event); omit to start from now."
        )]
        after: Option<ID>,
    ) -> Result<impl Stream<Item = Result<AppointmentStatusEvent, ApiError>> + use<>, ApiError>
    {
        let auth = *ctx.data::<Authenticated>().map_err(|_| {
            ApiError::unauthenticated(
                "send {\"token\": …} or {\"apiKey\": …} in the connection_init payload",
            )
        })?;
        auth.principal
            .require(Permission::FollowAppointmentEvents)?;
        let after = after.map(|id| event_id("after", &id)).transpose()?;
        let hub = ctx
            .data::<Arc<EventHub>>()
            .map_err(|_| ApiError::internal())?;
        let events = hub.subscribe(auth, after).await?;
        Ok(events.map(|item| item.and_then(|event| AppointmentStatusEvent::try_from(&*event))))
    }
}

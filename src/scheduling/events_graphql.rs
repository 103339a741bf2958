//! Appointment changes for partners and live screens: the `appointmentStatusChanged`
//! subscription (WebSocket) and the `appointmentEvents` query (polling). Both carry what changed
//! (kind, ids, times, statuses, a cancellation's reason) and never a name or contact detail, and
//! both resume from an event id.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use crate::foundation::access::Permission;
use crate::foundation::error::ApiError;
use crate::foundation::session::session;
use crate::identity::Authenticated;
use crate::scheduling::entity::appointment_event;
use crate::scheduling::event_feed::{EventHub, check_after, events_after, latest_event_id};
use crate::scheduling::model::{AppointmentStatus, CancellationCategory};

const MAX_EVENTS_PER_PAGE: i32 = 500;

/// What happened to the appointment.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppointmentEventKind {
    /// It was booked: `oldStatus` is null, `newStatus` SCHEDULED.
    Booked,
    /// It moved: `previousStartsAt` and `previousEndsAt` hold the times it had; the status is
    /// unchanged (SCHEDULED).
    Rescheduled,
    /// Its status changed (arrival, start or end of the visit, no-show).
    StatusChanged,
    /// It was cancelled: `cancelReasonCategory` and `cancelReason` say why.
    Cancelled,
    /// A cancellation or reschedule (the event just before) freed `startsAt` to `endsAt` with
    /// `providerId`, and someone on the waitlist fits it (`waitlistMatches` says who).
    /// `patientId` is null: the event names no patient. `typeId` is the freed appointment's
    /// type, `newStatus` its status after the change.
    SlotFreed,
}

impl AppointmentEventKind {
    pub const ALL: [AppointmentEventKind; 5] = [
        AppointmentEventKind::Booked,
        AppointmentEventKind::Rescheduled,
        AppointmentEventKind::StatusChanged,
        AppointmentEventKind::Cancelled,
        AppointmentEventKind::SlotFreed,
    ];

    /// The name stored in `appointment_events.kind` (and `webhook_endpoints.event_kinds`).
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentEventKind::Booked => "Booked",
            AppointmentEventKind::Rescheduled => "Rescheduled",
            AppointmentEventKind::StatusChanged => "StatusChanged",
            AppointmentEventKind::Cancelled => "Cancelled",
            AppointmentEventKind::SlotFreed => "SlotFreed",
        }
    }

    /// The kind stored in `appointment_events.kind`.
    pub fn parse(stored: &str) -> Option<AppointmentEventKind> {
        Some(match stored {
            "Booked" => AppointmentEventKind::Booked,
            "Rescheduled" => AppointmentEventKind::Rescheduled,
            "StatusChanged" => AppointmentEventKind::StatusChanged,
            "Cancelled" => AppointmentEventKind::Cancelled,
            "SlotFreed" => AppointmentEventKind::SlotFreed,
            _ => return None,
        })
    }
}

/// Who made a change.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    /// A signed-in user of the clinic.
    User,
    /// A partner system, with an API key.
    ApiKey,
    /// The server itself (such as loading demo data).
    System,
}

impl ActorKind {
    fn parse(stored: &str) -> Option<ActorKind> {
        Some(match stored {
            "User" => ActorKind::User,
            "ApiKey" => ActorKind::ApiKey,
            "System" => ActorKind::System,
            _ => return None,
        })
    }
}

/// A change of an appointment: booked, rescheduled, changed status or cancelled. Ids, times and
/// statuses only: never a patient's name or contact details (a key with scope PATIENT_CONTACT
/// looks those up). Note that a cancellation's `cancelReason` is the clinic's free text.
#[derive(SimpleObject)]
pub struct AppointmentStatusEvent {
    /// The clinic's event number, in commit order: the cursor to resume `after`.
    pub id: ID,
    /// What happened.
    pub kind: AppointmentEventKind,
    /// The appointment booked or changed.
    pub appointment_id: Uuid,
    /// The appointment's provider.
    pub provider_id: Uuid,
    /// The appointment's patient (an id only); null for SLOT_FREED, which names no patient.
    pub patient_id: Option<Uuid>,
    /// The appointment's type.
    pub type_id: Uuid,
    /// When the visit starts (UTC), after the change.
    pub starts_at: DateTime<Utc>,
    /// When the visit ends (UTC, exclusive), after the change.
    pub ends_at: DateTime<Utc>,
    /// When the visit started before a reschedule (UTC); null for every other kind.
    pub previous_starts_at: Option<DateTime<Utc>>,
    /// When the visit ended before a reschedule (UTC); null for every other kind.
    pub previous_ends_at: Option<DateTime<Utc>>,
    /// The status before the change; null when the appointment was booked.
    pub old_status: Option<AppointmentStatus>,
    /// The status after the change (Scheduled for a booking and a reschedule).
    pub new_status: AppointmentStatus,
    /// Why it was cancelled, as a category; null unless `kind` is CANCELLED (and on
    /// cancellations recorded before categories).
    pub cancel_reason_category: Option<CancellationCategory>,
    /// Why it was cancelled, as the clinic wrote it; null unless `kind` is CANCELLED.
    pub cancel_reason: Option<String>,
    /// Who made the change: a user, a partner's key or the server.
    pub actor_kind: ActorKind,
    /// When the change was made (UTC).
    pub occurred_at: DateTime<Utc>,
}

impl TryFrom<&appointment_event::Model> for AppointmentStatusEvent {
    type Error = ApiError;

    fn try_from(event: &appointment_event::Model) -> Result<Self, ApiError> {
        let unknown =
            |what: &str| ApiError::internal_with(format!("an event has an unknown {what}"));
        let status =
            |stored: &str| AppointmentStatus::parse(stored).ok_or_else(|| unknown("status"));
        Ok(AppointmentStatusEvent {
            id: ID(event.id.to_string()),
            kind: AppointmentEventKind::parse(&event.kind).ok_or_else(|| unknown("kind"))?,
            appointment_id: event.appointment_id,
            provider_id: event.provider_id,
            patient_id: event.patient_id,
            type_id: event.type_id,
            starts_at: event.starts_at.into(),
            ends_at: event.ends_at.into(),
            previous_starts_at: event.previous_starts_at.map(Into::into),
            previous_ends_at: event.previous_ends_at.map(Into::into),
            old_status: event.old_status.as_deref().map(status).transpose()?,
            new_status: status(&event.new_status)?,
            cancel_reason_category: event
                .cancel_reason_category
                .as_deref()
                .map(|stored| {
                    CancellationCategory::parse(stored).ok_or_else(|| unknown("category"))
                })
                .transpose()?,
            cancel_reason: event.cancel_reason.clone(),
            actor_kind: ActorKind::parse(&event.actor_kind).ok_or_else(|| unknown("actor"))?,
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
    /// oldest first: the polling alternative to `appointmentStatusChanged`. What changed, with
    /// ids and times, never a name or contact detail. ClinicAdmin, Provider, FrontDesk, BillingManager, and API keys with scope
    /// APPOINTMENT_EVENTS.
    // Counted like a page of `first` rows, so aliases of large pages exceed the request's
    // complexity limit instead of reading thousands of rows on one connection.
    #[graphql(
        complexity = "first.clamp(1, MAX_EVENTS_PER_PAGE) as usize * child_complexity.max(1)"
    )]
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
    /// The clinic's appointment bookings, reschedules, status changes and cancellations, in
    /// commit order, each exactly once. With `after`, the events since that one are replayed first; without it, events
    /// start from now. Authenticate in `connection_init` with `{"token": …}` or `{"apiKey": …}`.
    /// The subscription ends with an error carrying `extensions.resumeAfter` when access ends
    /// (a token expires, a key is revoked, a user or clinic is deactivated) or the subscriber
    /// reads too slowly (FELL_BEHIND): subscribe again with that `after`. Ids, times and
    /// statuses, never a name or contact detail. ClinicAdmin, Provider, FrontDesk, BillingManager, and API keys with scope
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

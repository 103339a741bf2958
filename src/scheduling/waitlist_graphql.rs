//! The waitlist over GraphQL: `addToWaitlist`, `removeFromWaitlist`, the `waitlist` list and
//! `waitlistMatches` for a freed slot. Thin: the rules are in `waitlist.rs`; booking from an
//! entry is `bookAppointment`'s `waitlistEntryId`.

use async_graphql::connection::Connection;
use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::foundation::error::ApiError;
use crate::foundation::paging::{PageRequest, connection};
use crate::foundation::session::session;
use crate::scheduling::entity::waitlist_entry;
use crate::scheduling::time_off::Span;
use crate::scheduling::waitlist::{self, WaitlistRequest};

/// A patient waiting for an earlier slot. Ids, not names: read the patient with `patient(id)`.
#[derive(SimpleObject)]
pub struct WaitlistEntry {
    /// The entry's id, for `removeFromWaitlist` and `bookAppointment`'s `waitlistEntryId`.
    pub id: Uuid,
    /// The patient waiting.
    pub patient_id: Uuid,
    /// The provider they wait for; null for any provider.
    pub provider_id: Option<Uuid>,
    /// The appointment type they wait for.
    pub type_id: Uuid,
    /// The earliest a slot may start (UTC).
    pub start: DateTime<Utc>,
    /// The latest a slot may end (UTC, exclusive).
    pub end: DateTime<Utc>,
    /// The front desk's notes (such as "mornings only"); empty if none.
    pub notes: String,
    /// When the patient was added: the waitlist is offered oldest first.
    pub created_at: DateTime<Utc>,
}

impl From<waitlist_entry::Model> for WaitlistEntry {
    fn from(model: waitlist_entry::Model) -> Self {
        WaitlistEntry {
            id: model.id,
            patient_id: model.patient_id,
            provider_id: model.provider_id,
            type_id: model.type_id,
            start: model.earliest.into(),
            end: model.latest.into(),
            notes: model.notes,
            created_at: model.created_at.into(),
        }
    }
}

/// A patient waiting for an earlier slot, and the window they can come in: either `start` and
/// `end`, or `firstDay` (and `lastDay`) for whole days in the clinic's time zone. At most 366
/// days.
#[derive(InputObject)]
pub struct AddToWaitlistInput {
    /// The patient waiting; must not be deleted.
    pub patient_id: Uuid,
    /// The provider they wait for (an active Provider of the clinic); omit for any provider.
    pub provider_id: Option<Uuid>,
    /// The appointment type they wait for: a freed slot must be at least its length.
    pub type_id: Uuid,
    /// The earliest a slot may start (UTC).
    pub start: Option<DateTime<Utc>>,
    /// The latest a slot may end (UTC, exclusive), after `start`.
    pub end: Option<DateTime<Utc>>,
    /// The first whole day they can come (the clinic's calendar).
    pub first_day: Option<NaiveDate>,
    /// The last whole day they can come; defaults to `firstDay`.
    pub last_day: Option<NaiveDate>,
    /// The front desk's notes, at most 1000 characters.
    pub notes: Option<String>,
}

#[derive(Default)]
pub struct WaitlistQuery;

#[Object]
impl WaitlistQuery {
    /// The patients waiting for an earlier slot, oldest first. ClinicAdmin, Provider, FrontDesk.
    #[graphql(complexity = "crate::foundation::paging::complexity(first, child_complexity)")]
    async fn waitlist(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 1 to 100; 20 if omitted.")] first: Option<i32>,
        #[graphql(
            desc = "An opaque cursor: the `endCursor` of the previous page, to read the page after it."
        )]
        after: Option<String>,
    ) -> Result<Connection<String, WaitlistEntry>, ApiError> {
        let session = session(ctx)?;
        let page = PageRequest::<(DateTime<Utc>, Uuid)>::new(first, after.as_deref())?;
        let rows = waitlist::page(
            session.db(),
            &session.principal,
            page.after.as_ref(),
            page.limit(),
        )
        .await?
        .into_iter()
        .map(|model| {
            (
                (model.created_at.into(), model.id),
                WaitlistEntry::from(model),
            )
        })
        .collect();
        Ok(connection(&page, rows))
    }

    /// The waiting patients a free slot `[start, end)` with the provider fits, oldest first (at
    /// most 50): waiting for that provider or any, for a type no longer than the slot, in a
    /// window that contains it. Pass a SLOT_FREED event's `providerId`, `startsAt` and `endsAt`.
    /// ClinicAdmin, Provider, FrontDesk.
    async fn waitlist_matches(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The provider whose slot is free.")] provider_id: Uuid,
        #[graphql(desc = "When the free slot starts (UTC).")] start: DateTime<Utc>,
        #[graphql(desc = "When the free slot ends (UTC, exclusive), after `start`.")] end: DateTime<
            Utc,
        >,
    ) -> Result<Vec<WaitlistEntry>, ApiError> {
        let session = session(ctx)?;
        let entries =
            waitlist::matches(session.db(), &session.principal, provider_id, (start, end)).await?;
        Ok(entries.into_iter().map(WaitlistEntry::from).collect())
    }
}

#[derive(Default)]
pub struct WaitlistMutation;

#[Object]
impl WaitlistMutation {
    /// Adds a patient waiting for an earlier slot. ClinicAdmin, Provider, FrontDesk.
    async fn add_to_waitlist(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who waits, for whom, for what and when they can come.")]
        input: AddToWaitlistInput,
    ) -> Result<WaitlistEntry, ApiError> {
        let session = session(ctx)?;
        let window = Span::from_input((input.start, input.end), (input.first_day, input.last_day))?;
        let request = WaitlistRequest {
            patient_id: input.patient_id,
            provider_id: input.provider_id,
            type_id: input.type_id,
            window,
            notes: input.notes,
        };
        waitlist::add(session.db(), &session.principal, request)
            .await
            .map(WaitlistEntry::from)
    }

    /// Takes a patient off the waitlist (booking from an entry does it too). Returns the id.
    /// ClinicAdmin, Provider, FrontDesk.
    async fn remove_from_waitlist(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The waitlist entry to remove.")] id: Uuid,
    ) -> Result<Uuid, ApiError> {
        let session = session(ctx)?;
        waitlist::remove(session.db(), &session.principal, id).await
    }
}

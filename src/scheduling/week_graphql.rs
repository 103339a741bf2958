//! The clinic's week over GraphQL: time off and closures, one-day changes of a provider's hours,
//! cancelling several appointments at once, and recurring series. Thin: the rules are in
//! `time_off.rs`, `series.rs` and `booking.rs`.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use uuid::Uuid;

use crate::foundation::error::ApiError;
use crate::foundation::session::session;
use crate::identity::{DayOfWeek, WorkingHours};
use crate::scheduling::booking::{self, CancelRequest};
use crate::scheduling::entity::time_off;
use crate::scheduling::graphql::{Appointment, booking_window};
use crate::scheduling::model::CancellationCategory;
use crate::scheduling::series::{self, SeriesEnd, SeriesRequest, WeeklyRule};
use crate::scheduling::time_off::{self as time_off_service, Span};

/// A provider's time off, or a closure of the whole clinic: no booking starts or runs into it
/// (unless a ClinicAdmin overrides), and `availableSlots` offers nothing in it.
#[derive(SimpleObject)]
pub struct TimeOff {
    /// The time off's id, for `removeTimeOff`.
    pub id: Uuid,
    /// The provider who is away; null for a closure of the whole clinic.
    pub provider_id: Option<Uuid>,
    /// When it starts (UTC).
    pub start: DateTime<Utc>,
    /// When it ends (UTC, exclusive).
    pub end: DateTime<Utc>,
    /// Why, as entered: shown to the front desk in CONFLICT messages.
    pub reason: String,
}

impl From<time_off::Model> for TimeOff {
    fn from(model: time_off::Model) -> Self {
        TimeOff {
            id: model.id,
            provider_id: model.provider_id,
            start: model.starts_at.into(),
            end: model.ends_at.into(),
            reason: model.reason,
        }
    }
}

/// Time off just entered, and the appointments it overlaps, which keep their slot until the front
/// desk moves them (`rescheduleAppointment`) or cancels them (`cancelAppointments`).
#[derive(SimpleObject)]
pub struct AddTimeOffPayload {
    /// What was entered.
    pub time_off: TimeOff,
    /// The Scheduled, Arrived, InSession or Completed appointments in it, earliest first.
    pub affected_appointments: Vec<Appointment>,
}

/// A provider's time off: either `start` and `end` (part of a day, or across days), or
/// `firstDay` (and `lastDay`) for whole days in the clinic's time zone. At most 366 days.
#[derive(InputObject)]
pub struct AddTimeOffInput {
    /// The provider who is away: an active user of the clinic with the Provider role.
    pub provider_id: Uuid,
    /// When it starts (UTC), with `end`.
    pub start: Option<DateTime<Utc>>,
    /// When it ends (UTC, exclusive), after `start`.
    pub end: Option<DateTime<Utc>>,
    /// The first whole day away (clinic time zone), instead of `start` and `end`.
    pub first_day: Option<NaiveDate>,
    /// The last whole day away, on or after `firstDay`; defaults to `firstDay`.
    pub last_day: Option<NaiveDate>,
    /// Why (holiday, training, sick): one line, at most 200 characters.
    pub reason: String,
}

/// Whole days the clinic is closed (holidays), in its time zone. At most 366 days.
#[derive(InputObject)]
pub struct AddClinicClosureInput {
    /// The first day closed.
    pub first_day: NaiveDate,
    /// The last day closed, on or after `firstDay`; defaults to `firstDay`.
    pub last_day: Option<NaiveDate>,
    /// Why (a public holiday's name): one line, at most 200 characters.
    pub reason: String,
}

/// One working period of a day, in the clinic's time zone.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "DayPeriodInput")]
pub struct DayPeriod {
    /// When the period starts, such as 09:00:00; whole minutes.
    pub start: NaiveTime,
    /// When it ends (exclusive); whole minutes, and 00:00:00 means midnight at the end of the day.
    pub end: NaiveTime,
}

/// How often a series recurs, and until when: give `count` or `until`.
#[derive(InputObject)]
pub struct WeeklyRuleInput {
    /// Every this many weeks: 1 to 52 (1 is weekly, 2 fortnightly).
    #[graphql(default = 1)]
    pub every_weeks: i32,
    /// The days of the week it falls on; `firstStart` must be on one of them.
    pub days: Vec<DayOfWeek>,
    /// How many occurrences: 1 to 52.
    pub count: Option<i32>,
    /// The last date (clinic time zone) an occurrence may fall on; at most 52 occurrences.
    pub until: Option<NaiveDate>,
}

/// A recurring visit: the same patient, provider, type and wall-clock time, by a weekly rule.
#[derive(InputObject)]
pub struct BookSeriesInput {
    /// The patient to book; must not be deleted.
    pub patient_id: Uuid,
    /// The provider: an active user of the clinic with the Provider role.
    pub provider_id: Uuid,
    /// The appointment type, which sets each occurrence's length and price.
    pub type_id: Uuid,
    /// The first occurrence (UTC); its time of day in the clinic's time zone is every
    /// occurrence's, across daylight-saving changes.
    pub first_start: DateTime<Utc>,
    /// When it recurs.
    pub rule: WeeklyRuleInput,
    /// The room of every occurrence (`rooms`); omit it to have each occurrence take the first
    /// free room of the kind the type needs, if it needs one.
    pub room_id: Option<Uuid>,
}

/// New times for an occurrence of a series and every later Scheduled one, moved by the same
/// amount.
#[derive(InputObject)]
pub struct RescheduleSeriesFromInput {
    /// The first occurrence to move; it must be Scheduled.
    pub id: Uuid,
    /// That occurrence's `version` as last read; CONFLICT if it has changed since.
    pub expected_version: i64,
    /// Its new start (UTC); each later occurrence moves by as much.
    pub start: DateTime<Utc>,
}

/// A booked series.
#[derive(SimpleObject)]
pub struct BookSeriesPayload {
    /// The series' id, which each of its appointments carries as `seriesId`.
    pub series_id: Uuid,
    /// Every occurrence, earliest first.
    pub appointments: Vec<Appointment>,
}

#[derive(Default)]
pub struct ClinicWeekQuery;

#[Object]
impl ClinicWeekQuery {
    /// Time off and closures overlapping `[from, to)` (at most 366 days), earliest first: one
    /// provider's (with the clinic's closures), or everyone's. ClinicAdmin, Provider, FrontDesk,
    /// BillingManager.
    async fn time_off(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "From this instant (UTC).")] from: DateTime<Utc>,
        #[graphql(desc = "To this instant (UTC, exclusive), after `from`.")] to: DateTime<Utc>,
        #[graphql(desc = "Only this provider's time off, and the closures.")] provider_id: Option<
            Uuid,
        >,
    ) -> Result<Vec<TimeOff>, ApiError> {
        let session = session(ctx)?;
        let blocks =
            time_off_service::list(session.db(), &session.principal, provider_id, (from, to))
                .await?;
        Ok(blocks.into_iter().map(TimeOff::from).collect())
    }
}

#[derive(Default)]
pub struct ClinicWeekMutation;

#[Object]
impl ClinicWeekMutation {
    /// Enters a provider's time off; answers with the appointments already booked in it.
    /// ClinicAdmin, Provider, FrontDesk.
    async fn add_time_off(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who is away, when and why.")] input: AddTimeOffInput,
    ) -> Result<AddTimeOffPayload, ApiError> {
        let session = session(ctx)?;
        let span = Span::from_input((input.start, input.end), (input.first_day, input.last_day))?;
        let added = time_off_service::add(
            session.db(),
            &session.principal,
            Some(input.provider_id),
            span,
            &input.reason,
        )
        .await?;
        Ok(payload(added))
    }

    /// Closes the whole clinic for whole days; answers with every provider's appointments
    /// already booked in them. ClinicAdmin only.
    async fn add_clinic_closure(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The days closed and why.")] input: AddClinicClosureInput,
    ) -> Result<AddTimeOffPayload, ApiError> {
        let session = session(ctx)?;
        let span = Span::Days(input.first_day, input.last_day.unwrap_or(input.first_day));
        let added =
            time_off_service::add(session.db(), &session.principal, None, span, &input.reason)
                .await?;
        Ok(payload(added))
    }

    /// Removes time off (ClinicAdmin, Provider, FrontDesk) or a closure (ClinicAdmin); its
    /// times are offered again. Returns the id.
    async fn remove_time_off(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The time off or closure to remove.")] id: Uuid,
    ) -> Result<Uuid, ApiError> {
        let session = session(ctx)?;
        time_off_service::remove(session.db(), &session.principal, id).await
    }

    /// Sets a provider's hours on one date instead of that weekday's weekly hours (extra hours
    /// on a Saturday, a shorter Friday; an empty list is a day off; null goes back to the weekly
    /// hours). Returns the periods the date now has. ClinicAdmin only.
    async fn set_provider_day_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The provider: an active user of the clinic with the Provider role.")]
        provider_id: Uuid,
        #[graphql(desc = "The date, in the clinic's time zone (years 1900 to 9999).")]
        date: NaiveDate,
        #[graphql(
            desc = "That date's periods: whole minutes, none overlapping, at most 8; null for the weekly hours."
        )]
        hours: Option<Vec<DayPeriod>>,
    ) -> Result<Vec<DayPeriod>, ApiError> {
        let session = session(ctx)?;
        let periods = hours.map(|periods| {
            periods
                .into_iter()
                .map(|period| (period.start, period.end))
                .collect()
        });
        let hours = time_off_service::set_day_hours(
            session.db(),
            &session.principal,
            (provider_id, date),
            periods,
        )
        .await?;
        Ok(hours.into_iter().map(day_period).collect())
    }

    /// Cancels Scheduled appointments together, for one reason: all of them, or (if any is not
    /// found or not Scheduled) none. At most 100. FrontDesk, Provider, ClinicAdmin. Each late
    /// patient's cancellation owes its fee, as with `cancelAppointment`.
    async fn cancel_appointments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointments to cancel, each Scheduled; 1 to 100, none twice.")]
        ids: Vec<Uuid>,
        #[graphql(desc = "Why they are cancelled: one line, at most 500 characters.")]
        reason: String,
        #[graphql(
            desc = "Why they are cancelled, as a category partners can act on: the reason's with a `reasonId` (a different one is refused), else OTHER if omitted."
        )]
        category: Option<CancellationCategory>,
        #[graphql(desc = "One of the clinic's live cancellation reasons (`cancellationReasons`).")]
        reason_id: Option<Uuid>,
    ) -> Result<Vec<Appointment>, ApiError> {
        let session = session(ctx)?;
        let request = CancelRequest {
            reason: &reason,
            category,
            reason_id,
        };
        let cancelled = booking::cancel_many(
            session.db(),
            &session.principal,
            session.events(),
            &ids,
            request,
        )
        .await?;
        Ok(cancelled.into_iter().map(Appointment::new).collect())
    }

    /// Cancels an occurrence of a series and every later Scheduled occurrence of it, for one
    /// reason: all of them, or (if the occurrence changed since `expectedVersion`) none. One
    /// occurrence alone is `cancelAppointment`. FrontDesk, Provider, ClinicAdmin. Each late
    /// patient's cancellation owes its fee, as with `cancelAppointment`.
    async fn cancel_series_from(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first occurrence to cancel; it must be Scheduled.")] id: Uuid,
        #[graphql(
            desc = "That occurrence's `version` as last read; CONFLICT if it has changed since."
        )]
        expected_version: i64,
        #[graphql(desc = "Why they are cancelled: one line, at most 500 characters.")]
        reason: String,
        #[graphql(
            desc = "Why they are cancelled, as a category partners can act on: the reason's with a `reasonId` (a different one is refused), else OTHER if omitted."
        )]
        category: Option<CancellationCategory>,
        #[graphql(desc = "One of the clinic's live cancellation reasons (`cancellationReasons`).")]
        reason_id: Option<Uuid>,
    ) -> Result<Vec<Appointment>, ApiError> {
        let session = session(ctx)?;
        let request = CancelRequest {
            reason: &reason,
            category,
            reason_id,
        };
        let cancelled = series::cancel_from(
            session.db(),
            &session.principal,
            session.events(),
            (id, expected_version),
            request,
        )
        .await?;
        Ok(cancelled.into_iter().map(Appointment::new).collect())
    }

    /// Moves an occurrence of a series and every later Scheduled occurrence by the same amount,
    /// all or nothing: CONFLICT lists every occurrence that cannot move (also in
    /// `extensions.conflicts`). One occurrence alone is `rescheduleAppointment`. FrontDesk,
    /// Provider, ClinicAdmin.
    async fn reschedule_series_from(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first occurrence, its version as last read, and its new start.")]
        input: RescheduleSeriesFromInput,
    ) -> Result<Vec<Appointment>, ApiError> {
        let session = session(ctx)?;
        let moved = series::move_from(
            session.db(),
            &session.principal,
            booking_window(ctx)?,
            (input.id, input.expected_version),
            input.start,
        )
        .await?;
        Ok(moved.into_iter().map(Appointment::new).collect())
    }

    /// Books a recurring visit, all or nothing: every occurrence within working hours, clear of
    /// time off and closures and of the provider's other appointments, or none is booked and
    /// CONFLICT lists every occurrence that cannot be (also in `extensions.conflicts`). At most
    /// 52 occurrences. FrontDesk, Provider, ClinicAdmin.
    async fn book_series(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who, with whom, what type, from when and how often.")]
        input: BookSeriesInput,
    ) -> Result<BookSeriesPayload, ApiError> {
        let session = session(ctx)?;
        let end = match (input.rule.count, input.rule.until) {
            (Some(count), None) => SeriesEnd::Count(count),
            (None, Some(until)) => SeriesEnd::Until(until),
            _ => {
                return Err(ApiError::bad_input(
                    "input.rule",
                    "give either count or until",
                ));
            }
        };
        let request = SeriesRequest {
            patient_id: input.patient_id,
            provider_id: input.provider_id,
            type_id: input.type_id,
            first_start: input.first_start,
            rule: WeeklyRule {
                every_weeks: input.rule.every_weeks,
                days: input.rule.days,
                end,
            },
            room_id: input.room_id,
        };
        let booked = series::book_series(
            session.db(),
            &session.principal,
            booking_window(ctx)?,
            request,
        )
        .await?;
        Ok(BookSeriesPayload {
            series_id: booked.series.id,
            appointments: booked
                .appointments
                .into_iter()
                .map(Appointment::new)
                .collect(),
        })
    }
}

fn payload(added: time_off_service::AddedTimeOff) -> AddTimeOffPayload {
    AddTimeOffPayload {
        time_off: added.time_off.into(),
        affected_appointments: added.affected.into_iter().map(Appointment::new).collect(),
    }
}

fn day_period(period: WorkingHours) -> DayPeriod {
    DayPeriod {
        start: period.start,
        end: period.end,
    }
}

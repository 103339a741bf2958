//! Time off, closures and one-day changes of hours: entering them (time off over existing
//! bookings answers with those bookings, for the front desk to move or cancel), removing them,
//! and reading them. Whole days are read on the clinic's wall clock, so a closed day is the
//! clinic's day whatever its length in hours.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::foundation::access::{Permission, Principal};
use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;
use crate::foundation::input::required_line;
use crate::identity::{DayOfWeek, WorkingHours, stored_week, working_week};
use crate::scheduling::calendar::{clinic_zone, provider_hours};
use crate::scheduling::entity::{appointment, time_off};
use crate::scheduling::model::calendar_date;
use crate::scheduling::store::{self, TimeOffOf};

/// Longest stretch one entry of time off (or one read of it) may cover.
const MAX_SPAN_DAYS: i64 = 366;

/// When time off runs: from one instant to another, or whole days of the clinic.
#[derive(Clone, Copy, Debug)]
pub enum Span {
    Instants(DateTime<Utc>, DateTime<Utc>),
    Days(NaiveDate, NaiveDate),
}

impl Span {
    /// The span an input gives as `start` and `end`, or as `firstDay` and (one day if left out)
    /// `lastDay`; BAD_USER_INPUT for any other mix.
    pub fn from_input(
        (start, end): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
        (first_day, last_day): (Option<NaiveDate>, Option<NaiveDate>),
    ) -> Result<Span, ApiError> {
        match (start, end, first_day, last_day) {
            (Some(start), Some(end), None, None) => Ok(Span::Instants(start, end)),
            (None, None, Some(first), last) => Ok(Span::Days(first, last.unwrap_or(first))),
            _ => Err(ApiError::bad_input(
                "input",
                "give either start and end, or firstDay (and lastDay)",
            )),
        }
    }
}

/// Time off just entered, and the appointments it overlaps that still hold their slot.
pub struct AddedTimeOff {
    pub time_off: time_off::Model,
    pub affected: Vec<appointment::Model>,
}

/// Enters a provider's time off (`Some(provider)`) or a closure of the whole clinic (`None`).
pub async fn add(
    db: &TenantTransaction,
    principal: &Principal,
    provider_id: Option<Uuid>,
    span: Span,
    reason: &str,
) -> Result<AddedTimeOff, ApiError> {
    principal.require(match provider_id {
        Some(_) => Permission::ManageTimeOff,
        None => Permission::ManageClosures,
    })?;
    let reason = required_line("input.reason", reason, 200)?;
    if let Some(provider_id) = provider_id {
        provider_hours(db, provider_id).await?;
    }
    let zone = clinic_zone(db).await?;
    let times = instants(zone, span)?;
    let time_off = store::insert_time_off(
        db,
        db.tenant_id(),
        provider_id,
        times,
        reason,
        principal.user_id().ok(),
    )
    .await?;
    let affected = store::busy(db, db.tenant_id(), provider_id, times, None).await?;
    Ok(AddedTimeOff { time_off, affected })
}

/// Removes time off or a closure; NOT_FOUND when there is none live with that id.
pub async fn remove(
    db: &TenantTransaction,
    principal: &Principal,
    id: Uuid,
) -> Result<Uuid, ApiError> {
    principal.require(Permission::ManageTimeOff)?;
    let block = store::find_time_off(db, db.tenant_id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("time off"))?;
    if block.provider_id.is_none() {
        principal.require(Permission::ManageClosures)?;
    }
    if !store::remove_time_off(db, db.tenant_id(), id).await? {
        return Err(ApiError::not_found("time off"));
    }
    Ok(id)
}

/// Time off and closures overlapping [from, to): of one provider (with the closures), or all.
pub async fn list(
    db: &TenantTransaction,
    principal: &Principal,
    provider_id: Option<Uuid>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<time_off::Model>, ApiError> {
    principal.require(Permission::ReadSchedule)?;
    checked_span(from, to, ("to", "from"))?;
    let whose = provider_id.map_or(TimeOffOf::Everyone, TimeOffOf::Provider);
    Ok(store::time_off_between(db, db.tenant_id(), whose, (from, to)).await?)
}

/// Replaces a provider's hours on one date (`None`: back to the weekly hours; no periods: a day
/// off); returns the periods that date now has.
pub async fn set_day_hours(
    db: &TenantTransaction,
    principal: &Principal,
    (provider_id, date): (Uuid, NaiveDate),
    periods: Option<Vec<(NaiveTime, NaiveTime)>>,
) -> Result<Vec<WorkingHours>, ApiError> {
    principal.require(Permission::ManageWorkingHours)?;
    let date = calendar_date("date", date)?;
    let weekly = provider_hours(db, provider_id).await?;
    let day = DayOfWeek::of(date.weekday());
    let stored = match &periods {
        Some(periods) => {
            let periods = periods
                .iter()
                .map(|(start, end)| WorkingHours {
                    day,
                    start: *start,
                    end: *end,
                })
                .collect();
            Some(working_week("hours", periods)?)
        }
        None => None,
    };
    store::set_day_hours(
        db,
        db.tenant_id(),
        (provider_id, date),
        stored.as_deref().map(stored_week).transpose()?,
    )
    .await?;
    Ok(stored.unwrap_or_else(|| {
        weekly
            .into_iter()
            .filter(|period| period.day == day)
            .collect()
    }))
}

/// The instants of `span` in the clinic's time zone: whole days run from the first day's
/// midnight to the midnight after the last.
pub(crate) fn instants(zone: Tz, span: Span) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let (start, end) = match span {
        Span::Instants(start, end) => (start, end),
        Span::Days(first, last) => {
            let first = calendar_date("input.firstDay", first)?;
            let last = calendar_date("input.lastDay", last)?;
            if last < first {
                return Err(ApiError::bad_input(
                    "input.lastDay",
                    "is before firstDay; it must be on or after it",
                ));
            }
            (
                midnight(zone, first)?,
                midnight(zone, last + Duration::days(1))?,
            )
        }
    };
    checked_span(start, end, ("input.end", "input.start"))?;
    Ok((start, end))
}

/// The start of `day` in `zone` (the first instant of it, where a zone skips midnight).
fn midnight(zone: Tz, day: NaiveDate) -> Result<DateTime<Utc>, ApiError> {
    (0..24)
        .find_map(|hour| {
            zone.from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(hour, 0, 0)?))
                .earliest()
        })
        .map(|start| start.with_timezone(&Utc))
        .ok_or_else(ApiError::internal)
}

fn checked_span(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    (end_field, start_field): (&str, &str),
) -> Result<(), ApiError> {
    if end <= start {
        return Err(ApiError::bad_input(end_field, "must be after the start"));
    }
    if end - start > Duration::days(MAX_SPAN_DAYS) {
        return Err(ApiError::bad_input(
            end_field,
            format!("must be at most {MAX_SPAN_DAYS} days after the start"),
        ));
    }
    calendar_date(start_field, start.date_naive())?;
    calendar_date(end_field, end.date_naive())?;
    Ok(())
}

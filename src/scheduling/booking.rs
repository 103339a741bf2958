//! Scheduling's rules, with no GraphQL in sight: booking inside working hours (or a ClinicAdmin's
//! override), clear of time off and closures (or a ClinicAdmin's recorded override), within the
//! booking window (or a ClinicAdmin's backdating), the database's refusal of a double-booking
//! turned into a CONFLICT that names the appointment in the way, versioned changes, the status
//! flow and what completing a visit publishes, and the free slots of a day. Each takes the
//! request's tenant transaction and the principal acting; the GraphQL resolvers only translate.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::foundation::access::{Permission, Principal};
use crate::foundation::db::TenantTransaction;
use crate::foundation::domain_events::DomainEvents;
use crate::foundation::error::ApiError;
use crate::foundation::input::required_line;
use crate::scheduling::availability::{Busy, fits, free_starts};
use crate::scheduling::calendar::{Calendar, describe_time_off};
use crate::scheduling::cancellation::{
    Cancellation, FeeDue, FeeKind, cancellation, late_cancellation_fee, no_show_fee,
};
use crate::scheduling::entity::appointment;
use crate::scheduling::model::{
    AppointmentStatus, BookingWindow, CancellationCategory, calendar_date,
};
use crate::scheduling::rooms::{RoomNeed, in_a_free_room, suitable_rooms_busy};
use crate::scheduling::store::{self, AppointmentChange, Booking, NewAppointment, Overrides};
use crate::scheduling::waitlist;

/// Published when an appointment reaches Completed, in the transaction that completes it.
pub struct AppointmentCompleted {
    pub appointment_id: Uuid,
    /// What was agreed at booking: what the invoice bills.
    pub price: Decimal,
}

/// What a booking asks for; `end` defaults to the start plus the type's duration.
pub struct BookingRequest {
    pub patient_id: Uuid,
    pub provider_id: Uuid,
    pub type_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub override_working_hours: bool,
    /// Book into the provider's time off or a clinic closure (ClinicAdmin, with a reason).
    pub override_time_off: bool,
    /// Book a start in the past (ClinicAdmin, with a reason).
    pub backdate: bool,
    /// Why an override is needed: required with `override_time_off` or `backdate`.
    pub override_reason: Option<String>,
    /// The patient's waitlist entry this booking is made from: it ends with the booking.
    pub waitlist_entry_id: Option<Uuid>,
    /// The room to book; without it, a type that needs a kind of room gets the first free one.
    pub room_id: Option<Uuid>,
}

/// Books a patient with a provider, in a room if the type needs one or a room is named.
/// CONFLICT names the appointment, time off, closure or room already in the way.
pub async fn book(
    db: &TenantTransaction,
    principal: &Principal,
    window: BookingWindow,
    request: BookingRequest,
) -> Result<appointment::Model, ApiError> {
    principal.require(Permission::Book)?;
    let reason = match (
        request.override_time_off || request.backdate,
        &request.override_reason,
    ) {
        (true, Some(reason)) => Some(required_line("input.overrideReason", reason, 500)?),
        (true, None) => {
            return Err(ApiError::bad_input(
                "input.overrideReason",
                "is required with overrideTimeOff or backdate: say why",
            ));
        }
        (false, _) => None,
    };
    crate::patients::find_live(db, db.tenant_id(), request.patient_id)
        .await?
        .ok_or_else(|| ApiError::not_found("patient"))?;
    let from_waitlist = match request.waitlist_entry_id {
        Some(id) => Some(waitlist::entry_to_book(db, principal, id, request.patient_id).await?),
        None => None,
    };
    let kind = store::find_type(db, db.tenant_id(), request.type_id)
        .await?
        .ok_or_else(|| ApiError::not_found("appointment type"))?;
    let start = request.start;
    let end = request
        .end
        .unwrap_or(start + Duration::minutes(kind.duration_minutes.into()));
    let in_the_past = check_window(principal, window, Utc::now(), start, request.backdate)?;
    let calendar = Calendar::of(db, request.provider_id, (start, end)).await?;
    let outside_hours = check_working_hours(
        principal,
        &calendar,
        (start, end),
        request.override_working_hours,
    )?;
    let over_time_off = check_time_off(
        principal,
        &calendar,
        (start, end),
        request.override_time_off,
    )?;
    let overrides = Overrides {
        time_off: over_time_off,
        in_the_past,
        reason: reason.filter(|_| over_time_off || in_the_past),
    };
    let rooms = RoomNeed::for_booking(db, &kind, request.room_id).await?;
    let new = NewAppointment {
        tenant_id: db.tenant_id(),
        patient_id: request.patient_id,
        provider_id: request.provider_id,
        type_id: kind.id,
        start,
        end,
        price: kind.price,
        booked_outside_hours: outside_hours,
        series_id: None,
        overrides,
        room_id: None,
    };
    let booked = in_a_free_room(
        db,
        &rooms,
        (request.provider_id, (start, end)),
        None,
        |room_id| {
            let new = NewAppointment {
                room_id,
                ..new.clone()
            };
            store::insert_appointment(db, new)
        },
    )
    .await?
    .map_err(|clash| ApiError::conflict(format!("{clash}; choose another time")))?;
    if let Some(entry) = &from_waitlist {
        waitlist::booked(db, entry, booked.id).await?;
    }
    Ok(booked)
}

/// Moves a Scheduled appointment; `end` defaults to the new start plus its current length. A
/// visit in a room keeps it if it is free at the new time, else moves to a free room of the kind
/// its type needs.
pub async fn reschedule(
    db: &TenantTransaction,
    principal: &Principal,
    window: BookingWindow,
    (id, expected_version): (Uuid, i64),
    (start, end): (DateTime<Utc>, Option<DateTime<Utc>>),
    override_working_hours: bool,
) -> Result<appointment::Model, ApiError> {
    principal.require(Permission::Book)?;
    let current = current_appointment(db, id, expected_version).await?;
    let status = status_of(&current)?;
    if status != AppointmentStatus::Scheduled {
        return Err(ApiError::bad_input(
            "input.id",
            format!(
                "only a Scheduled appointment can be rescheduled; this one is {}",
                status.as_str()
            ),
        ));
    }
    let end = end.unwrap_or(start + (current.end_time - current.start_time));
    check_window(principal, window, Utc::now(), start, false)?;
    let calendar = Calendar::of(db, current.provider_id, (start, end)).await?;
    let outside_hours =
        check_working_hours(principal, &calendar, (start, end), override_working_hours)?;
    check_time_off(principal, &calendar, (start, end), false)?;
    let rooms = RoomNeed::for_move(db, &current).await?;
    let moved = in_a_free_room(
        db,
        &rooms,
        (current.provider_id, (start, end)),
        Some(current.id),
        |room_id| {
            let change = AppointmentChange::Move {
                start,
                end,
                booked_outside_hours: outside_hours,
                room_id,
            };
            store::change_appointment(
                db,
                db.tenant_id(),
                current.provider_id,
                current.id,
                expected_version,
                change,
            )
        },
    )
    .await?
    .map_err(|clash| ApiError::conflict(format!("{clash}; choose another time")))?;
    if !moved {
        return Err(version_moved_since(db, current.id, expected_version).await);
    }
    find(db, current.id).await
}

/// Why a client asks to cancel: free text, and a category or one of the clinic's reasons.
#[derive(Clone, Copy)]
pub struct CancelRequest<'a> {
    pub reason: &'a str,
    pub category: Option<CancellationCategory>,
    pub reason_id: Option<Uuid>,
}

/// Cancels a Scheduled appointment, freeing its slot, for the reason given; a patient's late
/// cancellation owes its fee (`cancellation::late_cancellation_fee`), which billing posts in the
/// same transaction.
pub async fn cancel(
    db: &TenantTransaction,
    principal: &Principal,
    events: &DomainEvents,
    (id, expected_version): (Uuid, i64),
    request: CancelRequest<'_>,
) -> Result<appointment::Model, ApiError> {
    principal.require(Permission::Book)?;
    let why = cancellation(db, request.reason, request.category, request.reason_id).await?;
    cancel_for(db, principal, events, (id, expected_version), &why).await
}

/// Cancels one appointment for a checked reason, publishing the fee it owes, if any.
pub(crate) async fn cancel_for(
    db: &TenantTransaction,
    principal: &Principal,
    events: &DomainEvents,
    (id, expected_version): (Uuid, i64),
    why: &Cancellation,
) -> Result<appointment::Model, ApiError> {
    let current = current_appointment(db, id, expected_version).await?;
    transition(status_of(&current)?, AppointmentStatus::Cancelled)?;
    let change = AppointmentChange::Cancel {
        reason: why.reason.clone(),
        category: why.category,
        reason_id: why.reason_id,
    };
    let cancelled = apply_change(db, &current, expected_version, change).await?;
    if let Some(amount) = late_cancellation_fee(db, &current, why.category, Utc::now()).await? {
        let fee = FeeDue {
            appointment_id: current.id,
            kind: FeeKind::LateCancellation,
            amount,
        };
        events.publish(db, principal, fee).await?;
    }
    Ok(cancelled)
}

/// Most appointments `cancel_many` takes at once: a day's list of a provider.
const MOST_CANCELLED_AT_ONCE: usize = 100;

/// Cancels Scheduled appointments all together, for one reason: all of them or, if any cannot
/// be cancelled, none (the request's transaction rolls back). Each late one owes its fee.
pub async fn cancel_many(
    db: &TenantTransaction,
    principal: &Principal,
    events: &DomainEvents,
    ids: &[Uuid],
    request: CancelRequest<'_>,
) -> Result<Vec<appointment::Model>, ApiError> {
    principal.require(Permission::Book)?;
    let reason = required_line("reason", request.reason, 500)?;
    if ids.is_empty() || ids.len() > MOST_CANCELLED_AT_ONCE {
        return Err(ApiError::bad_input(
            "ids",
            format!("give 1 to {MOST_CANCELLED_AT_ONCE} appointments"),
        ));
    }
    if (1..ids.len()).any(|index| ids[..index].contains(&ids[index])) {
        return Err(ApiError::bad_input("ids", "names an appointment twice"));
    }
    let why = cancellation(db, &reason, request.category, request.reason_id).await?;
    let mut cancelled = Vec::with_capacity(ids.len());
    for &id in ids {
        let current = find(db, id).await?;
        cancelled.push(cancel_for(db, principal, events, (id, current.row_version), &why).await?);
    }
    Ok(cancelled)
}

/// Moves an appointment along Scheduled → Arrived → InSession → Completed, or to NoShow.
/// Provider and ClinicAdmin; FrontDesk may record Arrived and NoShow. Completing it publishes
/// `AppointmentCompleted`, and a NoShow whose type's policy has a fee publishes `FeeDue`; their
/// handlers run in the same transaction.
pub async fn set_status(
    db: &TenantTransaction,
    principal: &Principal,
    events: &DomainEvents,
    (id, expected_version): (Uuid, i64),
    status: AppointmentStatus,
) -> Result<appointment::Model, ApiError> {
    match status {
        AppointmentStatus::Arrived | AppointmentStatus::NoShow => {
            principal.require(Permission::RecordArrival)?
        }
        AppointmentStatus::Cancelled => {
            return Err(ApiError::bad_input(
                "status",
                "use cancelAppointment, which records the reason",
            ));
        }
        _ => principal.require(Permission::RecordVisit)?,
    }
    let current = current_appointment(db, id, expected_version).await?;
    transition(status_of(&current)?, status)?;
    let changed = apply_change(
        db,
        &current,
        expected_version,
        AppointmentChange::Status(status),
    )
    .await?;
    if status == AppointmentStatus::Completed {
        let event = AppointmentCompleted {
            appointment_id: current.id,
            price: current.price,
        };
        events.publish(db, principal, event).await?;
    }
    if status == AppointmentStatus::NoShow
        && let Some(amount) = no_show_fee(db, &current).await?
    {
        let fee = FeeDue {
            appointment_id: current.id,
            kind: FeeKind::NoShow,
            amount,
        };
        events.publish(db, principal, fee).await?;
    }
    Ok(changed)
}

/// The free starts on `date` (in the clinic's time zone) for an appointment of `type_id` with
/// the provider: within working hours (with that date's change, if any), clear of booked
/// appointments, time off and closures, with a suitable room free if the type needs one, inside
/// the booking window from `now`, on a 15-minute grid.
pub async fn available_slots(
    db: &TenantTransaction,
    principal: &Principal,
    window: BookingWindow,
    (provider_id, type_id): (Uuid, Uuid),
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, ApiError> {
    principal.require(Permission::ReadSchedule)?;
    let date = calendar_date("date", date)?;
    let kind = store::find_type(db, db.tenant_id(), type_id)
        .await?
        .ok_or_else(|| ApiError::not_found("appointment type"))?;
    // The day in UTC, widened by a day each side to cover any zone's offset.
    let from = (date - Duration::days(1))
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let around = (from, from + Duration::days(3));
    let calendar = Calendar::of(db, provider_id, around).await?;
    let appointments = store::busy(db, db.tenant_id(), Some(provider_id), around, None).await?;
    let provider_busy: Vec<_> = appointments
        .iter()
        .map(|taken| (taken.start_time, taken.end_time))
        .chain(
            calendar
                .time_off
                .iter()
                .map(|block| (block.starts_at, block.ends_at)),
        )
        .map(|(start, end)| (start.into(), end.into()))
        .collect();
    let rooms_busy = suitable_rooms_busy(db, &kind, around).await?;
    let busy = Busy {
        provider: &provider_busy,
        rooms: rooms_busy.as_deref(),
    };
    Ok(free_starts(
        &calendar.hours,
        calendar.zone,
        date,
        Duration::minutes(kind.duration_minutes.into()),
        &busy,
        (now, window.latest(now)),
    ))
}

/// Where `start` stands in the booking window: beyond the horizon is refused; before now it
/// needs a ClinicAdmin's backdating. Returns whether it is backdated.
pub fn check_window(
    principal: &Principal,
    window: BookingWindow,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    backdate: bool,
) -> Result<bool, ApiError> {
    if start > window.latest(now) {
        return Err(ApiError::bad_input(
            "input.start",
            format!(
                "{start} is more than {} days ahead, beyond the booking horizon; book nearer                  the time",
                window.horizon_days()
            ),
        ));
    }
    if start >= window.earliest(now) {
        return Ok(false);
    }
    if !backdate {
        return Err(ApiError::bad_input(
            "input.start",
            format!(
                "{start} is in the past; only a ClinicAdmin may book it, with backdate and an \
                 overrideReason"
            ),
        ));
    }
    principal.require(Permission::Backdate)?;
    Ok(true)
}

/// Checks `[start, end)` against time off and closures; returns whether it is an override.
/// CONFLICT names what is in the way.
pub fn check_time_off(
    principal: &Principal,
    calendar: &Calendar,
    times: (DateTime<Utc>, DateTime<Utc>),
    override_requested: bool,
) -> Result<bool, ApiError> {
    let Some(block) = calendar.time_off_during(times) else {
        return Ok(false);
    };
    if !override_requested {
        return Err(ApiError::conflict(format!(
            "that time falls in {}; choose another time, or ask a ClinicAdmin to override",
            describe_time_off(block)
        )));
    }
    principal.require(Permission::OverrideTimeOff)?;
    Ok(true)
}

/// Checks `[start, end)` against the provider's hours; returns whether it is an override.
pub fn check_working_hours(
    principal: &Principal,
    calendar: &Calendar,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    override_requested: bool,
) -> Result<bool, ApiError> {
    if end <= start {
        return Err(ApiError::bad_input("input.end", "must be after the start"));
    }
    let zone = calendar.zone;
    if fits(&calendar.hours, zone, start, end) {
        return Ok(false);
    }
    if !override_requested {
        return Err(ApiError::bad_input(
            "input.start",
            format!(
                "{start} to {end} is outside the provider's working hours (in {zone}); choose a \
                 free slot from availableSlots, or ask a ClinicAdmin to override"
            ),
        ));
    }
    principal.require(Permission::OverrideWorkingHours)?;
    Ok(true)
}

/// Applies a versioned change of status: NOT_FOUND if the appointment is gone, CONFLICT if its
/// version moved; the appointment as it now is otherwise. (Moves are `reschedule`'s: they may
/// clash.)
async fn apply_change(
    db: &TenantTransaction,
    current: &appointment::Model,
    expected_version: i64,
    change: AppointmentChange,
) -> Result<appointment::Model, ApiError> {
    let changed = store::change_appointment(
        db,
        db.tenant_id(),
        current.provider_id,
        current.id,
        expected_version,
        change,
    )
    .await?;
    match changed {
        Booking::Done(true) => {}
        Booking::Done(false) => {
            return Err(version_moved_since(db, current.id, expected_version).await);
        }
        // Only a move can clash or find its room gone, and moves do not come here.
        Booking::Clash | Booking::RoomRemoved => return Err(ApiError::internal()),
    }
    find(db, current.id).await
}

pub(crate) async fn find(db: &TenantTransaction, id: Uuid) -> Result<appointment::Model, ApiError> {
    store::find_appointment(db, db.tenant_id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("appointment"))
}

/// The appointment at `expected_version`, or the reason it cannot be changed.
async fn current_appointment(
    db: &TenantTransaction,
    id: Uuid,
    expected_version: i64,
) -> Result<appointment::Model, ApiError> {
    let current = find(db, id).await?;
    if current.row_version != expected_version {
        return Err(version_moved(expected_version, current.row_version));
    }
    Ok(current)
}

fn status_of(appointment: &appointment::Model) -> Result<AppointmentStatus, ApiError> {
    AppointmentStatus::parse(&appointment.status).ok_or_else(ApiError::internal)
}

/// Why a versioned change of appointment `id` wrote nothing: its version moved (CONFLICT naming
/// the version it is at now), or it is gone (NOT_FOUND).
async fn version_moved_since(db: &TenantTransaction, id: Uuid, expected: i64) -> ApiError {
    match find(db, id).await {
        Ok(now) => version_moved(expected, now.row_version),
        Err(gone) => gone,
    }
}

pub(crate) fn version_moved(expected: i64, now: i64) -> ApiError {
    ApiError::conflict(format!(
        "the appointment changed since version {expected} (it is now version {now}); reload it \
         and try again"
    ))
}

fn transition(from: AppointmentStatus, to: AppointmentStatus) -> Result<(), ApiError> {
    if from.can_become(to) {
        Ok(())
    } else {
        Err(ApiError::bad_input(
            "status",
            format!(
                "an appointment cannot go from {} to {}",
                from.as_str(),
                to.as_str()
            ),
        ))
    }
}

//! Scheduling's rules, with no GraphQL in sight: booking inside working hours (or a ClinicAdmin's
//! override), the database's refusal of a double-booking turned into a CONFLICT that names the
//! appointment in the way, versioned changes, the status flow and what completing a visit
//! publishes, and the free slots of a day. Each takes the request's tenant transaction and the
//! principal acting; the GraphQL resolvers only translate.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::foundation::access::{Permission, Principal};
use crate::foundation::db::TenantTransaction;
use crate::foundation::domain_events::DomainEvents;
use crate::foundation::error::ApiError;
use crate::foundation::input::required_line;
use crate::foundation::role::Role;
use crate::identity::{WorkingHours, read_stored_week, store as identity_store};
use crate::scheduling::availability::{fits, free_starts};
use crate::scheduling::entity::appointment;
use crate::scheduling::model::{AppointmentStatus, CancellationCategory, calendar_date};
use crate::scheduling::store::{self, AppointmentChange, Booking, NewAppointment};

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
}

/// Books a patient with a provider. CONFLICT names the appointment already in the way.
pub async fn book(
    db: &TenantTransaction,
    principal: &Principal,
    request: BookingRequest,
) -> Result<appointment::Model, ApiError> {
    principal.require(Permission::Book)?;
    crate::patients::find_live(db, db.tenant_id(), request.patient_id)
        .await?
        .ok_or_else(|| ApiError::not_found("patient"))?;
    let kind = store::find_type(db, db.tenant_id(), request.type_id)
        .await?
        .ok_or_else(|| ApiError::not_found("appointment type"))?;
    let start = request.start;
    let end = request
        .end
        .unwrap_or(start + Duration::minutes(kind.duration_minutes.into()));
    let outside_hours = check_working_hours(
        db,
        principal,
        request.provider_id,
        (start, end),
        request.override_working_hours,
    )
    .await?;
    let booking = store::insert_appointment(
        db,
        NewAppointment {
            tenant_id: db.tenant_id(),
            patient_id: request.patient_id,
            provider_id: request.provider_id,
            type_id: kind.id,
            start,
            end,
            price: kind.price,
            booked_outside_hours: outside_hours,
        },
    )
    .await?;
    match booking {
        Booking::Done(model) => Ok(model),
        Booking::Clash => Err(clash(db, request.provider_id, (start, end), None).await?),
    }
}

/// Moves a Scheduled appointment; `end` defaults to the new start plus its current length.
pub async fn reschedule(
    db: &TenantTransaction,
    principal: &Principal,
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
    let outside_hours = check_working_hours(
        db,
        principal,
        current.provider_id,
        (start, end),
        override_working_hours,
    )
    .await?;
    let change = AppointmentChange::Move {
        start,
        end,
        booked_outside_hours: outside_hours,
    };
    apply_change(db, &current, expected_version, change).await
}

/// Cancels a Scheduled appointment, freeing its slot, for the reason given.
pub async fn cancel(
    db: &TenantTransaction,
    principal: &Principal,
    (id, expected_version): (Uuid, i64),
    (category, reason): (CancellationCategory, &str),
) -> Result<appointment::Model, ApiError> {
    principal.require(Permission::Book)?;
    let reason = required_line("reason", reason, 500)?;
    let current = current_appointment(db, id, expected_version).await?;
    transition(status_of(&current)?, AppointmentStatus::Cancelled)?;
    apply_change(
        db,
        &current,
        expected_version,
        AppointmentChange::Cancel { reason, category },
    )
    .await
}

/// Moves an appointment along Scheduled → Arrived → InSession → Completed, or to NoShow.
/// Provider and ClinicAdmin; FrontDesk may record Arrived and NoShow. Completing it publishes
/// `AppointmentCompleted`, whose handlers run in the same transaction.
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
    Ok(changed)
}

/// The free starts on `date` (in the clinic's time zone) for an appointment of `type_id` with
/// the provider: within working hours, clear of booked appointments, after `now`, on a 15-minute
/// grid.
pub async fn available_slots(
    db: &TenantTransaction,
    principal: &Principal,
    (provider_id, type_id): (Uuid, Uuid),
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, ApiError> {
    principal.require(Permission::ReadSchedule)?;
    let date = calendar_date("date", date)?;
    let hours = provider_hours(db, provider_id).await?;
    let zone = clinic_zone(db).await?;
    let kind = store::find_type(db, db.tenant_id(), type_id)
        .await?
        .ok_or_else(|| ApiError::not_found("appointment type"))?;
    // The day in UTC, widened by a day each side to cover any zone's offset.
    let from = (date - Duration::days(1))
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let busy: Vec<_> = store::busy(
        db,
        db.tenant_id(),
        provider_id,
        (from, from + Duration::days(3)),
        None,
    )
    .await?
    .into_iter()
    .map(|taken| (taken.start_time.into(), taken.end_time.into()))
    .collect();
    Ok(free_starts(
        &hours,
        zone,
        date,
        Duration::minutes(kind.duration_minutes.into()),
        &busy,
        now,
    ))
}

/// The clinic's time zone, in which working hours are read.
async fn clinic_zone(db: &TenantTransaction) -> Result<Tz, ApiError> {
    let clinic = identity_store::find_tenant(db, db.tenant_id())
        .await?
        .ok_or_else(ApiError::internal)?;
    clinic.time_zone.parse().map_err(|_| ApiError::internal())
}

/// An active Provider of the clinic and their working hours; NOT_FOUND for anyone else.
async fn provider_hours(
    db: &TenantTransaction,
    provider_id: Uuid,
) -> Result<Vec<WorkingHours>, ApiError> {
    let provider = identity_store::find_user(db, db.tenant_id(), provider_id)
        .await?
        .filter(|user| user.is_active && user.role_id == Role::Provider.id())
        .ok_or_else(|| ApiError::not_found("active provider"))?;
    read_stored_week(provider.working_hours)
}

/// Checks `[start, end)` against the provider's hours; returns whether it is an override.
async fn check_working_hours(
    db: &TenantTransaction,
    principal: &Principal,
    provider_id: Uuid,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    override_requested: bool,
) -> Result<bool, ApiError> {
    if end <= start {
        return Err(ApiError::bad_input("input.end", "must be after the start"));
    }
    let hours = provider_hours(db, provider_id).await?;
    let zone = clinic_zone(db).await?;
    if fits(&hours, zone, start, end) {
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

/// CONFLICT naming the appointment (other than `moving`) the provider already has at that time.
async fn clash(
    db: &TenantTransaction,
    provider_id: Uuid,
    times: (DateTime<Utc>, DateTime<Utc>),
    moving: Option<Uuid>,
) -> Result<ApiError, ApiError> {
    let taken = store::busy(db, db.tenant_id(), provider_id, times, moving).await?;
    Ok(match taken.first() {
        Some(other) => ApiError::conflict(format!(
            "the provider is already booked from {} to {} (appointment {}); choose another time",
            DateTime::<Utc>::from(other.start_time),
            DateTime::<Utc>::from(other.end_time),
            other.id
        )),
        None => ApiError::conflict(
            "the provider was booked for that time by a concurrent request; choose another time",
        ),
    })
}

/// Applies a versioned change: NOT_FOUND if the appointment is gone, CONFLICT if its version
/// moved or the new time clashes; the appointment as it now is otherwise.
async fn apply_change(
    db: &TenantTransaction,
    current: &appointment::Model,
    expected_version: i64,
    change: AppointmentChange,
) -> Result<appointment::Model, ApiError> {
    let new_times = match &change {
        AppointmentChange::Move { start, end, .. } => Some((*start, *end)),
        _ => None,
    };
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
            let now = find(db, current.id).await?;
            return Err(version_moved(expected_version, now.row_version));
        }
        Booking::Clash => {
            let times = new_times.ok_or_else(ApiError::internal)?;
            return Err(clash(db, current.provider_id, times, Some(current.id)).await?);
        }
    }
    find(db, current.id).await
}

async fn find(db: &TenantTransaction, id: Uuid) -> Result<appointment::Model, ApiError> {
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

fn version_moved(expected: i64, now: i64) -> ApiError {
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

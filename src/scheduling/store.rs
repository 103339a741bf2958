//! Scheduling queries, all on the request's tenant transaction.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set,
};
use uuid::Uuid;

use crate::foundation::db::{TenantTransaction, statement};
use crate::foundation::error::sqlstate;
use crate::patients::entity::patient;
use crate::scheduling::entity::{
    appointment, appointment_series, appointment_type, cancellation_policy, cancellation_reason,
    provider_day_hours, room, time_off, waitlist_entry,
};
use crate::scheduling::model::{AppointmentStatus, CancellationCategory};

pub async fn insert_type(
    db: &TenantTransaction,
    tenant_id: Uuid,
    name: String,
    duration_minutes: i32,
    price: Decimal,
    room_kind: Option<String>,
) -> Result<appointment_type::Model, DbErr> {
    appointment_type::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::new_v4()),
        name: Set(name),
        duration_minutes: Set(duration_minutes),
        price: Set(price),
        room_kind: Set(room_kind),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn find_type(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<appointment_type::Model>, DbErr> {
    appointment_type::Entity::find()
        .filter(appointment_type::Column::TenantId.eq(tenant_id))
        .filter(appointment_type::Column::Id.eq(id))
        .filter(appointment_type::Column::IsDeleted.eq(false))
        .one(db)
        .await
}

/// The clinic's live appointment types by name (a clinic has a handful: no paging).
pub async fn list_types(
    db: &TenantTransaction,
    tenant_id: Uuid,
) -> Result<Vec<appointment_type::Model>, DbErr> {
    appointment_type::Entity::find()
        .filter(appointment_type::Column::TenantId.eq(tenant_id))
        .filter(appointment_type::Column::IsDeleted.eq(false))
        .order_by_asc(appointment_type::Column::Name)
        .all(db)
        .await
}

/// Changes to a type; `None` keeps the current value.
#[derive(Default)]
pub struct TypeChanges {
    pub name: Option<String>,
    pub duration_minutes: Option<i32>,
    pub price: Option<Decimal>,
    /// `Some(None)` stops requiring a room.
    pub room_kind: Option<Option<String>>,
    pub delete: bool,
}

/// Applies `changes` to a live type; false when there is none.
pub async fn update_type(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
    changes: TypeChanges,
) -> Result<bool, DbErr> {
    let mut update = appointment_type::Entity::update_many()
        .col_expr(appointment_type::Column::UpdatedAt, Expr::cust("now()"))
        .filter(appointment_type::Column::TenantId.eq(tenant_id))
        .filter(appointment_type::Column::Id.eq(id))
        .filter(appointment_type::Column::IsDeleted.eq(false));
    if let Some(name) = changes.name {
        update = update.col_expr(appointment_type::Column::Name, Expr::value(name));
    }
    if let Some(minutes) = changes.duration_minutes {
        update = update.col_expr(
            appointment_type::Column::DurationMinutes,
            Expr::value(minutes),
        );
    }
    if let Some(price) = changes.price {
        update = update.col_expr(appointment_type::Column::Price, Expr::value(price));
    }
    if let Some(room_kind) = changes.room_kind {
        update = update.col_expr(appointment_type::Column::RoomKind, Expr::value(room_kind));
    }
    if changes.delete {
        update = update.col_expr(appointment_type::Column::IsDeleted, Expr::value(true));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// A new appointment's validated fields.
#[derive(Clone)]
pub struct NewAppointment {
    pub tenant_id: Uuid,
    pub patient_id: Uuid,
    pub provider_id: Uuid,
    pub type_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub price: Decimal,
    pub booked_outside_hours: bool,
    pub series_id: Option<Uuid>,
    pub overrides: Overrides,
    pub room_id: Option<Uuid>,
}

/// What a ClinicAdmin overrode to book an appointment, and why.
#[derive(Clone, Default)]
pub struct Overrides {
    pub time_off: bool,
    pub in_the_past: bool,
    /// Required when either is set (the database checks it too).
    pub reason: Option<String>,
}

/// What a write that could double-book a provider or a room came to.
pub enum Booking<T> {
    Done(T),
    /// The provider or the room is busy then; the transaction is still usable.
    Clash,
    /// The room was taken out of use after it was chosen; nothing was written.
    RoomRemoved,
}

/// The key of the provider's schedule lock (`lock_for_booking`).
const SCHEDULE_LOCK: &str = "pg_advisory_xact_lock(hashtextextended($1::text, 0))";
/// The key of the clinic's rooms' lock (`lock_rooms`), from the clinic's id in `${n}`.
fn rooms_lock(n: u8) -> String {
    format!("pg_advisory_xact_lock(hashtextextended('rooms:' || ${n}::text, 0))")
}

/// Takes the clinic's room lock until the transaction ends, for the reason `lock_for_booking` gives,
/// and so that a room is not taken out of use while a visit is being put in it. One lock for all
/// the clinic's rooms, not one per room: a series books a room per occurrence, and two series
/// taking per-room locks in different orders would deadlock.
///
/// Lock order, which every writer keeps so that no two wait on each other in a cycle: the
/// provider's schedule, then the rooms, then the clinic's audit chain (which the first audited
/// write of a transaction takes and holds to commit). So a request that writes more than one
/// appointment takes its schedule locks before its first write (`lock_for_booking`).
pub async fn lock_rooms(db: &TenantTransaction) -> Result<(), DbErr> {
    db.execute_raw(statement(
        &format!("select {}", rooms_lock(1)),
        [db.tenant_id().into()],
    ))
    .await?;
    Ok(())
}

/// Takes the provider's schedule lock, and the rooms' lock `with_rooms`, until the transaction
/// ends, in one statement (its select list is evaluated in order, so the provider's first: see
/// `lock_rooms` for the order). Two transactions inserting clashing rows at once each find the
/// other's uncommitted index entry and wait for each other: PostgreSQL breaks that deadlock only
/// after `deadlock_timeout` (1 s), failing one of them with no word of what it clashed with.
/// Queueing a provider's bookings first makes the second see the first's committed row and clash
/// at once. A request that books or moves several visits takes them before its first write.
pub async fn lock_for_booking(
    db: &TenantTransaction,
    provider_id: Uuid,
    with_rooms: bool,
) -> Result<(), DbErr> {
    let locks = if with_rooms {
        statement(
            &format!("select {SCHEDULE_LOCK}, {}", rooms_lock(2)),
            [provider_id.into(), db.tenant_id().into()],
        )
    } else {
        statement(&format!("select {SCHEDULE_LOCK}"), [provider_id.into()])
    };
    db.execute_raw(locks).await?;
    Ok(())
}

/// Runs `write` in a savepoint, after taking the provider's schedule lock (and, when it puts the
/// visit in `room_id`, the rooms' lock and a look that the room is still in use), so that a
/// double-booking (SQLSTATE 23P01) leaves the request's transaction usable for finding out what
/// it clashed with.
async fn guard_clash<T>(
    db: &TenantTransaction,
    provider_id: Uuid,
    room_id: Option<Uuid>,
    write: impl AsyncFnOnce(&TenantTransaction) -> Result<T, DbErr>,
) -> Result<Booking<T>, DbErr> {
    lock_for_booking(db, provider_id, room_id.is_some()).await?;
    if let Some(room_id) = room_id
        && find_room(db, room_id).await?.is_none()
    {
        return Ok(Booking::RoomRemoved);
    }
    let savepoint = db.savepoint().await?;
    match write(&savepoint).await {
        Ok(value) => {
            savepoint.commit().await?;
            Ok(Booking::Done(value))
        }
        Err(error) if sqlstate(&error).as_deref() == Some("23P01") => {
            savepoint.rollback().await?;
            Ok(Booking::Clash)
        }
        Err(error) => Err(error),
    }
}

pub async fn insert_appointment(
    db: &TenantTransaction,
    new: NewAppointment,
) -> Result<Booking<appointment::Model>, DbErr> {
    guard_clash(db, new.provider_id, new.room_id, async |savepoint| {
        appointment::ActiveModel {
            tenant_id: Set(new.tenant_id),
            id: Set(Uuid::new_v4()),
            patient_id: Set(new.patient_id),
            provider_id: Set(new.provider_id),
            type_id: Set(new.type_id),
            start_time: Set(new.start.into()),
            end_time: Set(new.end.into()),
            price: Set(new.price),
            booked_outside_hours: Set(new.booked_outside_hours),
            series_id: Set(new.series_id),
            booked_over_time_off: Set(new.overrides.time_off),
            booked_in_the_past: Set(new.overrides.in_the_past),
            override_reason: Set(new.overrides.reason),
            room_id: Set(new.room_id),
            ..Default::default()
        }
        .insert(savepoint)
        .await
    })
    .await
}

pub async fn find_appointment(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<appointment::Model>, DbErr> {
    appointment::Entity::find()
        .filter(appointment::Column::TenantId.eq(tenant_id))
        .filter(appointment::Column::Id.eq(id))
        .filter(appointment::Column::IsDeleted.eq(false))
        .one(db)
        .await
}

/// The appointments of the provider (of every provider with `None`), other than `except`, that
/// hold their slot and overlap [start, end), earliest first.
pub async fn busy(
    db: &TenantTransaction,
    tenant_id: Uuid,
    provider_id: Option<Uuid>,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    except: Option<Uuid>,
) -> Result<Vec<appointment::Model>, DbErr> {
    let mut query = appointment::Entity::find().filter(appointment::Column::TenantId.eq(tenant_id));
    if let Some(except) = except {
        query = query.filter(appointment::Column::Id.ne(except));
    }
    if let Some(provider_id) = provider_id {
        query = query.filter(appointment::Column::ProviderId.eq(provider_id));
    }
    holding_their_slot(query, (start, end)).all(db).await
}

/// The appointments in any of `room_ids`, other than `except`, that hold their room and overlap
/// [start, end), earliest first.
pub async fn busy_rooms(
    db: &TenantTransaction,
    room_ids: &[Uuid],
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    except: Option<Uuid>,
) -> Result<Vec<appointment::Model>, DbErr> {
    let mut query = appointment::Entity::find()
        .filter(appointment::Column::TenantId.eq(db.tenant_id()))
        .filter(appointment::Column::RoomId.is_in(room_ids.iter().copied()));
    if let Some(except) = except {
        query = query.filter(appointment::Column::Id.ne(except));
    }
    holding_their_slot(query, (start, end)).all(db).await
}

/// The visits that hold `room_id` and have not ended by `now`, earliest first.
pub async fn upcoming_in_room(
    db: &TenantTransaction,
    room_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<appointment::Model>, DbErr> {
    let query = appointment::Entity::find()
        .filter(appointment::Column::TenantId.eq(db.tenant_id()))
        .filter(appointment::Column::RoomId.eq(room_id))
        .filter(appointment::Column::EndTime.gt(now));
    holding(query)
        .order_by_asc(appointment::Column::StartTime)
        .all(db)
        .await
}

/// Narrows `query` to live appointments whose status holds their time (and room) and that
/// overlap [start, end), earliest first: what the exclusion constraints compare.
fn holding_their_slot(
    query: Select<appointment::Entity>,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Select<appointment::Entity> {
    holding(query)
        .filter(appointment::Column::StartTime.lt(end))
        .filter(appointment::Column::EndTime.gt(start))
        .order_by_asc(appointment::Column::StartTime)
}

/// Narrows `query` to live appointments whose status holds their time and room.
fn holding(query: Select<appointment::Entity>) -> Select<appointment::Entity> {
    query
        .filter(appointment::Column::IsDeleted.eq(false))
        .filter(
            appointment::Column::Status.is_not_in(
                AppointmentStatus::ALL
                    .into_iter()
                    .filter(|status| !status.holds_slot())
                    .map(AppointmentStatus::as_str),
            ),
        )
}

/// Which appointments to list.
pub struct AppointmentFilter {
    /// The clinic: every statement names it, so Citus can route it to one shard.
    pub tenant_id: Uuid,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub provider_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
    pub status: Option<AppointmentStatus>,
}

/// A page of appointments by start time (then id), after the `after` key.
pub async fn list_appointments(
    db: &TenantTransaction,
    filter: &AppointmentFilter,
    after: Option<&(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<appointment::Model>, DbErr> {
    appointments_page(filter, after, limit).all(db).await
}

/// An appointment with its patient and type, as far as the reader may see them (`None` where
/// row-level security hides one).
pub type AppointmentWithReferences = (
    appointment::Model,
    Option<patient::Model>,
    Option<appointment_type::Model>,
);

/// `list_appointments` with each appointment's patient and type, in the same query. (Not the
/// provider: a page shows a handful of providers, each on many rows, and decoding a user, with
/// their working hours, for every row costs more than one more query; BENCHMARKS.md.)
pub async fn list_appointments_with_references(
    db: &TenantTransaction,
    filter: &AppointmentFilter,
    after: Option<&(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<AppointmentWithReferences>, DbErr> {
    appointments_page(filter, after, limit)
        .find_also_related(patient::Entity)
        .find_also_related(appointment_type::Entity)
        .all(db)
        .await
}

fn appointments_page(
    filter: &AppointmentFilter,
    after: Option<&(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Select<appointment::Entity> {
    let mut query = appointment::Entity::find()
        .filter(appointment::Column::TenantId.eq(filter.tenant_id))
        .filter(appointment::Column::IsDeleted.eq(false));
    if let Some(from) = filter.from {
        query = query.filter(appointment::Column::StartTime.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(appointment::Column::StartTime.lt(to));
    }
    if let Some(provider_id) = filter.provider_id {
        query = query.filter(appointment::Column::ProviderId.eq(provider_id));
    }
    if let Some(patient_id) = filter.patient_id {
        query = query.filter(appointment::Column::PatientId.eq(patient_id));
    }
    if let Some(status) = filter.status {
        query = query.filter(appointment::Column::Status.eq(status.as_str()));
    }
    if let Some((start, id)) = after {
        query = query.filter(
            // Qualified: the page may be joined to patients and types, which have an `id` too.
            Expr::tuple([
                Expr::col((appointment::Entity, appointment::Column::StartTime)),
                Expr::col((appointment::Entity, appointment::Column::Id)),
            ])
            .gt(Expr::tuple([Expr::val(*start), Expr::val(*id)])),
        );
    }
    query
        .order_by_asc(appointment::Column::StartTime)
        .order_by_asc(appointment::Column::Id)
        .limit(limit)
}

/// A change to an appointment, applied only if it is still at `expected_version`.
pub enum AppointmentChange {
    Move {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        booked_outside_hours: bool,
        /// The room it holds at the new times.
        room_id: Option<Uuid>,
    },
    Status(AppointmentStatus),
    Cancel {
        reason: String,
        category: CancellationCategory,
        /// The clinic's reason it is cancelled for, if one was named.
        reason_id: Option<Uuid>,
    },
}

/// Applies `change` to an appointment of `provider_id` if it is still at `expected_version`:
/// `Done(true)` when it was, `Done(false)` when the version moved (or the appointment is gone).
pub async fn change_appointment(
    db: &TenantTransaction,
    tenant_id: Uuid,
    provider_id: Uuid,
    id: Uuid,
    expected_version: i64,
    change: AppointmentChange,
) -> Result<Booking<bool>, DbErr> {
    let mut update = appointment::Entity::update_many()
        .col_expr(appointment::Column::UpdatedAt, Expr::cust("now()"))
        .filter(appointment::Column::TenantId.eq(tenant_id))
        .filter(appointment::Column::Id.eq(id))
        .filter(appointment::Column::IsDeleted.eq(false))
        .filter(appointment::Column::RowVersion.eq(expected_version));
    let mut moving_into = None;
    update = match change {
        AppointmentChange::Move {
            start,
            end,
            booked_outside_hours,
            room_id,
        } => {
            moving_into = Some(room_id);
            update
                .col_expr(appointment::Column::StartTime, Expr::value(start))
                .col_expr(appointment::Column::EndTime, Expr::value(end))
                .col_expr(
                    appointment::Column::BookedOutsideHours,
                    Expr::value(booked_outside_hours),
                )
                .col_expr(appointment::Column::RoomId, Expr::value(room_id))
        }
        AppointmentChange::Status(status) => {
            update.col_expr(appointment::Column::Status, Expr::value(status.as_str()))
        }
        AppointmentChange::Cancel {
            reason,
            category,
            reason_id,
        } => update
            .col_expr(
                appointment::Column::Status,
                Expr::value(AppointmentStatus::Cancelled.as_str()),
            )
            .col_expr(appointment::Column::CancelReason, Expr::value(reason))
            .col_expr(
                appointment::Column::CancelReasonCategory,
                Expr::value(category.as_str()),
            )
            .col_expr(appointment::Column::CancelReasonId, Expr::value(reason_id)),
    };
    let changed =
        async |savepoint: &TenantTransaction| Ok(update.exec(savepoint).await?.rows_affected == 1);
    match moving_into {
        Some(room_id) => guard_clash(db, provider_id, room_id, changed).await,
        // A change of status only ever frees the times and the room (no status goes back to
        // holding them), so it cannot clash and takes no lock.
        None => Ok(Booking::Done(changed(db).await?)),
    }
}

/// Which time off to read: a provider's (with the clinic's closures), or everyone's.
#[derive(Clone, Copy)]
pub enum TimeOffOf {
    Provider(Uuid),
    Everyone,
}

pub async fn insert_time_off(
    db: &TenantTransaction,
    tenant_id: Uuid,
    provider_id: Option<Uuid>,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    reason: String,
    created_by: Option<Uuid>,
) -> Result<time_off::Model, DbErr> {
    time_off::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::new_v4()),
        provider_id: Set(provider_id),
        starts_at: Set(start.into()),
        ends_at: Set(end.into()),
        reason: Set(reason),
        created_by: Set(created_by),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Live time off of `whose` overlapping [start, end), earliest first.
pub async fn time_off_between(
    db: &TenantTransaction,
    tenant_id: Uuid,
    whose: TimeOffOf,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<time_off::Model>, DbErr> {
    let query = time_off::Entity::find()
        .filter(time_off::Column::TenantId.eq(tenant_id))
        .filter(time_off::Column::IsDeleted.eq(false))
        .filter(time_off::Column::StartsAt.lt(end))
        .filter(time_off::Column::EndsAt.gt(start));
    let query = match whose {
        TimeOffOf::Provider(provider_id) => query.filter(
            time_off::Column::ProviderId
                .eq(provider_id)
                .or(time_off::Column::ProviderId.is_null()),
        ),
        TimeOffOf::Everyone => query,
    };
    query
        .order_by_asc(time_off::Column::StartsAt)
        .order_by_asc(time_off::Column::Id)
        .all(db)
        .await
}

pub async fn find_time_off(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<time_off::Model>, DbErr> {
    time_off::Entity::find()
        .filter(time_off::Column::TenantId.eq(tenant_id))
        .filter(time_off::Column::Id.eq(id))
        .filter(time_off::Column::IsDeleted.eq(false))
        .one(db)
        .await
}

/// Removes live time off (a soft delete, audited); false when there is none.
pub async fn remove_time_off(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<bool, DbErr> {
    let removed = time_off::Entity::update_many()
        .col_expr(time_off::Column::IsDeleted, Expr::value(true))
        .col_expr(time_off::Column::UpdatedAt, Expr::cust("now()"))
        .filter(time_off::Column::TenantId.eq(tenant_id))
        .filter(time_off::Column::Id.eq(id))
        .filter(time_off::Column::IsDeleted.eq(false))
        .exec(db)
        .await?;
    Ok(removed.rows_affected == 1)
}

/// Replaces the provider's hours on `day` with `periods` (stored format), or with `None` goes
/// back to the weekly hours; the row replaced stays, deleted, in the audit trail.
pub async fn set_day_hours(
    db: &TenantTransaction,
    tenant_id: Uuid,
    (provider_id, day): (Uuid, NaiveDate),
    periods: Option<serde_json::Value>,
) -> Result<(), DbErr> {
    provider_day_hours::Entity::update_many()
        .col_expr(provider_day_hours::Column::IsDeleted, Expr::value(true))
        .col_expr(provider_day_hours::Column::UpdatedAt, Expr::cust("now()"))
        .filter(provider_day_hours::Column::TenantId.eq(tenant_id))
        .filter(provider_day_hours::Column::ProviderId.eq(provider_id))
        .filter(provider_day_hours::Column::Day.eq(day))
        .filter(provider_day_hours::Column::IsDeleted.eq(false))
        .exec(db)
        .await?;
    if let Some(periods) = periods {
        provider_day_hours::ActiveModel {
            tenant_id: Set(tenant_id),
            id: Set(Uuid::new_v4()),
            provider_id: Set(provider_id),
            day: Set(day),
            periods: Set(periods),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// The provider's one-day changes of hours from `first` to `last`, inclusive.
pub async fn day_hours_between(
    db: &TenantTransaction,
    tenant_id: Uuid,
    provider_id: Uuid,
    (first, last): (NaiveDate, NaiveDate),
) -> Result<Vec<provider_day_hours::Model>, DbErr> {
    provider_day_hours::Entity::find()
        .filter(provider_day_hours::Column::TenantId.eq(tenant_id))
        .filter(provider_day_hours::Column::ProviderId.eq(provider_id))
        .filter(provider_day_hours::Column::IsDeleted.eq(false))
        .filter(provider_day_hours::Column::Day.gte(first))
        .filter(provider_day_hours::Column::Day.lte(last))
        .order_by_asc(provider_day_hours::Column::Day)
        .all(db)
        .await
}

/// A series as `bookSeries` was asked for it.
pub struct NewSeries {
    pub patient_id: Uuid,
    pub provider_id: Uuid,
    pub type_id: Uuid,
    pub first_start: DateTime<Utc>,
    pub every_weeks: i32,
    pub weekdays: Vec<String>,
    pub occurrences: i32,
    pub created_by: Option<Uuid>,
}

pub async fn insert_series(
    db: &TenantTransaction,
    tenant_id: Uuid,
    new: NewSeries,
) -> Result<appointment_series::Model, DbErr> {
    appointment_series::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::new_v4()),
        patient_id: Set(new.patient_id),
        provider_id: Set(new.provider_id),
        type_id: Set(new.type_id),
        first_start: Set(new.first_start.into()),
        every_weeks: Set(new.every_weeks),
        weekdays: Set(new.weekdays),
        occurrences: Set(new.occurrences),
        created_by: Set(new.created_by),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// The series' Scheduled occurrences starting after `after`, earliest first.
pub async fn scheduled_occurrences_after(
    db: &TenantTransaction,
    tenant_id: Uuid,
    series_id: Uuid,
    after: DateTime<Utc>,
) -> Result<Vec<appointment::Model>, DbErr> {
    appointment::Entity::find()
        .filter(appointment::Column::TenantId.eq(tenant_id))
        .filter(appointment::Column::SeriesId.eq(series_id))
        .filter(appointment::Column::IsDeleted.eq(false))
        .filter(appointment::Column::Status.eq(AppointmentStatus::Scheduled.as_str()))
        .filter(appointment::Column::StartTime.gt(after))
        .order_by_asc(appointment::Column::StartTime)
        .all(db)
        .await
}

/// The clinic's cancellation reasons, live ones first, each group by label; retired ones only when
/// asked for.
pub async fn list_reasons(
    db: &TenantTransaction,
    tenant_id: Uuid,
    include_retired: bool,
) -> Result<Vec<cancellation_reason::Model>, DbErr> {
    let mut query = cancellation_reason::Entity::find()
        .filter(cancellation_reason::Column::TenantId.eq(tenant_id));
    if !include_retired {
        query = query.filter(cancellation_reason::Column::RetiredAt.is_null());
    }
    query
        .order_by_asc(Expr::cust("retired_at is not null"))
        .order_by_asc(cancellation_reason::Column::Label)
        .order_by_asc(cancellation_reason::Column::Id)
        .all(db)
        .await
}

pub async fn find_reason(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<cancellation_reason::Model>, DbErr> {
    cancellation_reason::Entity::find()
        .filter(cancellation_reason::Column::TenantId.eq(tenant_id))
        .filter(cancellation_reason::Column::Id.eq(id))
        .one(db)
        .await
}

pub async fn insert_reason(
    db: &TenantTransaction,
    tenant_id: Uuid,
    category: CancellationCategory,
    label: String,
) -> Result<cancellation_reason::Model, DbErr> {
    cancellation_reason::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::new_v4()),
        category: Set(category.as_str().to_owned()),
        label: Set(label),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Retires a live reason; false if it was retired already.
pub async fn retire_reason(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<bool, DbErr> {
    let retired = cancellation_reason::Entity::update_many()
        .col_expr(cancellation_reason::Column::RetiredAt, Expr::cust("now()"))
        .col_expr(cancellation_reason::Column::UpdatedAt, Expr::cust("now()"))
        .filter(cancellation_reason::Column::TenantId.eq(tenant_id))
        .filter(cancellation_reason::Column::Id.eq(id))
        .filter(cancellation_reason::Column::RetiredAt.is_null())
        .exec(db)
        .await?;
    Ok(retired.rows_affected == 1)
}

pub async fn find_policy(
    db: &TenantTransaction,
    tenant_id: Uuid,
    type_id: Uuid,
) -> Result<Option<cancellation_policy::Model>, DbErr> {
    cancellation_policy::Entity::find()
        .filter(cancellation_policy::Column::TenantId.eq(tenant_id))
        .filter(cancellation_policy::Column::AppointmentTypeId.eq(type_id))
        .one(db)
        .await
}

pub async fn list_policies(
    db: &TenantTransaction,
    tenant_id: Uuid,
) -> Result<Vec<cancellation_policy::Model>, DbErr> {
    cancellation_policy::Entity::find()
        .filter(cancellation_policy::Column::TenantId.eq(tenant_id))
        .order_by_asc(cancellation_policy::Column::AppointmentTypeId)
        .all(db)
        .await
}

/// An appointment type's policy as given, replacing the one it had.
pub struct NewPolicy {
    pub type_id: Uuid,
    pub window_hours: i32,
    pub late_cancellation_fee: Decimal,
    pub no_show_fee: Decimal,
}

/// Sets an appointment type's policy (one plain insert, which replaces the policy it had).
pub async fn set_policy(
    db: &TenantTransaction,
    tenant_id: Uuid,
    policy: NewPolicy,
) -> Result<Option<cancellation_policy::Model>, DbErr> {
    cancellation_policy::Entity::find()
        .from_raw_sql(statement(
            "insert into cancellation_policies
                    (tenant_id, appointment_type_id, window_hours, late_cancellation_fee, no_show_fee,
                     updated_at)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (tenant_id, appointment_type_id) do update
                set window_hours = excluded.window_hours,
                    late_cancellation_fee = excluded.late_cancellation_fee,
                    no_show_fee = excluded.no_show_fee,
                    updated_at = excluded.updated_at
             returning *",
            [
                tenant_id.into(),
                policy.type_id.into(),
                policy.window_hours.into(),
                policy.late_cancellation_fee.into(),
                policy.no_show_fee.into(),
                // The time comes from here: Citus refuses functions that are not IMMUTABLE, such
                // as now(), in the DO UPDATE of an insert into a distributed table.
                Utc::now().into(),
            ],
        ))
        .one(db)
        .await
}

/// How many appointments starting in [from, to) were cancelled, by category and reason.
pub struct CancellationCount {
    pub category: Option<String>,
    pub reason_id: Option<Uuid>,
    pub count: i64,
}

pub async fn cancellation_counts(
    db: &TenantTransaction,
    tenant_id: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<CancellationCount>, DbErr> {
    let rows = db
        .query_all_raw(statement(
            "select cancel_reason_category, cancel_reason_id, count(*)
               from appointments
              where tenant_id = $1 and status = 'Cancelled' and not is_deleted
                and start_time >= $2 and start_time < $3
              group by cancel_reason_category, cancel_reason_id
              order by count(*) desc, cancel_reason_category, cancel_reason_id",
            [tenant_id.into(), from.into(), to.into()],
        ))
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(CancellationCount {
                category: row.try_get_by_index(0)?,
                reason_id: row.try_get_by_index(1)?,
                count: row.try_get_by_index(2)?,
            })
        })
        .collect()
}

/// What `addToWaitlist` writes.
pub struct NewWaitlistEntry {
    pub patient_id: Uuid,
    pub provider_id: Option<Uuid>,
    pub type_id: Uuid,
    pub window: (DateTime<Utc>, DateTime<Utc>),
    pub notes: String,
}

pub async fn insert_waitlist_entry(
    db: &TenantTransaction,
    tenant_id: Uuid,
    new: NewWaitlistEntry,
) -> Result<waitlist_entry::Model, DbErr> {
    waitlist_entry::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::new_v4()),
        patient_id: Set(new.patient_id),
        provider_id: Set(new.provider_id),
        type_id: Set(new.type_id),
        earliest: Set(new.window.0.into()),
        latest: Set(new.window.1.into()),
        notes: Set(new.notes),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// A live (still waiting) entry.
pub async fn find_waitlist_entry(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<waitlist_entry::Model>, DbErr> {
    waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::TenantId.eq(tenant_id))
        .filter(waitlist_entry::Column::Id.eq(id))
        .filter(waitlist_entry::Column::IsDeleted.eq(false))
        .one(db)
        .await
}

/// Ends a live entry (a soft delete, audited), noting the appointment booked from it if any;
/// false when it was not live. `now` is a parameter: Citus refuses now() in an UPDATE's SET.
pub async fn end_waitlist_entry(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
    booked: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let ended = waitlist_entry::Entity::update_many()
        .col_expr(waitlist_entry::Column::IsDeleted, Expr::value(true))
        .col_expr(
            waitlist_entry::Column::BookedAppointmentId,
            Expr::value(booked),
        )
        .col_expr(waitlist_entry::Column::UpdatedAt, Expr::value(now))
        .filter(waitlist_entry::Column::TenantId.eq(tenant_id))
        .filter(waitlist_entry::Column::Id.eq(id))
        .filter(waitlist_entry::Column::IsDeleted.eq(false))
        .exec(db)
        .await?;
    Ok(ended.rows_affected == 1)
}

/// Live entries oldest first, after the (created_at, id) key of the last one seen.
pub async fn waitlist_page(
    db: &TenantTransaction,
    tenant_id: Uuid,
    after: Option<&(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<waitlist_entry::Model>, DbErr> {
    let mut query = waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::TenantId.eq(tenant_id))
        .filter(waitlist_entry::Column::IsDeleted.eq(false));
    if let Some((created_at, id)) = after {
        query = query.filter(
            Expr::tuple([
                Expr::col(waitlist_entry::Column::CreatedAt),
                Expr::col(waitlist_entry::Column::Id),
            ])
            .gt(Expr::tuple([Expr::val(*created_at), Expr::val(*id)])),
        );
    }
    query
        .order_by_asc(waitlist_entry::Column::CreatedAt)
        .order_by_asc(waitlist_entry::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// The live entries a freed slot `[start, end)` with the provider fits, oldest first: the
/// provider's or any provider's, of a type no longer than the slot, with a window containing
/// it. The same rule as the SlotFreed trigger (sql/m20261207_000070_waitlist/slot_freed.sql),
/// whose other half, a slot clear of time off, `waitlist::matches` checks.
pub async fn waitlist_matches(
    db: &TenantTransaction,
    tenant_id: Uuid,
    provider_id: Uuid,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    limit: u64,
) -> Result<Vec<waitlist_entry::Model>, DbErr> {
    let minutes = ((end - start).num_seconds() / 60) as i32;
    waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::TenantId.eq(tenant_id))
        .filter(waitlist_entry::Column::IsDeleted.eq(false))
        .filter(
            sea_orm::Condition::any()
                .add(waitlist_entry::Column::ProviderId.is_null())
                .add(waitlist_entry::Column::ProviderId.eq(provider_id)),
        )
        .filter(waitlist_entry::Column::Earliest.lte(start))
        .filter(waitlist_entry::Column::Latest.gte(end))
        .filter(
            waitlist_entry::Column::TypeId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(appointment_type::Column::Id)
                    .from(appointment_type::Entity)
                    .and_where(appointment_type::Column::TenantId.eq(tenant_id))
                    .and_where(appointment_type::Column::DurationMinutes.lte(minutes))
                    .to_owned(),
            ),
        )
        .order_by_asc(waitlist_entry::Column::CreatedAt)
        .order_by_asc(waitlist_entry::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// A new room's validated fields.
pub struct NewRoom {
    pub name: String,
    pub kind: Option<String>,
}

pub async fn insert_room(db: &TenantTransaction, new: NewRoom) -> Result<room::Model, DbErr> {
    room::ActiveModel {
        tenant_id: Set(db.tenant_id()),
        id: Set(Uuid::new_v4()),
        name: Set(new.name),
        kind: Set(new.kind),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// A live room of the clinic.
pub async fn find_room(db: &TenantTransaction, id: Uuid) -> Result<Option<room::Model>, DbErr> {
    room::Entity::find()
        .filter(room::Column::TenantId.eq(db.tenant_id()))
        .filter(room::Column::Id.eq(id))
        .filter(room::Column::IsDeleted.eq(false))
        .one(db)
        .await
}

/// The clinic's live rooms by name, of one kind (compared ignoring case) or all of them. A clinic
/// has a few dozen rooms at most: no paging.
pub async fn list_rooms(
    db: &TenantTransaction,
    kind: Option<&str>,
) -> Result<Vec<room::Model>, DbErr> {
    let mut query = room::Entity::find()
        .filter(room::Column::TenantId.eq(db.tenant_id()))
        .filter(room::Column::IsDeleted.eq(false));
    if let Some(kind) = kind {
        query = query
            .filter(Expr::expr(Func::lower(Expr::col(room::Column::Kind))).eq(kind.to_lowercase()));
    }
    query
        .order_by_asc(room::Column::Name)
        .order_by_asc(room::Column::Id)
        .all(db)
        .await
}

/// Changes to a room; `None` keeps the current value, `kind: Some(None)` clears it.
pub struct RoomChanges {
    pub name: Option<String>,
    pub kind: Option<Option<String>>,
    pub remove: bool,
}

/// Applies `changes` to a live room; false when there is none.
pub async fn update_room(
    db: &TenantTransaction,
    id: Uuid,
    changes: RoomChanges,
) -> Result<bool, DbErr> {
    let mut update = room::Entity::update_many()
        .col_expr(room::Column::UpdatedAt, Expr::cust("now()"))
        .filter(room::Column::TenantId.eq(db.tenant_id()))
        .filter(room::Column::Id.eq(id))
        .filter(room::Column::IsDeleted.eq(false));
    if let Some(name) = changes.name {
        update = update.col_expr(room::Column::Name, Expr::value(name));
    }
    if let Some(kind) = changes.kind {
        update = update.col_expr(room::Column::Kind, Expr::value(kind));
    }
    if changes.remove {
        update = update.col_expr(room::Column::IsDeleted, Expr::value(true));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

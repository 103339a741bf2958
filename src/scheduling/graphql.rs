//! Scheduling over GraphQL: appointment types, providers' working hours, booking with no
//! double-booking, the status flow with optimistic concurrency, and free slots.

use std::collections::HashMap;

use async_graphql::connection::Connection;
use async_graphql::{
    ComplexObject, Context, ID, InputObject, MaybeUndefined, Object, SimpleObject,
};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::billing::Invoice;
use crate::foundation::access::Permission;
use crate::foundation::error::ApiError;
use crate::foundation::global_id::node_id;
use crate::foundation::loader::prime;
use crate::foundation::money::Money;
use crate::foundation::paging::{PageRequest, connection};
use crate::foundation::session::{Session, session};
use crate::identity::{User, WorkingHours, store as identity_store, stored_week, working_week};
use crate::patients::Patient;
use crate::scheduling::booking::{self, BookingRequest, CancelRequest};
use crate::scheduling::entity::{appointment, appointment_type};
use crate::scheduling::loader;
use crate::scheduling::model::{
    AppointmentStatus, BookingWindow, CancellationCategory, duration_minutes, price, type_name,
};
use crate::scheduling::rooms::room_kind;
use crate::scheduling::rooms_graphql::Room;
use crate::scheduling::store::{self, AppointmentFilter, TypeChanges};

/// A kind of visit: how long it takes and what it costs.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AppointmentType {
    /// The appointment type's id.
    pub id: Uuid,
    /// What the clinic calls it, e.g. "Initial consultation".
    pub name: String,
    /// How long a visit of this type takes, in minutes (5 to 720): the default length of a
    /// booking and the length `availableSlots` looks for.
    pub duration_minutes: i32,
    /// What a visit of this type costs, as a decimal string with two places, e.g. "80.00";
    /// copied onto each appointment when it is booked.
    pub price: Money,
    /// The kind of room a visit of this type needs (a `Room`'s `kind`, ignoring case): booking
    /// takes a free room of it, and `availableSlots` offers only times when one is free. Null:
    /// no room is needed.
    pub room_kind: Option<String>,
}

#[ComplexObject]
impl AppointmentType {
    /// The appointment type's global id, for `node(id:)` (Relay's object identification);
    /// opaque.
    pub async fn node_id(&self) -> ID {
        node_id::<AppointmentType>(self.id)
    }
}

impl From<appointment_type::Model> for AppointmentType {
    fn from(model: appointment_type::Model) -> Self {
        AppointmentType {
            id: model.id,
            name: model.name,
            duration_minutes: model.duration_minutes,
            price: Money(model.price),
            room_kind: model.room_kind,
        }
    }
}

/// A booked visit of a patient with a provider.
pub struct Appointment(appointment::Model);

impl Appointment {
    pub fn new(model: appointment::Model) -> Appointment {
        Appointment(model)
    }

    fn status_value(&self) -> Result<AppointmentStatus, ApiError> {
        AppointmentStatus::parse(&self.0.status).ok_or_else(ApiError::internal)
    }
}

/// A booked visit of a patient with a provider, holding the provider's time from `start` to
/// `end` until it is cancelled or marked a no-show.
#[Object]
impl Appointment {
    /// The appointment's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// The appointment's global id, for `node(id:)` (Relay's object identification); opaque.
    pub async fn node_id(&self) -> ID {
        node_id::<Appointment>(self.0.id)
    }

    /// When the visit starts (UTC).
    async fn start(&self) -> DateTime<Utc> {
        self.0.start_time.into()
    }

    /// When the visit ends (UTC), exclusive: another appointment may start at this instant.
    async fn end(&self) -> DateTime<Utc> {
        self.0.end_time.into()
    }

    /// Where the appointment is: Scheduled → Arrived → InSession → Completed, Scheduled or
    /// Arrived → NoShow, Scheduled → Cancelled.
    async fn status(&self) -> Result<AppointmentStatus, ApiError> {
        self.status_value()
    }

    /// The reason given to `cancelAppointment`; null unless the status is Cancelled.
    async fn cancel_reason(&self) -> Option<&str> {
        self.0.cancel_reason.as_deref()
    }

    /// The category given to `cancelAppointment`; null unless the status is Cancelled (and on
    /// appointments cancelled before categories were recorded).
    async fn cancel_reason_category(&self) -> Result<Option<CancellationCategory>, ApiError> {
        self.0
            .cancel_reason_category
            .as_deref()
            .map(|stored| CancellationCategory::parse(stored).ok_or_else(ApiError::internal))
            .transpose()
    }

    /// The id of the clinic's cancellation reason (`cancellationReasons`) it was cancelled for;
    /// null unless it was cancelled naming one.
    async fn cancel_reason_id(&self) -> Option<Uuid> {
        self.0.cancel_reason_id
    }

    /// The type's price when the appointment was booked: what the invoice will bill.
    async fn price(&self) -> Money {
        Money(self.0.price)
    }

    /// Send it back as `expectedVersion` with any change; a change made meanwhile by someone
    /// else makes yours a CONFLICT instead of silently overwriting it.
    async fn version(&self) -> i64 {
        self.0.row_version
    }

    /// Booked by a ClinicAdmin outside the provider's working hours.
    async fn booked_outside_working_hours(&self) -> bool {
        self.0.booked_outside_hours
    }

    /// Booked by a ClinicAdmin into the provider's time off or a clinic closure.
    async fn booked_over_time_off(&self) -> bool {
        self.0.booked_over_time_off
    }

    /// Booked by a ClinicAdmin to start in the past (backdated).
    async fn backdated(&self) -> bool {
        self.0.booked_in_the_past
    }

    /// The ClinicAdmin's reason for booking over time off or backdating; null otherwise.
    async fn override_reason(&self) -> Option<&str> {
        self.0.override_reason.as_deref()
    }

    /// The series `bookSeries` booked it in; null for a single booking.
    async fn series_id(&self) -> Option<Uuid> {
        self.0.series_id
    }

    /// The id of the room the visit holds; null when it holds none.
    async fn room_id(&self) -> Option<Uuid> {
        self.0.room_id
    }

    /// The room the visit holds (`removed` if it has since been taken out of use); null when it
    /// holds none.
    async fn room(&self, ctx: &Context<'_>) -> Result<Option<Room>, ApiError> {
        let Some(room_id) = self.0.room_id else {
            return Ok(None);
        };
        let session = session(ctx)?;
        Ok(loader::rooms(session)
            .load_one(room_id)
            .await?
            .map(Room::from))
    }

    /// Null if the patient has since been deleted. Every role that reads patients, and API keys
    /// with scope PATIENT_CONTACT (names and contact details only).
    async fn patient(&self, ctx: &Context<'_>) -> Result<Option<Patient>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadAppointmentPatients)?;
        Ok(crate::patients::loader::patients(session)
            .load_one(self.0.patient_id)
            .await?
            .map(Patient::new))
    }

    /// The provider the patient sees; null if the provider's user has since been deleted.
    async fn provider(&self, ctx: &Context<'_>) -> Result<Option<User>, ApiError> {
        let session = session(ctx)?;
        crate::identity::loader::providers(session)
            .load_one(self.0.provider_id)
            .await
    }

    /// Null if the type has since been deleted.
    #[graphql(name = "type")]
    async fn appointment_type(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<AppointmentType>, ApiError> {
        let session = session(ctx)?;
        Ok(loader::appointment_types(session)
            .load_one(self.0.type_id)
            .await?
            .map(AppointmentType::from))
    }

    /// When the appointment was booked (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }

    /// The invoice raised when the appointment was completed; null before that, and for roles
    /// that may not read invoices.
    async fn invoice(&self, ctx: &Context<'_>) -> Result<Option<Invoice>, ApiError> {
        let session = session(ctx)?;
        if !session.principal.may(Permission::ReadBilling) {
            return Ok(None);
        }
        crate::billing::invoice_of_appointment(session, self.0.id).await
    }
}

/// A new kind of visit for the clinic's bookings.
#[derive(InputObject)]
pub struct CreateAppointmentTypeInput {
    /// What the clinic calls it: one line, at most 100 characters.
    pub name: String,
    /// How long a visit takes, in minutes: 5 to 720.
    pub duration_minutes: i32,
    /// At most 2 decimal places, e.g. "80.00".
    pub price: Money,
    /// The kind of room a visit needs (one line, at most 50 characters); omit for none.
    pub room_kind: Option<String>,
}

/// Fields left out keep their value. Appointments already booked keep their times and price.
#[derive(InputObject)]
pub struct UpdateAppointmentTypeInput {
    /// The appointment type to change.
    pub id: Uuid,
    /// The new name: one line, at most 100 characters.
    pub name: Option<String>,
    /// The new length of a visit, in minutes: 5 to 720.
    pub duration_minutes: Option<i32>,
    /// The new price for future bookings: a decimal string, 0 to 999999.99, at most 2
    /// decimal places, e.g. "80.00".
    pub price: Option<Money>,
    /// The kind of room a visit needs from now on (one line, at most 50 characters); null for
    /// none. Visits already booked keep their rooms.
    pub room_kind: MaybeUndefined<String>,
}

/// A booking of a patient with a provider for `[start, end)`, which must not overlap the
/// provider's other Scheduled, Arrived, InSession or Completed appointments.
#[derive(InputObject)]
pub struct BookAppointmentInput {
    /// The patient to book; must not be deleted.
    pub patient_id: Uuid,
    /// The provider to book: an active user of the clinic with the Provider role.
    pub provider_id: Uuid,
    /// The appointment type, which sets the default length and the price charged.
    pub type_id: Uuid,
    /// When the visit starts (UTC); pick one from `availableSlots` to stay within working hours.
    pub start: DateTime<Utc>,
    /// When the visit ends (UTC, exclusive), after `start`. Defaults to start + the type's
    /// duration.
    pub end: Option<DateTime<Utc>>,
    /// Book outside the provider's working hours (ClinicAdmin only; the appointment is marked).
    #[graphql(default)]
    pub override_working_hours: bool,
    /// Book into the provider's time off or a clinic closure (ClinicAdmin only, with an
    /// `overrideReason`; the appointment is marked `bookedOverTimeOff` and the audit trail keeps
    /// who did it).
    #[graphql(default)]
    pub override_time_off: bool,
    /// Book a start in the past, e.g. a visit recorded after the fact (ClinicAdmin only, with an
    /// `overrideReason`; the appointment is marked `backdated`). Without it a start more than 15
    /// minutes ago is BAD_USER_INPUT, as is one beyond the booking horizon for everyone.
    #[graphql(default)]
    pub backdate: bool,
    /// Why the override is needed: one line, at most 500 characters; required with
    /// `overrideTimeOff` or `backdate`.
    pub override_reason: Option<String>,
    /// Book from this patient's waitlist entry (`waitlistMatches`): the entry ends with the
    /// booking, in the same transaction. FrontDesk, Provider, ClinicAdmin.
    pub waitlist_entry_id: Option<Uuid>,
    /// The room (`rooms`), which must be free then and of the kind the type needs, if it needs
    /// one. Omit it to have the first free room of that kind, by name, picked.
    pub room_id: Option<Uuid>,
}

/// New times for a Scheduled appointment, with the same provider, patient, type and price.
#[derive(InputObject)]
pub struct RescheduleAppointmentInput {
    /// The appointment to move; it must be Scheduled.
    pub id: Uuid,
    /// The appointment's `version` as last read; CONFLICT if it has changed since.
    pub expected_version: i64,
    /// The new start (UTC).
    pub start: DateTime<Utc>,
    /// The new end (UTC, exclusive), after `start`. Defaults to the new start + the
    /// appointment's current length.
    pub end: Option<DateTime<Utc>>,
    /// Move it outside the provider's working hours (ClinicAdmin only; the appointment is
    /// marked `bookedOutsideWorkingHours`).
    #[graphql(default)]
    pub override_working_hours: bool,
}

/// A page of appointments, with what the selection shows of their patients, providers and types
/// loaded into the loaders, whose cache the fields then resolve from (see `foundation::loader`):
/// patients and types in the same query as the appointments, providers in one more. A reference
/// the join did not find (hidden or deleted) is left to the loader, which answers it as it
/// answers any other lookup.
async fn appointments_page(
    ctx: &Context<'_>,
    session: &Session,
    filter: &AppointmentFilter,
    after: Option<&(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<appointment::Model>, ApiError> {
    let node = ctx.look_ahead().field("edges").field("node");
    let appointments = if node.field("patient").exists() || node.field("type").exists() {
        let rows =
            store::list_appointments_with_references(session.db(), filter, after, limit).await?;
        let mut appointments = Vec::with_capacity(rows.len());
        let (mut patients, mut types) = (HashMap::new(), HashMap::new());
        for (appointment, patient, appointment_type) in rows {
            if let Some(row) = patient.filter(|row| !row.is_deleted) {
                patients.entry(row.id).or_insert(row);
            }
            if let Some(row) = appointment_type.filter(|row| !row.is_deleted) {
                types.entry(row.id).or_insert(row);
            }
            appointments.push(appointment);
        }
        crate::patients::loader::patients(session)
            .feed_many(patients)
            .await;
        loader::appointment_types(session).feed_many(types).await;
        appointments
    } else {
        store::list_appointments(session.db(), filter, after, limit).await?
    };
    if node.field("provider").exists() {
        let ids = appointments.iter().map(|row| row.provider_id);
        prime(&crate::identity::loader::providers(session), ids).await?;
    }
    Ok(appointments)
}

/// The server's booking window, which the roof puts in the schema's data.
pub fn booking_window(ctx: &Context<'_>) -> Result<BookingWindow, ApiError> {
    ctx.data_opt::<BookingWindow>()
        .copied()
        .ok_or_else(ApiError::internal)
}

/// The clinic's appointment `id`, for those who read appointments (`appointment(id:)`, `node`).
pub async fn find_appointment(
    session: &Session,
    id: Uuid,
) -> Result<Option<Appointment>, ApiError> {
    session.require(Permission::ReadAppointments)?;
    Ok(
        store::find_appointment(session.db(), session.tenant_id(), id)
            .await?
            .map(Appointment),
    )
}

/// The clinic's appointment type `id`, for those who read the schedule (`node`).
pub async fn find_appointment_type(
    session: &Session,
    id: Uuid,
) -> Result<Option<AppointmentType>, ApiError> {
    session.require(Permission::ReadSchedule)?;
    Ok(store::find_type(session.db(), session.tenant_id(), id)
        .await?
        .map(AppointmentType::from))
}

#[derive(Default)]
pub struct SchedulingQuery;

#[Object]
impl SchedulingQuery {
    /// The clinic's appointment types, by name.
    async fn appointment_types(&self, ctx: &Context<'_>) -> Result<Vec<AppointmentType>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadSchedule)?;
        Ok(store::list_types(session.db(), session.tenant_id())
            .await?
            .into_iter()
            .map(AppointmentType::from)
            .collect())
    }

    /// One of the clinic's appointments; NOT_FOUND if there is none with that id. ClinicAdmin,
    /// Provider, FrontDesk, BillingManager, and API keys with scope APPOINTMENTS.
    async fn appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment's id.")] id: Uuid,
    ) -> Result<Appointment, ApiError> {
        find_appointment(session(ctx)?, id)
            .await?
            .ok_or_else(|| ApiError::not_found("appointment"))
    }

    /// Appointments by start time; `from` inclusive, `to` exclusive. ClinicAdmin, Provider,
    /// FrontDesk, BillingManager, and API keys with scope APPOINTMENTS.
    #[allow(clippy::too_many_arguments)] // one argument per filter of the GraphQL field
    #[graphql(complexity = "crate::foundation::paging::complexity(first, child_complexity)")]
    async fn appointments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only appointments starting at or after this instant (UTC, inclusive).")]
        from: Option<DateTime<Utc>>,
        #[graphql(desc = "Only appointments starting before this instant (UTC, exclusive).")]
        to: Option<DateTime<Utc>>,
        #[graphql(desc = "Only this provider's appointments.")] provider_id: Option<Uuid>,
        #[graphql(desc = "Only this patient's appointments.")] patient_id: Option<Uuid>,
        #[graphql(desc = "Only appointments with this status.")] status: Option<AppointmentStatus>,
        #[graphql(desc = "Page size: 1 to 100; 20 if omitted.")] first: Option<i32>,
        #[graphql(
            desc = "An opaque cursor: the `endCursor` of the previous page, to read the page after it."
        )]
        after: Option<String>,
    ) -> Result<Connection<String, Appointment>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadAppointments)?;
        let page = PageRequest::<(DateTime<Utc>, Uuid)>::new(first, after.as_deref())?;
        let filter = AppointmentFilter {
            tenant_id: session.tenant_id(),
            from,
            to,
            provider_id,
            patient_id,
            status,
        };
        let rows =
            appointments_page(ctx, session, &filter, page.after.as_ref(), page.limit()).await?;
        let rows = rows
            .into_iter()
            .map(|model| ((model.start_time.into(), model.id), Appointment(model)))
            .collect();
        Ok(connection(&page, rows))
    }

    /// The free starts on `date` (in the clinic's time zone) for an appointment of `typeId`
    /// with the provider: within working hours (that date's own hours, if it has a change),
    /// clear of booked appointments, time off and closures, not in the past nor beyond the
    /// booking horizon, on a 15-minute grid.
    async fn available_slots(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The provider: an active user of the clinic with the Provider role.")]
        provider_id: Uuid,
        #[graphql(desc = "The day, in the clinic's time zone (years 1900 to 9999).")]
        date: NaiveDate,
        #[graphql(desc = "The appointment type, whose duration is the length of each slot.")]
        type_id: Uuid,
    ) -> Result<Vec<DateTime<Utc>>, ApiError> {
        let session = session(ctx)?;
        booking::available_slots(
            session.db(),
            &session.principal,
            booking_window(ctx)?,
            (provider_id, type_id),
            date,
            Utc::now(),
        )
        .await
    }
}

#[derive(Default)]
pub struct SchedulingMutation;

#[Object]
impl SchedulingMutation {
    /// ClinicAdmin only.
    async fn create_appointment_type(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new type's name, duration and price.")]
        input: CreateAppointmentTypeInput,
    ) -> Result<AppointmentType, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageAppointmentTypes)?;
        let model = store::insert_type(
            session.db(),
            session.principal.tenant_id,
            type_name("input.name", &input.name)?,
            duration_minutes("input.durationMinutes", input.duration_minutes)?,
            price("input.price", input.price.0)?,
            room_kind("input.roomKind", input.room_kind.as_deref())?,
        )
        .await?;
        Ok(model.into())
    }

    /// ClinicAdmin only.
    async fn update_appointment_type(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The type to change and the fields to change.")]
        input: UpdateAppointmentTypeInput,
    ) -> Result<AppointmentType, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageAppointmentTypes)?;
        let changes = TypeChanges {
            name: input
                .name
                .as_deref()
                .map(|name| type_name("input.name", name))
                .transpose()?,
            duration_minutes: input
                .duration_minutes
                .map(|minutes| duration_minutes("input.durationMinutes", minutes))
                .transpose()?,
            price: input
                .price
                .map(|amount| price("input.price", amount.0))
                .transpose()?,
            room_kind: input
                .room_kind
                .as_opt_deref()
                .map(|kind| room_kind("input.roomKind", kind))
                .transpose()?,
            delete: false,
        };
        if !store::update_type(session.db(), session.tenant_id(), input.id, changes).await? {
            return Err(ApiError::not_found("appointment type"));
        }
        store::find_type(session.db(), session.tenant_id(), input.id)
            .await?
            .map(AppointmentType::from)
            .ok_or_else(|| ApiError::not_found("appointment type"))
    }

    /// Removes a type from new bookings; appointments already booked keep it. ClinicAdmin only.
    /// Returns the id.
    async fn delete_appointment_type(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment type to delete.")] id: Uuid,
    ) -> Result<Uuid, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageAppointmentTypes)?;
        let changes = TypeChanges {
            delete: true,
            ..TypeChanges::default()
        };
        if !store::update_type(session.db(), session.tenant_id(), id, changes).await? {
            return Err(ApiError::not_found("appointment type"));
        }
        Ok(id)
    }

    /// Replaces a provider's weekly working hours (clinic time zone). ClinicAdmin only.
    async fn set_provider_working_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The provider: an active user of the clinic with the Provider role.")]
        provider_id: Uuid,
        #[graphql(
            desc = "The whole week, in the clinic's time zone: whole-minute periods, none overlapping, at most 8 a day; an empty list means no working hours."
        )]
        hours: Vec<WorkingHours>,
    ) -> Result<User, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageWorkingHours)?;
        let week = working_week("hours", hours)?;
        if !identity_store::set_working_hours(
            session.db(),
            session.tenant_id(),
            provider_id,
            stored_week(&week)?,
        )
        .await?
        {
            return Err(ApiError::not_found("active provider"));
        }
        identity_store::find_user(session.db(), session.tenant_id(), provider_id)
            .await?
            .ok_or_else(|| ApiError::not_found("active provider"))?
            .try_into()
    }

    /// Books a patient with a provider, in a room if the type needs one or `roomId` names one.
    /// FrontDesk, Provider, ClinicAdmin. CONFLICT names the appointment, time off, closure or
    /// room already in the way.
    async fn book_appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who, with whom, what type and when.")] input: BookAppointmentInput,
    ) -> Result<Appointment, ApiError> {
        let session = session(ctx)?;
        let request = BookingRequest {
            patient_id: input.patient_id,
            provider_id: input.provider_id,
            type_id: input.type_id,
            start: input.start,
            end: input.end,
            override_working_hours: input.override_working_hours,
            override_time_off: input.override_time_off,
            backdate: input.backdate,
            override_reason: input.override_reason,
            waitlist_entry_id: input.waitlist_entry_id,
            room_id: input.room_id,
        };
        booking::book(
            session.db(),
            &session.principal,
            booking_window(ctx)?,
            request,
        )
        .await
        .map(Appointment)
    }

    /// Moves a Scheduled appointment. FrontDesk, Provider, ClinicAdmin.
    async fn reschedule_appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment, its version as last read, and the new times.")]
        input: RescheduleAppointmentInput,
    ) -> Result<Appointment, ApiError> {
        let session = session(ctx)?;
        booking::reschedule(
            session.db(),
            &session.principal,
            booking_window(ctx)?,
            (input.id, input.expected_version),
            (input.start, input.end),
            input.override_working_hours,
        )
        .await
        .map(Appointment)
    }

    /// Cancels a Scheduled appointment, freeing its slot. FrontDesk, Provider, ClinicAdmin. A
    /// patient's cancellation (PATIENT_REQUEST) inside the type's cancellation window owes the
    /// late-cancellation fee, invoiced at once (`setCancellationPolicy`).
    async fn cancel_appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment to cancel; it must be Scheduled.")] id: Uuid,
        #[graphql(
            desc = "The appointment's `version` as last read; CONFLICT if it has changed since."
        )]
        expected_version: i64,
        #[graphql(desc = "Why it is cancelled: one line, at most 500 characters.")] reason: String,
        #[graphql(
            desc = "Why it is cancelled, as a category partners can act on: the reason's with a `reasonId` (a different one is refused), else OTHER if omitted."
        )]
        category: Option<CancellationCategory>,
        #[graphql(
            desc = "One of the clinic's live cancellation reasons (`cancellationReasons`), recorded with the appointment and counted by `cancellationReport`."
        )]
        reason_id: Option<Uuid>,
    ) -> Result<Appointment, ApiError> {
        let session = session(ctx)?;
        let request = CancelRequest {
            reason: &reason,
            category,
            reason_id,
        };
        booking::cancel(
            session.db(),
            &session.principal,
            session.events(),
            (id, expected_version),
            request,
        )
        .await
        .map(Appointment)
    }

    /// Moves an appointment along Scheduled → Arrived → InSession → Completed, or to NoShow.
    /// Provider and ClinicAdmin; FrontDesk may record Arrived and NoShow. Cancelling is
    /// `cancelAppointment`, which takes a reason.
    async fn set_appointment_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment to move along.")] id: Uuid,
        #[graphql(
            desc = "The appointment's `version` as last read; CONFLICT if it has changed since."
        )]
        expected_version: i64,
        #[graphql(
            desc = "The next status, one the current status may become; not CANCELLED (use `cancelAppointment`)."
        )]
        status: AppointmentStatus,
    ) -> Result<Appointment, ApiError> {
        let session = session(ctx)?;
        booking::set_status(
            session.db(),
            &session.principal,
            session.events(),
            (id, expected_version),
            status,
        )
        .await
        .map(Appointment)
    }
}

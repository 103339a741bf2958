//! The waitlist's rules: the front desk (or a provider, or a ClinicAdmin) adds a patient waiting
//! for an earlier slot, with one provider or any, for an appointment type, inside a window of
//! instants or of the clinic's whole days; a freed slot offers the entries it fits, oldest first;
//! booking from an entry ends it in the booking's transaction. The partner event for a freed
//! slot (SlotFreed) is written by the database with the cancellation or reschedule that frees it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::foundation::access::{Permission, Principal};
use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;
use crate::foundation::input::optional_text;
use crate::scheduling::calendar::{clinic_zone, provider_hours};
use crate::scheduling::entity::waitlist_entry;
use crate::scheduling::store::{self, NewWaitlistEntry, TimeOffOf};
use crate::scheduling::time_off::{Span, instants};

/// Most entries one freed slot offers.
pub const MOST_MATCHES: u64 = 50;

/// What `addToWaitlist` asks for.
pub struct WaitlistRequest {
    pub patient_id: Uuid,
    /// None: any provider.
    pub provider_id: Option<Uuid>,
    pub type_id: Uuid,
    pub window: Span,
    pub notes: Option<String>,
}

/// Adds a patient to the waitlist; NOT_FOUND for a patient, provider or type the clinic does
/// not have (another clinic's included).
pub async fn add(
    db: &TenantTransaction,
    principal: &Principal,
    request: WaitlistRequest,
) -> Result<waitlist_entry::Model, ApiError> {
    principal.require(Permission::ManageWaitlist)?;
    let notes = optional_text("input.notes", request.notes.as_deref(), 1000)?.unwrap_or_default();
    let zone = clinic_zone(db).await?;
    let window = instants(zone, request.window)?;
    crate::patients::find_live(db, db.tenant_id(), request.patient_id)
        .await?
        .ok_or_else(|| ApiError::not_found("patient"))?;
    if let Some(provider_id) = request.provider_id {
        provider_hours(db, provider_id).await?;
    }
    store::find_type(db, db.tenant_id(), request.type_id)
        .await?
        .ok_or_else(|| ApiError::not_found("appointment type"))?;
    let entry = store::insert_waitlist_entry(
        db,
        db.tenant_id(),
        NewWaitlistEntry {
            patient_id: request.patient_id,
            provider_id: request.provider_id,
            type_id: request.type_id,
            window,
            notes,
        },
    )
    .await?;
    Ok(entry)
}

/// Takes a patient off the waitlist; NOT_FOUND when no live entry has that id.
pub async fn remove(
    db: &TenantTransaction,
    principal: &Principal,
    id: Uuid,
) -> Result<Uuid, ApiError> {
    principal.require(Permission::ManageWaitlist)?;
    if !store::end_waitlist_entry(db, db.tenant_id(), id, None, Utc::now()).await? {
        return Err(ApiError::not_found("waitlist entry"));
    }
    Ok(id)
}

/// A page of the waiting entries, oldest first.
pub async fn page(
    db: &TenantTransaction,
    principal: &Principal,
    after: Option<&(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<waitlist_entry::Model>, ApiError> {
    principal.require(Permission::ManageWaitlist)?;
    Ok(store::waitlist_page(db, db.tenant_id(), after, limit).await?)
}

/// The entries a free slot `[start, end)` with the provider fits, oldest first (at most
/// `MOST_MATCHES`): waiting for that provider or any, for a type no longer than the slot, with
/// a window containing it. None for a slot in the provider's time off or a clinic closure,
/// which is not free to offer.
pub async fn matches(
    db: &TenantTransaction,
    principal: &Principal,
    provider_id: Uuid,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<waitlist_entry::Model>, ApiError> {
    principal.require(Permission::ManageWaitlist)?;
    if end <= start {
        return Err(ApiError::bad_input("end", "must be after the start"));
    }
    provider_hours(db, provider_id).await?;
    let away = store::time_off_between(
        db,
        db.tenant_id(),
        TimeOffOf::Provider(provider_id),
        (start, end),
    )
    .await?;
    if !away.is_empty() {
        return Ok(Vec::new());
    }
    Ok(
        store::waitlist_matches(db, db.tenant_id(), provider_id, (start, end), MOST_MATCHES)
            .await?,
    )
}

/// The live entry a booking is made from, which must be the booked patient's; checked before
/// the booking writes anything.
pub async fn entry_to_book(
    db: &TenantTransaction,
    principal: &Principal,
    id: Uuid,
    patient_id: Uuid,
) -> Result<waitlist_entry::Model, ApiError> {
    principal.require(Permission::ManageWaitlist)?;
    let entry = store::find_waitlist_entry(db, db.tenant_id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("waitlist entry"))?;
    if entry.patient_id != patient_id {
        return Err(ApiError::bad_input(
            "input.waitlistEntryId",
            "is another patient's waitlist entry; book the patient who is waiting",
        ));
    }
    Ok(entry)
}

/// Ends the entry a booking was made from, naming the appointment.
pub async fn booked(
    db: &TenantTransaction,
    entry: &waitlist_entry::Model,
    appointment_id: Uuid,
) -> Result<(), ApiError> {
    if !store::end_waitlist_entry(
        db,
        db.tenant_id(),
        entry.id,
        Some(appointment_id),
        Utc::now(),
    )
    .await?
    {
        return Err(ApiError::conflict(
            "the waitlist entry was removed by a concurrent request; book again without it",
        ));
    }
    Ok(())
}

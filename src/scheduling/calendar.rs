//! A provider's calendar over a stretch of time, read in a few queries: the clinic's time zone,
//! the weekly hours with the one-day changes that replace them, and the provider's time off with
//! the clinic's closures. Booking, series and free slots all judge times against it.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;
use crate::foundation::role::Role;
use crate::identity::{WorkingHours, read_stored_week, store as identity_store};
use crate::scheduling::availability::Hours;
use crate::scheduling::entity::time_off;
use crate::scheduling::store::{self, TimeOffOf};

pub struct Calendar {
    pub zone: Tz,
    pub hours: Hours,
    /// The provider's time off and the clinic's closures overlapping the stretch, earliest first.
    pub time_off: Vec<time_off::Model>,
}

impl Calendar {
    /// The provider's calendar around [from, to); NOT_FOUND unless the provider is an active
    /// Provider of the clinic.
    pub async fn of(
        db: &TenantTransaction,
        provider_id: Uuid,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Calendar, ApiError> {
        let weekly = provider_hours(db, provider_id).await?;
        let zone = clinic_zone(db).await?;
        let mut hours = Hours::weekly(weekly);
        // A day each side: an instant's local date may be either side of its UTC date.
        let first = from.with_timezone(&zone).date_naive() - Duration::days(1);
        let last = to.with_timezone(&zone).date_naive() + Duration::days(1);
        for change in
            store::day_hours_between(db, db.tenant_id(), provider_id, (first, last)).await?
        {
            hours.change_day(change.day, read_stored_week(change.periods)?);
        }
        let time_off = store::time_off_between(
            db,
            db.tenant_id(),
            TimeOffOf::Provider(provider_id),
            (from, to),
        )
        .await?;
        Ok(Calendar {
            zone,
            hours,
            time_off,
        })
    }

    /// The first time off or closure that [start, end) overlaps.
    pub fn time_off_during(
        &self,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
    ) -> Option<&time_off::Model> {
        self.time_off
            .iter()
            .find(|block| block.starts_at < end && start < block.ends_at)
    }
}

/// What stands in the way, for a CONFLICT: which time off or closure, with its reason and times.
pub fn describe_time_off(block: &time_off::Model) -> String {
    let what = match block.provider_id {
        Some(_) => "the provider's time off",
        None => "a clinic closure",
    };
    format!(
        "{what} from {} to {} (\"{}\", id {})",
        DateTime::<Utc>::from(block.starts_at),
        DateTime::<Utc>::from(block.ends_at),
        block.reason,
        block.id
    )
}

/// The clinic's time zone, in which working hours and whole days are read.
pub async fn clinic_zone(db: &TenantTransaction) -> Result<Tz, ApiError> {
    let clinic = identity_store::find_tenant(db, db.tenant_id())
        .await?
        .ok_or_else(ApiError::internal)?;
    clinic.time_zone.parse().map_err(|_| ApiError::internal())
}

/// An active Provider of the clinic and their weekly hours; NOT_FOUND for anyone else.
pub async fn provider_hours(
    db: &TenantTransaction,
    provider_id: Uuid,
) -> Result<Vec<WorkingHours>, ApiError> {
    let provider = identity_store::find_user(db, db.tenant_id(), provider_id)
        .await?
        .filter(|user| user.is_active && user.role_id == Role::Provider.id())
        .ok_or_else(|| ApiError::not_found("active provider"))?;
    read_stored_week(provider.working_hours)
}

//! Cancellation reasons and fees, with no GraphQL in sight: the clinic's list of reasons (a
//! ClinicAdmin's to keep), the appointment types' cancellation policies, what a cancellation or a
//! no-show owes, and the report that counts cancellations. Billing posts the fees: scheduling
//! publishes `FeeDue` in the transaction of the change, and billing's handler raises the invoice
//! on the same ledger as a visit's (`server::domain_events`).
//!
//! The rule: a patient's own cancellation (category PatientRequest) at or after the window opens
//! owes the type's late-cancellation fee; the window opens `windowHours` before the start on the
//! clinic's clock, in its time zone, so across a change of daylight saving time "24 hours before a
//! 09:00 visit" is still 09:00 the day before. A cancellation by the provider or the clinic, or
//! for any other category, never charges the patient. A NoShow owes the no-show fee. No policy,
//! or a fee of zero, owes nothing.

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::foundation::access::{Permission, Principal};
use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;
use crate::foundation::input::required_line;
use crate::scheduling::calendar::clinic_zone;
use crate::scheduling::entity::{appointment, cancellation_policy, cancellation_reason};
use crate::scheduling::model::{CancellationCategory, price};
use crate::scheduling::store::{self, CancellationCount, NewPolicy};

/// Published when a late cancellation or a no-show owes its fee, in the transaction that makes
/// the change; billing invoices it, once per appointment and kind.
pub struct FeeDue {
    pub appointment_id: Uuid,
    pub kind: FeeKind,
    /// The fee of the appointment type's policy at the time of the change.
    pub amount: Decimal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeeKind {
    LateCancellation,
    NoShow,
}

/// Why an appointment is cancelled, checked: the free text, the category, and the clinic's
/// reason if one was named.
#[derive(Clone, Debug)]
pub struct Cancellation {
    pub reason: String,
    pub category: CancellationCategory,
    pub reason_id: Option<Uuid>,
}

/// The longest window a policy may have: a month.
pub const MAX_WINDOW_HOURS: i32 = 720;

/// Checks what a cancellation was given: the free text (field `reason`), and either a category
/// or one of the clinic's live reasons, whose category it takes (a category given with it must
/// agree). NOT_FOUND for a reason id the clinic does not have; nothing is written here.
pub async fn cancellation(
    db: &TenantTransaction,
    reason: &str,
    category: Option<CancellationCategory>,
    reason_id: Option<Uuid>,
) -> Result<Cancellation, ApiError> {
    let reason = required_line("reason", reason, 500)?;
    let Some(reason_id) = reason_id else {
        return Ok(Cancellation {
            reason,
            category: category.unwrap_or(CancellationCategory::Other),
            reason_id: None,
        });
    };
    let listed = store::find_reason(db, db.tenant_id(), reason_id)
        .await?
        .ok_or_else(|| ApiError::not_found("cancellation reason"))?;
    if listed.retired_at.is_some() {
        return Err(ApiError::bad_input(
            "reasonId",
            "this cancellation reason is retired; choose a live one from cancellationReasons",
        ));
    }
    let listed_category =
        CancellationCategory::parse(&listed.category).ok_or_else(ApiError::internal)?;
    if category.is_some_and(|given| given != listed_category) {
        return Err(ApiError::bad_input(
            "category",
            format!(
                "the reason's category is {}; leave category out with a reasonId, or give that one",
                listed_category.as_str()
            ),
        ));
    }
    Ok(Cancellation {
        reason,
        category: listed_category,
        reason_id: Some(reason_id),
    })
}

/// When a cancellation of an appointment starting at `start` becomes late: `window_hours` before
/// it on the clinic's clock in `zone`. A wall-clock time that occurs twice (clocks going back)
/// is taken at its first occurrence; one that does not occur (clocks going forward) at the
/// instant the clocks reach it.
pub fn late_from(start: DateTime<Utc>, zone: Tz, window_hours: i32) -> DateTime<Utc> {
    let local = start.with_timezone(&zone).naive_local() - Duration::hours(window_hours.into());
    zone.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
        })
        .map(|cutoff| cutoff.with_timezone(&Utc))
        .unwrap_or(start - Duration::hours(window_hours.into()))
}

/// The fee a cancellation at `now` owes, if any (see the module's rule).
pub async fn late_cancellation_fee(
    db: &TenantTransaction,
    cancelled: &appointment::Model,
    category: CancellationCategory,
    now: DateTime<Utc>,
) -> Result<Option<Decimal>, ApiError> {
    if category != CancellationCategory::PatientRequest {
        return Ok(None);
    }
    let Some(policy) = store::find_policy(db, db.tenant_id(), cancelled.type_id).await? else {
        return Ok(None);
    };
    if policy.late_cancellation_fee.is_zero() {
        return Ok(None);
    }
    let zone = clinic_zone(db).await?;
    let start = DateTime::<Utc>::from(cancelled.start_time);
    Ok(
        (now >= late_from(start, zone, policy.window_hours))
            .then_some(policy.late_cancellation_fee),
    )
}

/// The fee a no-show owes, if any.
pub async fn no_show_fee(
    db: &TenantTransaction,
    missed: &appointment::Model,
) -> Result<Option<Decimal>, ApiError> {
    Ok(store::find_policy(db, db.tenant_id(), missed.type_id)
        .await?
        .map(|policy| policy.no_show_fee)
        .filter(|fee| !fee.is_zero()))
}

/// The clinic's reasons (live ones, or all with `include_retired`). Everyone who reads the
/// schedule.
pub async fn reasons(
    db: &TenantTransaction,
    principal: &Principal,
    include_retired: bool,
) -> Result<Vec<cancellation_reason::Model>, ApiError> {
    principal.require(Permission::ReadSchedule)?;
    Ok(store::list_reasons(db, db.tenant_id(), include_retired).await?)
}

/// Adds a reason to the clinic's list. ClinicAdmin; CONFLICT if a live reason has the label.
pub async fn add_reason(
    db: &TenantTransaction,
    principal: &Principal,
    category: CancellationCategory,
    label: &str,
) -> Result<cancellation_reason::Model, ApiError> {
    principal.require(Permission::ManageCancellationRules)?;
    let label = required_line("label", label, 100)?;
    Ok(store::insert_reason(db, db.tenant_id(), category, label).await?)
}

/// Retires a reason: it is offered no more, and the cancellations made for it keep naming it.
/// ClinicAdmin; retiring a retired reason answers it as it is.
pub async fn retire_reason(
    db: &TenantTransaction,
    principal: &Principal,
    id: Uuid,
) -> Result<cancellation_reason::Model, ApiError> {
    principal.require(Permission::ManageCancellationRules)?;
    store::find_reason(db, db.tenant_id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("cancellation reason"))?;
    store::retire_reason(db, db.tenant_id(), id).await?;
    store::find_reason(db, db.tenant_id(), id)
        .await?
        .ok_or_else(ApiError::internal)
}

/// The appointment types' policies. Everyone who reads the schedule (the front desk tells the
/// patient what a late cancellation costs).
pub async fn policies(
    db: &TenantTransaction,
    principal: &Principal,
) -> Result<Vec<cancellation_policy::Model>, ApiError> {
    principal.require(Permission::ReadSchedule)?;
    Ok(store::list_policies(db, db.tenant_id()).await?)
}

/// An appointment type's policy as a client asks for it.
pub struct PolicyRequest {
    pub type_id: Uuid,
    pub window_hours: i32,
    pub late_cancellation_fee: Decimal,
    pub no_show_fee: Decimal,
}

/// Sets an appointment type's policy, replacing the one it had; fees of zero charge nothing.
/// ClinicAdmin. Fees apply to changes made from now on, never to those already made.
pub async fn set_policy(
    db: &TenantTransaction,
    principal: &Principal,
    request: PolicyRequest,
) -> Result<cancellation_policy::Model, ApiError> {
    principal.require(Permission::ManageCancellationRules)?;
    if !(0..=MAX_WINDOW_HOURS).contains(&request.window_hours) {
        return Err(ApiError::bad_input(
            "windowHours",
            format!("must be 0 to {MAX_WINDOW_HOURS} hours"),
        ));
    }
    let late_cancellation_fee = price("lateCancellationFee", request.late_cancellation_fee)?;
    let no_show_fee = price("noShowFee", request.no_show_fee)?;
    store::find_type(db, db.tenant_id(), request.type_id)
        .await?
        .ok_or_else(|| ApiError::not_found("appointment type"))?;
    let policy = NewPolicy {
        type_id: request.type_id,
        window_hours: request.window_hours,
        late_cancellation_fee,
        no_show_fee,
    };
    store::set_policy(db, db.tenant_id(), policy)
        .await?
        .ok_or_else(ApiError::internal)
}

/// The longest span a report covers: a little over a year.
const LONGEST_REPORT_DAYS: i64 = 366;

/// A row of the report: how many appointments were cancelled for a category and reason.
pub struct ReportRow {
    pub category: Option<CancellationCategory>,
    pub reason: Option<cancellation_reason::Model>,
    pub count: i64,
}

/// The cancelled appointments that were to start in [from, to), counted by category and reason,
/// most first. ClinicAdmin and BillingManager.
pub async fn report(
    db: &TenantTransaction,
    principal: &Principal,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<ReportRow>, ApiError> {
    principal.require(Permission::ReadCancellationReport)?;
    if to <= from {
        return Err(ApiError::bad_input("to", "must be after from"));
    }
    if to - from > Duration::days(LONGEST_REPORT_DAYS) {
        return Err(ApiError::bad_input(
            "to",
            format!("the report covers at most {LONGEST_REPORT_DAYS} days; ask for a shorter span"),
        ));
    }
    let counts = store::cancellation_counts(db, db.tenant_id(), (from, to)).await?;
    let reasons = store::list_reasons(db, db.tenant_id(), true).await?;
    counts
        .into_iter()
        .map(
            |CancellationCount {
                 category,
                 reason_id,
                 count,
             }| {
                Ok(ReportRow {
                    category: category
                        .map(|stored| {
                            CancellationCategory::parse(&stored).ok_or_else(ApiError::internal)
                        })
                        .transpose()?,
                    reason: reason_id
                        .map(|id| {
                            reasons
                                .iter()
                                .find(|reason| reason.id == id)
                                .cloned()
                                .ok_or_else(ApiError::internal)
                        })
                        .transpose()?,
                    count,
                })
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(instant: &str) -> DateTime<Utc> {
        instant.parse().unwrap()
    }

    #[test]
    fn the_window_opens_on_the_clinics_clock_across_a_change_of_daylight_saving_time() {
        // Berlin's clocks go back at 03:00 on 31 October 2027: a 09:00 visit that day is at
        // 08:00 UTC, and 24 hours before it on the clinic's clock is 09:00 the day before, in
        // summer time: 07:00 UTC, 25 hours earlier.
        let start = at("2027-10-31T08:00:00Z");
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(late_from(start, zone, 24), at("2027-10-30T07:00:00Z"));
        assert_ne!(
            late_from(start, zone, 24),
            start - Duration::hours(24),
            "not 24 hours of elapsed time"
        );
    }

    #[test]
    fn in_utc_the_window_is_plain_hours_and_zero_opens_at_the_start() {
        let start = at("2027-03-01T09:00:00Z");
        assert_eq!(late_from(start, Tz::UTC, 24), at("2027-02-28T09:00:00Z"));
        assert_eq!(late_from(start, Tz::UTC, 0), start);
    }

    #[test]
    fn a_window_opening_in_the_hour_clocks_skip_opens_when_they_reach_it() {
        // Berlin skips 02:00–03:00 on 28 March 2027; a visit at 02:30 the next day, with a
        // 24-hour window, opens at 03:30 summer time (01:30 UTC).
        let start = at("2027-03-29T00:30:00Z");
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(late_from(start, zone, 24), at("2027-03-28T01:30:00Z"));
    }
}

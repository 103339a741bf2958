//! Scheduling values that cannot be wrong once built: statuses and their transitions,
//! appointment type details.

use async_graphql::Enum;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::foundation::error::ApiError;
use crate::foundation::input::required_line;

/// Where an appointment is in its life. The transitions are DESIGN.md's state machine, which
/// PostgreSQL enforces too (schema.sql).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppointmentStatus {
    /// Booked and holding its slot; may be rescheduled, and may become ARRIVED, NO_SHOW or
    /// CANCELLED.
    Scheduled,
    /// The patient has checked in; may become IN_SESSION or NO_SHOW.
    Arrived,
    /// The visit is under way; may become COMPLETED.
    InSession,
    /// The visit is over and its invoice has been raised. Final.
    Completed,
    /// The patient did not come; the slot is free again. Final.
    NoShow,
    /// Cancelled before the visit, with a `cancelReason`; the slot is free again. Final.
    Cancelled,
}

impl AppointmentStatus {
    pub const ALL: [AppointmentStatus; 6] = [
        AppointmentStatus::Scheduled,
        AppointmentStatus::Arrived,
        AppointmentStatus::InSession,
        AppointmentStatus::Completed,
        AppointmentStatus::NoShow,
        AppointmentStatus::Cancelled,
    ];

    /// The name stored in `appointments.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Scheduled => "Scheduled",
            AppointmentStatus::Arrived => "Arrived",
            AppointmentStatus::InSession => "InSession",
            AppointmentStatus::Completed => "Completed",
            AppointmentStatus::NoShow => "NoShow",
            AppointmentStatus::Cancelled => "Cancelled",
        }
    }

    pub fn parse(stored: &str) -> Option<AppointmentStatus> {
        AppointmentStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == stored)
    }

    pub fn can_become(self, next: AppointmentStatus) -> bool {
        use AppointmentStatus::*;
        matches!(
            (self, next),
            (Scheduled, Arrived)
                | (Arrived, InSession)
                | (InSession, Completed)
                | (Scheduled | Arrived, NoShow)
                | (Scheduled, Cancelled)
        )
    }

    /// Whether the appointment holds its slot (the exclusion constraint's condition).
    pub fn holds_slot(self) -> bool {
        !matches!(
            self,
            AppointmentStatus::Cancelled | AppointmentStatus::NoShow
        )
    }
}

/// Why an appointment was cancelled, beside the free-text reason.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancellationCategory {
    /// The patient asked to cancel.
    PatientRequest,
    /// The provider cannot see the patient then (illness, emergency, leave).
    ProviderUnavailable,
    /// The clinic is closed then.
    ClinicClosed,
    /// The appointment should never have been booked (a duplicate, the wrong patient or time).
    BookedInError,
    /// Anything else; the reason says what.
    Other,
}

impl CancellationCategory {
    pub const ALL: [CancellationCategory; 5] = [
        CancellationCategory::PatientRequest,
        CancellationCategory::ProviderUnavailable,
        CancellationCategory::ClinicClosed,
        CancellationCategory::BookedInError,
        CancellationCategory::Other,
    ];

    /// The name stored in `appointments.cancel_reason_category` and
    /// `appointment_events.cancel_reason_category` (schema.sql checks the same list).
    pub fn as_str(self) -> &'static str {
        match self {
            CancellationCategory::PatientRequest => "PatientRequest",
            CancellationCategory::ProviderUnavailable => "ProviderUnavailable",
            CancellationCategory::ClinicClosed => "ClinicClosed",
            CancellationCategory::BookedInError => "BookedInError",
            CancellationCategory::Other => "Other",
        }
    }

    pub fn parse(stored: &str) -> Option<CancellationCategory> {
        CancellationCategory::ALL
            .into_iter()
            .find(|category| category.as_str() == stored)
    }
}

/// When a booking may start: from the slot under way (a walk-in booked as the visit begins) to
/// the clinic's horizon ahead. Set per server (`HPMS_BOOKING_HORIZON_DAYS`).
#[derive(Clone, Copy, Debug)]
pub struct BookingWindow {
    horizon: Duration,
}

impl BookingWindow {
    pub const DEFAULT_HORIZON_DAYS: u32 = 730;
    /// How long ago a start may be without backdating: one slot of the grid.
    const GRACE_MINUTES: i64 = 15;

    pub fn with_horizon_days(days: u32) -> BookingWindow {
        BookingWindow {
            horizon: Duration::days(days.into()),
        }
    }

    pub fn horizon_days(&self) -> i64 {
        self.horizon.num_days()
    }

    /// The earliest start that is not backdating.
    pub fn earliest(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::minutes(Self::GRACE_MINUTES)
    }

    /// The latest start anyone may book.
    pub fn latest(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.horizon
    }
}

/// A calendar date the schedule can hold: years 1900 to 9999.
pub fn calendar_date(field: &str, date: NaiveDate) -> Result<NaiveDate, ApiError> {
    if !(1900..=9999).contains(&date.year()) {
        return Err(ApiError::bad_input(
            field,
            "must be in the years 1900 to 9999",
        ));
    }
    Ok(date)
}

pub const MIN_DURATION_MINUTES: i32 = 5;
pub const MAX_DURATION_MINUTES: i32 = 720;

pub fn type_name(field: &str, raw: &str) -> Result<String, ApiError> {
    required_line(field, raw, 100)
}

pub fn duration_minutes(field: &str, minutes: i32) -> Result<i32, ApiError> {
    if !(MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES).contains(&minutes) {
        return Err(ApiError::bad_input(
            field,
            format!("must be {MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES} minutes"),
        ));
    }
    Ok(minutes)
}

/// A price: zero or more, at most 2 decimal places, below a million.
pub fn price(field: &str, amount: Decimal) -> Result<Decimal, ApiError> {
    if amount.is_sign_negative() || amount >= Decimal::from(1_000_000) {
        return Err(ApiError::bad_input(field, "must be from 0 to 999999.99"));
    }
    if amount.scale() > 2 {
        return Err(ApiError::bad_input(
            field,
            "must have at most 2 decimal places",
        ));
    }
    Ok(amount.round_dp(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine_matches_the_design() {
        use AppointmentStatus::*;
        let allowed: Vec<_> = AppointmentStatus::ALL
            .iter()
            .flat_map(|from| AppointmentStatus::ALL.iter().map(move |to| (*from, *to)))
            .filter(|(from, to)| from.can_become(*to))
            .collect();
        assert_eq!(
            allowed,
            [
                (Scheduled, Arrived),
                (Scheduled, NoShow),
                (Scheduled, Cancelled),
                (Arrived, InSession),
                (Arrived, NoShow),
                (InSession, Completed)
            ]
        );
    }

    #[test]
    fn prices_have_two_decimals_at_most_and_are_not_negative() {
        assert!(price("p", "80.5".parse().unwrap()).is_ok());
        assert!(price("p", "80.555".parse().unwrap()).is_err());
        assert!(price("p", "-1".parse().unwrap()).is_err());
        assert!(
            price("p", "80.500".parse().unwrap()).is_err(),
            "three places as written"
        );
    }
}

//! Scheduling values that cannot be wrong once built: statuses and their transitions, working
//! hours, appointment type details.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{Datelike, NaiveDate, NaiveTime, Timelike, Weekday};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::platform::error::ApiError;
use crate::platform::input::required_line;

/// Where an appointment is in its life. The transitions are DESIGN.md's state machine, which
/// PostgreSQL enforces too (sql/scheduling.sql).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppointmentStatus {
    Scheduled,
    Arrived,
    InSession,
    Completed,
    NoShow,
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

/// A day of the week, for working hours.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DayOfWeek {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl DayOfWeek {
    pub fn of(weekday: Weekday) -> DayOfWeek {
        match weekday {
            Weekday::Mon => DayOfWeek::Monday,
            Weekday::Tue => DayOfWeek::Tuesday,
            Weekday::Wed => DayOfWeek::Wednesday,
            Weekday::Thu => DayOfWeek::Thursday,
            Weekday::Fri => DayOfWeek::Friday,
            Weekday::Sat => DayOfWeek::Saturday,
            Weekday::Sun => DayOfWeek::Sunday,
        }
    }
}

/// One working period of a provider on one day of the week, in the clinic's time zone; the end
/// is exclusive, and 00:00 as an end means midnight at the end of the day. Stored in
/// `users.working_hours` as `[{"day": "Monday", "start": "09:00:00", "end": "17:00:00"}, …]`.
#[derive(SimpleObject, InputObject, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[graphql(input_name = "WorkingHoursInput")]
pub struct WorkingHours {
    pub day: DayOfWeek,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl WorkingHours {
    /// Minutes from midnight to the start and to the end, an end of 00:00 meaning midnight at
    /// the end of the day.
    fn minutes(&self) -> (u32, u32) {
        let of = |time: NaiveTime| time.num_seconds_from_midnight() / 60;
        let end = match of(self.end) {
            0 => 24 * 60,
            minutes => minutes,
        };
        (of(self.start), end)
    }
}

/// Most working periods a provider can have in one day.
const MAX_PERIODS_A_DAY: usize = 8;

/// A provider's week: periods on whole minutes, sorted by day and start, none overlapping, at
/// most `MAX_PERIODS_A_DAY` a day.
pub fn working_week(
    field: &str,
    mut ranges: Vec<WorkingHours>,
) -> Result<Vec<WorkingHours>, ApiError> {
    ranges.sort_by_key(|range| (range.day as u8, range.start));
    if ranges
        .chunk_by(|a, b| a.day == b.day)
        .any(|day| day.len() > MAX_PERIODS_A_DAY)
    {
        return Err(ApiError::bad_input(
            field,
            format!("at most {MAX_PERIODS_A_DAY} periods a day"),
        ));
    }
    let whole_minutes = |time: NaiveTime| time.second() == 0 && time.nanosecond() == 0;
    if !ranges
        .iter()
        .all(|range| whole_minutes(range.start) && whole_minutes(range.end))
    {
        return Err(ApiError::bad_input(
            field,
            "times must be whole minutes, like 09:30:00",
        ));
    }
    for range in &ranges {
        let (start, end) = range.minutes();
        if start >= end {
            return Err(ApiError::bad_input(
                field,
                format!(
                    "{:?} {}–{}: the end must be after the start",
                    range.day, range.start, range.end
                ),
            ));
        }
    }
    for pair in ranges.windows(2) {
        if pair[0].day == pair[1].day && pair[1].minutes().0 < pair[0].minutes().1 {
            return Err(ApiError::bad_input(
                field,
                format!(
                    "{:?}: {}–{} overlaps {}–{}",
                    pair[0].day, pair[0].start, pair[0].end, pair[1].start, pair[1].end
                ),
            ));
        }
    }
    Ok(ranges)
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

    fn at(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
    }

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
    fn working_weeks_are_sorted_and_refuse_overlaps_and_empty_periods() {
        let monday = |start, end| WorkingHours {
            day: DayOfWeek::Monday,
            start,
            end,
        };
        let week = working_week(
            "h",
            vec![monday(at(13, 0), at(17, 0)), monday(at(8, 0), at(12, 0))],
        )
        .unwrap();
        assert_eq!(week[0].start, at(8, 0));
        assert!(
            working_week(
                "h",
                vec![monday(at(8, 0), at(12, 0)), monday(at(11, 0), at(13, 0))]
            )
            .is_err()
        );
        assert!(working_week("h", vec![monday(at(8, 0), at(8, 0))]).is_err());
        let touching = vec![monday(at(8, 0), at(12, 0)), monday(at(12, 0), at(13, 0))];
        assert!(working_week("h", touching).is_ok());
        assert!(
            working_week("h", vec![monday(at(0, 0), at(0, 0))]).is_ok(),
            "all day"
        );
        let into_midnight = vec![monday(at(20, 0), at(0, 0)), monday(at(23, 0), at(23, 30))];
        assert!(working_week("h", into_midnight).is_err());
        let almost_midnight = NaiveTime::from_hms_opt(0, 0, 30).unwrap();
        assert!(working_week("h", vec![monday(at(20, 0), almost_midnight)]).is_err());
        let nine_a_day = (0..9)
            .map(|hour| monday(at(hour, 0), at(hour, 30)))
            .collect();
        assert!(working_week("h", nine_a_day).is_err());
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

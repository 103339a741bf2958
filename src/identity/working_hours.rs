//! A provider's weekly working hours: the periods the API takes and shows, checked into a valid
//! week, and the versioned format `users.working_hours` stores them in. Kept apart so renaming
//! an API field can never change what is read back from the database.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{NaiveTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};

use crate::foundation::error::ApiError;

/// A day of the week, for working hours.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayOfWeek {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
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
#[derive(SimpleObject, InputObject, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(input_name = "WorkingHoursInput")]
pub struct WorkingHours {
    /// The day of the week the period is on.
    pub day: DayOfWeek,
    /// When the period starts, such as 09:00:00, in the clinic's time zone; whole minutes.
    pub start: NaiveTime,
    /// When the period ends (exclusive), in the clinic's time zone; whole minutes, and 00:00:00
    /// means midnight at the end of the day.
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

/// How `users.working_hours` holds a week. Version 1, the only one so far, is the bare array
/// written since the first release: `[{"day": "Monday", "start": "09:00:00", "end":
/// "17:00:00"}, …]`. Every name is spelled out, so no API rename reaches it; a later version
/// would be a JSON object with a `version` member, which an array can never be mistaken for.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct StoredWeek(Vec<StoredPeriodV1>);

#[derive(Serialize, Deserialize)]
struct StoredPeriodV1 {
    #[serde(rename = "day")]
    day: StoredDayV1,
    #[serde(rename = "start")]
    start: NaiveTime,
    #[serde(rename = "end")]
    end: NaiveTime,
}

#[derive(Serialize, Deserialize)]
enum StoredDayV1 {
    #[serde(rename = "Monday")]
    Monday,
    #[serde(rename = "Tuesday")]
    Tuesday,
    #[serde(rename = "Wednesday")]
    Wednesday,
    #[serde(rename = "Thursday")]
    Thursday,
    #[serde(rename = "Friday")]
    Friday,
    #[serde(rename = "Saturday")]
    Saturday,
    #[serde(rename = "Sunday")]
    Sunday,
}

impl From<DayOfWeek> for StoredDayV1 {
    fn from(day: DayOfWeek) -> Self {
        match day {
            DayOfWeek::Monday => StoredDayV1::Monday,
            DayOfWeek::Tuesday => StoredDayV1::Tuesday,
            DayOfWeek::Wednesday => StoredDayV1::Wednesday,
            DayOfWeek::Thursday => StoredDayV1::Thursday,
            DayOfWeek::Friday => StoredDayV1::Friday,
            DayOfWeek::Saturday => StoredDayV1::Saturday,
            DayOfWeek::Sunday => StoredDayV1::Sunday,
        }
    }
}

impl From<StoredDayV1> for DayOfWeek {
    fn from(day: StoredDayV1) -> Self {
        match day {
            StoredDayV1::Monday => DayOfWeek::Monday,
            StoredDayV1::Tuesday => DayOfWeek::Tuesday,
            StoredDayV1::Wednesday => DayOfWeek::Wednesday,
            StoredDayV1::Thursday => DayOfWeek::Thursday,
            StoredDayV1::Friday => DayOfWeek::Friday,
            StoredDayV1::Saturday => DayOfWeek::Saturday,
            StoredDayV1::Sunday => DayOfWeek::Sunday,
        }
    }
}

/// The week as `users.working_hours` stores it.
pub fn stored_week(week: &[WorkingHours]) -> Result<serde_json::Value, ApiError> {
    let stored = StoredWeek(
        week.iter()
            .map(|period| StoredPeriodV1 {
                day: period.day.into(),
                start: period.start,
                end: period.end,
            })
            .collect(),
    );
    serde_json::to_value(stored).map_err(|error| ApiError::internal_from(&error))
}

/// The week stored in `users.working_hours`; INTERNAL (logged) if it is not one.
pub fn read_stored_week(stored: serde_json::Value) -> Result<Vec<WorkingHours>, ApiError> {
    let StoredWeek(periods) =
        serde_json::from_value(stored).map_err(|error| ApiError::internal_from(&error))?;
    Ok(periods
        .into_iter()
        .map(|period| WorkingHours {
            day: period.day.into(),
            start: period.start,
            end: period.end,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
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
    fn a_week_reads_back_from_the_format_written_since_the_first_release() {
        let stored = serde_json::json!([
            {"day": "Monday", "start": "09:00:00", "end": "12:30:00"},
            {"day": "Sunday", "start": "20:00:00", "end": "00:00:00"}
        ]);
        let week = read_stored_week(stored.clone()).unwrap();
        assert_eq!(
            week,
            [
                WorkingHours {
                    day: DayOfWeek::Monday,
                    start: at(9, 0),
                    end: at(12, 30)
                },
                WorkingHours {
                    day: DayOfWeek::Sunday,
                    start: at(20, 0),
                    end: at(0, 0)
                }
            ]
        );
        assert_eq!(stored_week(&week).unwrap(), stored);
        assert!(read_stored_week(serde_json::json!([{"day": "Monday"}])).is_err());
    }
}

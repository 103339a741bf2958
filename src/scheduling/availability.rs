//! Working hours against the clock: which starts of a day are free, and whether an appointment
//! fits a provider's hours. Working hours are wall-clock times in the clinic's time zone, so a
//! day with a daylight-saving change has an hour more or less of them; appointments, time off
//! and closures are instants. A period ending at 00:00 runs to midnight at the end of its day.
//! A one-day change to a provider's hours replaces the weekly hours of that date. A visit that
//! needs a room is free only where one of the suitable rooms is free too.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::identity::{DayOfWeek, WorkingHours};

/// An instant range, half-open: `[start, end)`.
pub type Interval = (DateTime<Utc>, DateTime<Utc>);

/// What a start must be clear of: the provider's busy times (appointments, time off, closures)
/// and, when the visit needs a room, each suitable room's appointments, one room of which must be
/// free for the whole visit.
pub struct Busy<'a> {
    pub provider: &'a [Interval],
    /// `None`: the visit needs no room.
    pub rooms: Option<&'a [Vec<Interval>]>,
}

impl Busy<'_> {
    fn free(&self, times: Interval) -> bool {
        let clear = |busy: &[Interval]| {
            busy.iter()
                .all(|(from, to)| times.1 <= *from || *to <= times.0)
        };
        clear(self.provider)
            && self
                .rooms
                .is_none_or(|rooms| rooms.iter().any(|room| clear(room)))
    }
}

/// Free starts are offered on this grid, counted from the start of each working period.
pub const SLOT_STEP_MINUTES: i64 = 15;

/// The instants a wall-clock time in `zone` names: two in a repeated hour (when clocks go back),
/// none in a skipped one.
fn instants(zone: Tz, local: NaiveDateTime) -> Vec<DateTime<Utc>> {
    let mapped = zone.from_local_datetime(&local);
    let mut found: Vec<_> = [mapped.earliest(), mapped.latest()]
        .into_iter()
        .flatten()
        .map(|time| time.with_timezone(&Utc))
        .collect();
    found.dedup();
    found
}

/// The wall-clock bounds of `period` on `day`.
fn bounds(day: NaiveDate, period: &WorkingHours) -> (NaiveDateTime, NaiveDateTime) {
    let end = if period.end == NaiveTime::MIN {
        (day + Duration::days(1)).and_time(NaiveTime::MIN)
    } else {
        day.and_time(period.end)
    };
    (day.and_time(period.start), end)
}

/// A provider's hours: the weekly ones, and the dates on which others replace them.
#[derive(Default)]
pub struct Hours {
    weekly: Vec<WorkingHours>,
    on_dates: HashMap<NaiveDate, Vec<WorkingHours>>,
}

impl Hours {
    pub fn weekly(weekly: Vec<WorkingHours>) -> Hours {
        Hours {
            weekly,
            on_dates: HashMap::new(),
        }
    }

    /// Replaces the weekly hours of `day` with `periods` (none: a day off).
    pub fn change_day(&mut self, day: NaiveDate, periods: Vec<WorkingHours>) {
        self.on_dates.insert(day, periods);
    }

    fn periods_on(&self, day: NaiveDate) -> impl Iterator<Item = &WorkingHours> {
        let weekday = DayOfWeek::of(day.weekday());
        let periods = self.on_dates.get(&day).unwrap_or(&self.weekly);
        periods.iter().filter(move |period| period.day == weekday)
    }
}

/// Whether [start, end) lies within one working period, read on the clinic's wall clock.
pub fn fits(hours: &Hours, zone: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    let local_start = start.with_timezone(&zone).naive_local();
    let local_end = end.with_timezone(&zone).naive_local();
    hours.periods_on(local_start.date()).any(|period| {
        let (open, close) = bounds(local_start.date(), period);
        open <= local_start && local_end <= close
    })
}

/// The starts on `day` (clinic time) from which `duration` fits the working hours clear of
/// `busy`, within `[not_before, not_after]`, in time order.
pub fn free_starts(
    hours: &Hours,
    zone: Tz,
    day: NaiveDate,
    duration: Duration,
    busy: &Busy,
    (not_before, not_after): Interval,
) -> Vec<DateTime<Utc>> {
    let step = Duration::minutes(SLOT_STEP_MINUTES);
    let mut starts = Vec::new();
    for period in hours.periods_on(day) {
        let (open, close) = bounds(day, period);
        let mut candidate = open;
        while candidate < close {
            for start in instants(zone, candidate) {
                let end = start + duration;
                let free = busy.free((start, end));
                let in_window = not_before <= start && start <= not_after;
                if in_window && free && fits(hours, zone, start, end) {
                    starts.push(start);
                }
            }
            candidate += step;
        }
    }
    starts.sort();
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const ANY_TIME: Interval = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);

    /// Nothing booked, no room needed.
    const CLEAR: Busy = Busy {
        provider: &[],
        rooms: None,
    };

    fn hhmm(zone: Tz, starts: &[DateTime<Utc>]) -> Vec<String> {
        starts
            .iter()
            .map(|start| start.with_timezone(&zone).format("%H:%M").to_string())
            .collect()
    }

    #[test]
    fn free_starts_skip_bookings_and_stop_where_the_slot_would_overrun() {
        let zone: Tz = "UTC".parse().unwrap();
        let hours = Hours::weekly(vec![WorkingHours {
            day: DayOfWeek::Monday,
            start: at(9, 0),
            end: at(10, 30),
        }]);
        let day = NaiveDate::from_ymd_opt(2030, 1, 7).unwrap();
        let booked = [(utc("2030-01-07T09:30:00Z"), utc("2030-01-07T10:00:00Z"))];
        let busy = Busy {
            provider: &booked,
            rooms: None,
        };
        let starts = free_starts(&hours, zone, day, Duration::minutes(30), &busy, ANY_TIME);
        assert_eq!(hhmm(zone, &starts), ["09:00", "10:00"]);
        let tuesday = day + Duration::days(1);
        assert!(
            free_starts(
                &hours,
                zone,
                tuesday,
                Duration::minutes(30),
                &CLEAR,
                ANY_TIME
            )
            .is_empty()
        );
    }

    #[test]
    fn a_visit_needing_a_room_is_free_only_where_one_suitable_room_is_free_throughout() {
        let zone: Tz = "UTC".parse().unwrap();
        let hours = Hours::weekly(vec![WorkingHours {
            day: DayOfWeek::Monday,
            start: at(9, 0),
            end: at(11, 0),
        }]);
        let day = NaiveDate::from_ymd_opt(2030, 1, 7).unwrap();
        let span = |from: &str, to: &str| (utc(from), utc(to));
        // Exam 1 is taken 09:00–10:00, Exam 2 09:30–10:30: at 09:00 only Exam 2 is free for 30
        // minutes, nothing is free for a visit over 09:30–10:00, and from 10:30 both are.
        let rooms = [
            vec![span("2030-01-07T09:00:00Z", "2030-01-07T10:00:00Z")],
            vec![span("2030-01-07T09:30:00Z", "2030-01-07T10:30:00Z")],
        ];
        let busy = Busy {
            provider: &[],
            rooms: Some(&rooms),
        };
        let starts = free_starts(&hours, zone, day, Duration::minutes(30), &busy, ANY_TIME);
        assert_eq!(hhmm(zone, &starts), ["09:00", "10:00", "10:15", "10:30"]);
        let no_rooms = Busy {
            provider: &[],
            rooms: Some(&[]),
        };
        let starts = free_starts(
            &hours,
            zone,
            day,
            Duration::minutes(30),
            &no_rooms,
            ANY_TIME,
        );
        assert!(
            starts.is_empty(),
            "a clinic without a suitable room has no slot"
        );
    }

    #[test]
    fn a_period_ending_at_midnight_offers_the_last_slot_of_the_day() {
        let zone: Tz = "UTC".parse().unwrap();
        let hours = Hours::weekly(vec![WorkingHours {
            day: DayOfWeek::Monday,
            start: at(23, 0),
            end: at(0, 0),
        }]);
        let day = NaiveDate::from_ymd_opt(2030, 1, 7).unwrap();
        let starts = free_starts(&hours, zone, day, Duration::minutes(30), &CLEAR, ANY_TIME);
        assert_eq!(hhmm(zone, &starts), ["23:00", "23:15", "23:30"]);
    }

    #[test]
    fn on_daylight_saving_days_slots_follow_the_wall_clock() {
        let zone: Tz = "America/New_York".parse().unwrap();
        // 2030-03-10: clocks go from 02:00 to 03:00. A night shift 01:00–04:00 is two hours long:
        // an hour-long visit can start before the jump (ending after it) or at 03:00.
        let spring = NaiveDate::from_ymd_opt(2030, 3, 10).unwrap();
        let hours = Hours::weekly(vec![WorkingHours {
            day: DayOfWeek::of(spring.weekday()),
            start: at(1, 0),
            end: at(4, 0),
        }]);
        let starts = free_starts(
            &hours,
            zone,
            spring,
            Duration::minutes(60),
            &CLEAR,
            ANY_TIME,
        );
        assert_eq!(
            hhmm(zone, &starts),
            ["01:00", "01:15", "01:30", "01:45", "03:00"]
        );
        assert_eq!(starts[0], utc("2030-03-10T06:00:00Z"));
        // 2030-11-03: clocks go from 02:00 back to 01:00; 09:00 is still 09:00 local.
        let autumn = NaiveDate::from_ymd_opt(2030, 11, 3).unwrap();
        let hours = Hours::weekly(vec![WorkingHours {
            day: DayOfWeek::of(autumn.weekday()),
            start: at(9, 0),
            end: at(10, 0),
        }]);
        let starts = free_starts(
            &hours,
            zone,
            autumn,
            Duration::minutes(60),
            &CLEAR,
            ANY_TIME,
        );
        assert_eq!(starts, [utc("2030-11-03T14:00:00Z")]);
    }

    #[test]
    fn a_changed_day_replaces_the_weekly_hours_of_that_date_only() {
        let zone: Tz = "UTC".parse().unwrap();
        let monday = NaiveDate::from_ymd_opt(2030, 1, 7).unwrap();
        let period = |start, end| WorkingHours {
            day: DayOfWeek::Monday,
            start,
            end,
        };
        let mut hours = Hours::weekly(vec![period(at(9, 0), at(17, 0))]);
        hours.change_day(monday, vec![period(at(9, 0), at(9, 30))]);
        let duration = Duration::minutes(30);
        assert_eq!(
            hhmm(
                zone,
                &free_starts(&hours, zone, monday, duration, &CLEAR, ANY_TIME)
            ),
            ["09:00"]
        );
        let next = monday + Duration::weeks(1);
        assert_eq!(
            free_starts(&hours, zone, next, duration, &CLEAR, ANY_TIME).len(),
            31,
            "09:00 to 16:30 the next Monday"
        );
        hours.change_day(next, Vec::new());
        assert!(free_starts(&hours, zone, next, duration, &CLEAR, ANY_TIME).is_empty());
    }

    #[test]
    fn fitting_is_judged_on_the_clinic_wall_clock() {
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        let hours = Hours::weekly(vec![WorkingHours {
            day: DayOfWeek::Monday,
            start: at(9, 0),
            end: at(17, 0),
        }]);
        // 08:00Z is 09:00 in Berlin in winter.
        assert!(fits(
            &hours,
            zone,
            utc("2030-01-07T08:00:00Z"),
            utc("2030-01-07T08:30:00Z")
        ));
        assert!(!fits(
            &hours,
            zone,
            utc("2030-01-07T07:30:00Z"),
            utc("2030-01-07T08:30:00Z")
        ));
        assert!(!fits(
            &hours,
            zone,
            utc("2030-01-07T15:45:00Z"),
            utc("2030-01-07T16:15:00Z")
        ));
    }
}

//! Recurring visits: a weekly rule (every N weeks on given days, for a count or up to a date, at
//! most 52 occurrences) turned into instants on the clinic's wall clock, and booked all or
//! nothing. Every occurrence is an ordinary insert that the exclusion constraint judges, after
//! the working hours and time off; a refusal lists every occurrence that cannot be booked, and
//! the request's transaction, rolled back, keeps none of them.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::foundation::access::{Permission, Principal};
use crate::foundation::db::TenantTransaction;
use crate::foundation::domain_events::DomainEvents;
use crate::foundation::error::ApiError;
use crate::foundation::input::required_line;
use crate::identity::DayOfWeek;
use crate::scheduling::availability::fits;
use crate::scheduling::booking::{self, CancelRequest};
use crate::scheduling::calendar::{Calendar, clinic_zone, describe_time_off};
use crate::scheduling::cancellation::cancellation;
use crate::scheduling::entity::{appointment, appointment_series};
use crate::scheduling::model::{AppointmentStatus, BookingWindow};
use crate::scheduling::rooms::{RoomNeed, in_a_free_room};
use crate::scheduling::store::{self, AppointmentChange, NewAppointment, NewSeries, Overrides};

/// Most occurrences one series may have: a year of weekly visits.
pub const MAX_OCCURRENCES: usize = 52;

/// When a series stops.
#[derive(Clone, Copy, Debug)]
pub enum SeriesEnd {
    /// After this many occurrences.
    Count(i32),
    /// After the last occurrence on or before this date (clinic time).
    Until(NaiveDate),
}

/// Every `every_weeks` weeks on `days`, from `first_start`, until `end`.
#[derive(Clone, Debug)]
pub struct WeeklyRule {
    pub every_weeks: i32,
    pub days: Vec<DayOfWeek>,
    pub end: SeriesEnd,
}

pub struct SeriesRequest {
    pub patient_id: Uuid,
    pub provider_id: Uuid,
    pub type_id: Uuid,
    /// The first occurrence; its wall-clock time (clinic time zone) is every occurrence's.
    pub first_start: DateTime<Utc>,
    pub rule: WeeklyRule,
    /// The room of every occurrence; without it, each takes a free room of the kind the type
    /// needs, if it needs one.
    pub room_id: Option<Uuid>,
}

pub struct BookedSeries {
    pub series: appointment_series::Model,
    pub appointments: Vec<appointment::Model>,
}

/// Books every occurrence of the series or none; CONFLICT lists each occurrence that cannot be
/// booked and why.
pub async fn book_series(
    db: &TenantTransaction,
    principal: &Principal,
    window: BookingWindow,
    request: SeriesRequest,
) -> Result<BookedSeries, ApiError> {
    principal.require(Permission::Book)?;
    let rule = checked_rule(request.rule)?;
    crate::patients::find_live(db, db.tenant_id(), request.patient_id)
        .await?
        .ok_or_else(|| ApiError::not_found("patient"))?;
    let kind = store::find_type(db, db.tenant_id(), request.type_id)
        .await?
        .ok_or_else(|| ApiError::not_found("appointment type"))?;
    let zone = clinic_zone(db).await?;
    let starts = occurrences(zone, request.first_start, &rule)?;
    let length = Duration::minutes(kind.duration_minutes.into());
    let (first, last) = match (starts.first(), starts.last()) {
        (Some(first), Some(last)) => (*first, *last),
        _ => return Err(ApiError::bad_input("input.rule", "makes no occurrences")),
    };
    let now = Utc::now();
    if first < window.earliest(now) {
        return Err(ApiError::bad_input(
            "input.firstStart",
            "is in the past; a series starts from now on",
        ));
    }
    if last > window.latest(now) {
        return Err(ApiError::bad_input(
            "input.rule",
            format!(
                "the last occurrence ({last}) is more than {} days ahead, beyond the booking \
                 horizon; make the series shorter",
                window.horizon_days()
            ),
        ));
    }
    let calendar = Calendar::of(db, request.provider_id, (first, last + length)).await?;
    let rooms = RoomNeed::for_booking(db, &kind, request.room_id).await?;
    // Before the series row is written: see `store::lock_rooms` for the order of the locks.
    store::lock_for_booking(db, request.provider_id, rooms.may_take_a_room()).await?;
    let series = store::insert_series(
        db,
        db.tenant_id(),
        NewSeries {
            patient_id: request.patient_id,
            provider_id: request.provider_id,
            type_id: kind.id,
            first_start: first,
            every_weeks: rule.every_weeks,
            weekdays: rule
                .days
                .iter()
                .map(|day| weekday_name(*day).to_owned())
                .collect(),
            occurrences: i32::try_from(starts.len()).map_err(|_| ApiError::internal())?,
            created_by: principal.user_id().ok(),
        },
    )
    .await?;
    let mut refusals = Vec::new();
    let mut appointments = Vec::with_capacity(starts.len());
    for start in starts {
        let times = (start, start + length);
        if !fits(&calendar.hours, zone, times.0, times.1) {
            refusals.push(format!("{start}: outside the provider's working hours"));
            continue;
        }
        if let Some(block) = calendar.time_off_during(times) {
            refusals.push(format!("{start}: {}", describe_time_off(block)));
            continue;
        }
        let booked = in_a_free_room(db, &rooms, (request.provider_id, times), None, |room_id| {
            let new = NewAppointment {
                tenant_id: db.tenant_id(),
                patient_id: request.patient_id,
                provider_id: request.provider_id,
                type_id: kind.id,
                start: times.0,
                end: times.1,
                price: kind.price,
                booked_outside_hours: false,
                series_id: Some(series.id),
                overrides: Overrides::default(),
                room_id,
            };
            store::insert_appointment(db, new)
        })
        .await?;
        match booked {
            Ok(model) => appointments.push(model),
            Err(clash) => refusals.push(format!("{start}: {clash}")),
        }
    }
    if !refusals.is_empty() {
        return Err(ApiError::conflict(format!(
            "{} of the series' {} occurrences cannot be booked, so none was: {}",
            refusals.len(),
            refusals.len() + appointments.len(),
            refusals.join("; ")
        ))
        .with_conflicts(refusals));
    }
    Ok(BookedSeries {
        series,
        appointments,
    })
}

/// Cancels an occurrence of a series, if it is still at `expected_version`, and every later
/// Scheduled occurrence, for one reason: all of them or none. Earlier occurrences stay. Each late
/// one owes its fee.
pub async fn cancel_from(
    db: &TenantTransaction,
    principal: &Principal,
    events: &DomainEvents,
    (id, expected_version): (Uuid, i64),
    request: CancelRequest<'_>,
) -> Result<Vec<appointment::Model>, ApiError> {
    principal.require(Permission::Book)?;
    let reason = required_line("reason", request.reason, 500)?;
    let first = booking::find(db, id).await?;
    let series_id = first.series_id.ok_or_else(|| {
        ApiError::bad_input(
            "id",
            "is not an occurrence of a series; cancel it with cancelAppointment",
        )
    })?;
    let why = cancellation(db, &reason, request.category, request.reason_id).await?;
    let mut cancelled =
        vec![booking::cancel_for(db, principal, events, (id, expected_version), &why).await?];
    let later =
        store::scheduled_occurrences_after(db, db.tenant_id(), series_id, first.start_time.into())
            .await?;
    for occurrence in later {
        let current = (occurrence.id, occurrence.row_version);
        cancelled.push(booking::cancel_for(db, principal, events, current, &why).await?);
    }
    Ok(cancelled)
}

/// Moves an occurrence of a series, if it is still at `expected_version`, to `new_start`, and
/// every later Scheduled occurrence by the same amount: all of them or none. CONFLICT lists
/// every occurrence that cannot move and why, as `book_series` does.
pub async fn move_from(
    db: &TenantTransaction,
    principal: &Principal,
    window: BookingWindow,
    (id, expected_version): (Uuid, i64),
    new_start: DateTime<Utc>,
) -> Result<Vec<appointment::Model>, ApiError> {
    principal.require(Permission::Book)?;
    let first = booking::find(db, id).await?;
    let series_id = first.series_id.ok_or_else(|| {
        ApiError::bad_input(
            "input.id",
            "is not an occurrence of a series; move it with rescheduleAppointment",
        )
    })?;
    if first.row_version != expected_version {
        return Err(booking::version_moved(expected_version, first.row_version));
    }
    if first.status != AppointmentStatus::Scheduled.as_str() {
        return Err(ApiError::bad_input(
            "input.id",
            "only a Scheduled occurrence can be moved",
        ));
    }
    let shift = new_start - DateTime::<Utc>::from(first.start_time);
    let provider_id = first.provider_id;
    let mut occurrences = vec![first.clone()];
    occurrences.extend(
        store::scheduled_occurrences_after(db, db.tenant_id(), series_id, first.start_time.into())
            .await?,
    );
    let moved_times: Vec<(DateTime<Utc>, DateTime<Utc>)> = occurrences
        .iter()
        .map(|occurrence| {
            (
                DateTime::<Utc>::from(occurrence.start_time) + shift,
                DateTime::<Utc>::from(occurrence.end_time) + shift,
            )
        })
        .collect();
    let (Some(first_times), Some(last_times)) = (moved_times.first(), moved_times.last()) else {
        return Err(ApiError::internal());
    };
    let now = Utc::now();
    if first_times.0 < window.earliest(now) {
        return Err(ApiError::bad_input(
            "input.start",
            "is in the past; occurrences move to times from now on",
        ));
    }
    if last_times.0 > window.latest(now) {
        return Err(ApiError::bad_input(
            "input.start",
            format!(
                "moves the last occurrence more than {} days ahead, beyond the booking horizon",
                window.horizon_days()
            ),
        ));
    }
    let calendar = Calendar::of(db, provider_id, (first_times.0, last_times.1)).await?;
    let needs = RoomNeed::for_moves(db, &occurrences).await?;
    let with_rooms = needs.iter().any(RoomNeed::may_take_a_room);
    store::lock_for_booking(db, provider_id, with_rooms).await?;
    // An occurrence may move onto times that one further along still holds (a week later, say):
    // moving the furthest first frees them before they are needed.
    let mut order: Vec<usize> = (0..occurrences.len()).collect();
    if shift > Duration::zero() {
        order.reverse();
    }
    let mut refusals = Vec::new();
    let mut moved = Vec::with_capacity(occurrences.len());
    for index in order {
        let (occurrence, times) = (&occurrences[index], moved_times[index]);
        let start = times.0;
        if !fits(&calendar.hours, calendar.zone, times.0, times.1) {
            refusals.push((
                index,
                format!("{start}: outside the provider's working hours"),
            ));
            continue;
        }
        if let Some(block) = calendar.time_off_during(times) {
            refusals.push((index, format!("{start}: {}", describe_time_off(block))));
            continue;
        }
        let outcome = in_a_free_room(
            db,
            &needs[index],
            (provider_id, times),
            Some(occurrence.id),
            |room_id| {
                let change = AppointmentChange::Move {
                    start: times.0,
                    end: times.1,
                    booked_outside_hours: false,
                    room_id,
                };
                store::change_appointment(
                    db,
                    db.tenant_id(),
                    provider_id,
                    occurrence.id,
                    occurrence.row_version,
                    change,
                )
            },
        )
        .await?;
        match outcome {
            Ok(true) => moved.push((index, booking::find(db, occurrence.id).await?)),
            Ok(false) => refusals.push((
                index,
                format!("{start}: the occurrence changed meanwhile; reload the series"),
            )),
            Err(clash) => refusals.push((index, format!("{start}: {clash}"))),
        }
    }
    if !refusals.is_empty() {
        refusals.sort_by_key(|(index, _)| *index);
        let refusals: Vec<String> = refusals.into_iter().map(|(_, refusal)| refusal).collect();
        return Err(ApiError::conflict(format!(
            "{} of the {} occurrences cannot move, so none did: {}",
            refusals.len(),
            occurrences.len(),
            refusals.join("; ")
        ))
        .with_conflicts(refusals));
    }
    moved.sort_by_key(|(index, _)| *index);
    Ok(moved.into_iter().map(|(_, model)| model).collect())
}

fn checked_rule(rule: WeeklyRule) -> Result<WeeklyRule, ApiError> {
    if !(1..=52).contains(&rule.every_weeks) {
        return Err(ApiError::bad_input(
            "input.rule.everyWeeks",
            "must be 1 to 52",
        ));
    }
    if rule.days.is_empty() {
        return Err(ApiError::bad_input(
            "input.rule.days",
            "must name at least one day",
        ));
    }
    if (1..rule.days.len()).any(|index| rule.days[..index].contains(&rule.days[index])) {
        return Err(ApiError::bad_input("input.rule.days", "names a day twice"));
    }
    if let SeriesEnd::Count(count) = rule.end
        && !(1..=MAX_OCCURRENCES as i32).contains(&count)
    {
        return Err(ApiError::bad_input(
            "input.rule.count",
            format!("must be 1 to {MAX_OCCURRENCES}"),
        ));
    }
    Ok(rule)
}

/// The occurrences of `rule` from `first_start`, read on the clinic's wall clock (09:00 stays
/// 09:00 across a daylight-saving change); BAD_USER_INPUT when there would be more than
/// `MAX_OCCURRENCES`, when the rule ends before it starts, or when an occurrence's wall-clock
/// time does not exist that day.
pub fn occurrences(
    zone: Tz,
    first_start: DateTime<Utc>,
    rule: &WeeklyRule,
) -> Result<Vec<DateTime<Utc>>, ApiError> {
    let local = first_start.with_timezone(&zone).naive_local();
    let (first_day, time) = (local.date(), local.time());
    if !rule.days.contains(&DayOfWeek::of(first_day.weekday())) {
        return Err(ApiError::bad_input(
            "input.firstStart",
            "falls on a day the rule does not include; start the series on one of its days",
        ));
    }
    if let SeriesEnd::Until(until) = rule.end
        && until < first_day
    {
        return Err(ApiError::bad_input(
            "input.rule.until",
            "is before the first occurrence; it must be on or after it",
        ));
    }
    let monday = first_day - Duration::days(first_day.weekday().num_days_from_monday().into());
    let mut offsets: Vec<i64> = rule.days.iter().map(|day| days_from_monday(*day)).collect();
    offsets.sort_unstable();
    let mut found = Vec::new();
    for week in (0..).step_by(usize::try_from(rule.every_weeks).unwrap_or(1)) {
        for offset in &offsets {
            let day = monday + Duration::weeks(week) + Duration::days(*offset);
            if day < first_day {
                continue;
            }
            let done = match rule.end {
                SeriesEnd::Count(count) => found.len() >= usize::try_from(count).unwrap_or(0),
                SeriesEnd::Until(until) => day > until,
            };
            if done {
                return Ok(found);
            }
            if found.len() == MAX_OCCURRENCES {
                return Err(ApiError::bad_input(
                    "input.rule",
                    format!("makes more than {MAX_OCCURRENCES} occurrences; end it sooner"),
                ));
            }
            let instant = zone
                .from_local_datetime(&day.and_time(time))
                .earliest()
                .ok_or_else(|| {
                    ApiError::bad_input(
                        "input.firstStart",
                        format!(
                            "{time} does not exist on {day} in {zone} (the clocks go forward); \
                             choose another time of day"
                        ),
                    )
                })?;
            found.push(instant.with_timezone(&Utc));
        }
    }
    Ok(found)
}

fn days_from_monday(day: DayOfWeek) -> i64 {
    match day {
        DayOfWeek::Monday => 0,
        DayOfWeek::Tuesday => 1,
        DayOfWeek::Wednesday => 2,
        DayOfWeek::Thursday => 3,
        DayOfWeek::Friday => 4,
        DayOfWeek::Saturday => 5,
        DayOfWeek::Sunday => 6,
    }
}

/// The day as `appointment_series.weekdays` stores it.
fn weekday_name(day: DayOfWeek) -> &'static str {
    match day {
        DayOfWeek::Monday => "Monday",
        DayOfWeek::Tuesday => "Tuesday",
        DayOfWeek::Wednesday => "Wednesday",
        DayOfWeek::Thursday => "Thursday",
        DayOfWeek::Friday => "Friday",
        DayOfWeek::Saturday => "Saturday",
        DayOfWeek::Sunday => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn rule(every_weeks: i32, days: &[DayOfWeek], end: SeriesEnd) -> WeeklyRule {
        WeeklyRule {
            every_weeks,
            days: days.to_vec(),
            end,
        }
    }

    #[test]
    fn every_second_week_on_two_days_keeps_the_wall_clock_time_across_daylight_saving() {
        let zone: Tz = "America/New_York".parse().unwrap();
        // Monday 2030-03-04 09:00 EST; clocks go forward on Sunday 2030-03-10.
        let starts = occurrences(
            zone,
            utc("2030-03-04T14:00:00Z"),
            &rule(
                2,
                &[DayOfWeek::Thursday, DayOfWeek::Monday],
                SeriesEnd::Count(4),
            ),
        )
        .unwrap();
        assert_eq!(
            starts,
            [
                utc("2030-03-04T14:00:00Z"),
                utc("2030-03-07T14:00:00Z"),
                utc("2030-03-18T13:00:00Z"),
                utc("2030-03-21T13:00:00Z"),
            ]
        );
    }

    #[test]
    fn an_end_date_includes_its_own_day_and_no_rule_may_make_more_than_52() {
        let zone: Tz = "UTC".parse().unwrap();
        let weekly = |end| rule(1, &[DayOfWeek::Monday], end);
        let until = NaiveDate::from_ymd_opt(2030, 1, 21).unwrap();
        let starts = occurrences(
            zone,
            utc("2030-01-07T09:00:00Z"),
            &weekly(SeriesEnd::Until(until)),
        )
        .unwrap();
        assert_eq!(starts.len(), 3);
        let far = NaiveDate::from_ymd_opt(2230, 1, 1).unwrap();
        let refused = occurrences(
            zone,
            utc("2030-01-07T09:00:00Z"),
            &weekly(SeriesEnd::Until(far)),
        );
        assert_eq!(refused.unwrap_err().field(), Some("input.rule"));
        let backwards = occurrences(
            zone,
            utc("2030-01-07T09:00:00Z"),
            &weekly(SeriesEnd::Until(
                NaiveDate::from_ymd_opt(2029, 1, 1).unwrap(),
            )),
        );
        assert_eq!(backwards.unwrap_err().field(), Some("input.rule.until"));
    }
}

//! FHIR search parameters as the GraphQL filters they stand for. Only what the
//! CapabilityStatement declares is understood; other parameters are ignored and left out of
//! the bundle's `self` link, as the FHIR search page prescribes, unless the client sent
//! `Prefer: handling=strict`, which refuses them.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use crate::foundation::paging::MAX_PAGE_SIZE;
use crate::server::fhir::cursor::CursorSeal;
use crate::server::fhir::outcome::Outcome;

/// A search's parameters, in the order sent.
pub struct SearchParams {
    pairs: Vec<(String, String)>,
    strict: bool,
    cursors: CursorSeal,
    /// The parameters used, for the `self` link.
    used: std::sync::Mutex<Vec<(String, String)>>,
}

/// `_count`'s default: a GraphQL page's default is 20, but FHIR clients page less eagerly.
const DEFAULT_COUNT: u64 = 50;

impl SearchParams {
    pub fn parse(query: Option<&str>, strict: bool, cursors: CursorSeal) -> SearchParams {
        let pairs = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
        SearchParams {
            pairs,
            strict,
            cursors,
            used: Default::default(),
        }
    }

    /// Every value of parameter `name` (a repeated parameter is an AND in FHIR).
    fn all(&self, name: &str) -> Vec<String> {
        let values: Vec<String> = self
            .pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect();
        self.used_params()
            .extend(values.iter().map(|value| (name.to_owned(), value.clone())));
        values
    }

    /// The values of `name` that are among `supported` (others are ignored, and refused under
    /// strict handling as unknown parameters are).
    pub fn supported(&self, name: &str, supported: &[&str]) -> Vec<String> {
        let values: Vec<String> = self
            .pairs
            .iter()
            .filter(|(key, value)| key == name && supported.contains(&value.as_str()))
            .map(|(_, value)| value.clone())
            .collect();
        self.used_params()
            .extend(values.iter().map(|value| (name.to_owned(), value.clone())));
        values
    }

    /// The one value of `name`, if sent; BAD_USER_INPUT when sent twice or as a list.
    pub fn one(&self, name: &str) -> Result<Option<String>, Outcome> {
        let mut values = self.all(name);
        match values.len() {
            0 => Ok(None),
            1 if !values[0].contains(',') => Ok(values.pop()),
            _ => Err(Outcome::bad_input(format!(
                "{name}: give one value (lists and repeats of it are not supported)"
            ))),
        }
    }

    /// `_count`: the page size, 1 to the GraphQL maximum.
    pub fn count(&self) -> Result<u64, Outcome> {
        match self.one("_count")? {
            None => Ok(DEFAULT_COUNT.min(MAX_PAGE_SIZE)),
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|count| (1..=MAX_PAGE_SIZE).contains(count))
                .ok_or_else(|| {
                    Outcome::bad_input(format!("_count: must be between 1 and {MAX_PAGE_SIZE}"))
                }),
        }
    }

    /// `_cursor`: where the next page starts (from the bundle's `next` link, sealed), as the
    /// GraphQL cursor it seals.
    pub fn cursor(&self) -> Result<Option<String>, Outcome> {
        self.one("_cursor")?
            .map(|sealed| self.cursors.open(&sealed))
            .transpose()
    }

    /// A GraphQL cursor as the `_cursor` of a `next` link.
    pub fn sealed(&self, cursor: &str) -> String {
        self.cursors.seal(cursor)
    }

    /// A reference parameter (`Practitioner/<id>` or a bare id) of `resource_type`, as its id.
    pub fn reference(&self, name: &str, resource_type: &str) -> Result<Option<Uuid>, Outcome> {
        let Some(value) = self.one(name)? else {
            return Ok(None);
        };
        let id = value
            .strip_prefix(&format!("{resource_type}/"))
            .unwrap_or(&value);
        Uuid::parse_str(id).map(Some).map_err(|_| {
            Outcome::bad_input(format!(
                "{name}: must be {resource_type}/<id>, with the id of a {resource_type}"
            ))
        })
    }

    /// A date parameter as a half-open UTC range `[from, to)`: each value a date (a whole UTC
    /// day) or an instant with its offset, with FHIR's prefixes `eq` (the default), `ge`, `gt`,
    /// `le`, `lt`; repeats narrow the range (FHIR's AND).
    pub fn date_range(&self, name: &str) -> Result<DateRange, Outcome> {
        let mut range = DateRange::default();
        for value in self.all(name) {
            let (prefix, text) = match value.get(..2) {
                Some(prefix @ ("eq" | "ge" | "gt" | "le" | "lt")) => (prefix, &value[2..]),
                _ => ("eq", value.as_str()),
            };
            let (start, end) = instant_span(text).ok_or_else(|| {
                Outcome::bad_input(format!(
                    "{name}: must be a date (2026-12-10) or an instant with its offset \
                     (2026-12-10T09:00:00Z), optionally after eq, ge, gt, le or lt"
                ))
            })?;
            match prefix {
                "eq" => {
                    range.narrow_from(start);
                    range.narrow_to(end);
                }
                "ge" => range.narrow_from(start),
                "gt" => range.narrow_from(end),
                "le" => range.narrow_to(end),
                _ => range.narrow_to(start),
            }
        }
        Ok(range)
    }

    /// A date-only parameter (`birthdate`): one date, prefix `eq` or none.
    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, Outcome> {
        let Some(value) = self.one(name)? else {
            return Ok(None);
        };
        let text = value.strip_prefix("eq").unwrap_or(&value);
        calendar_date(text)
            .map(Some)
            .ok_or_else(|| Outcome::bad_input(format!("{name}: must be one date, e.g. 1980-04-02")))
    }

    fn used_params(&self) -> std::sync::MutexGuard<'_, Vec<(String, String)>> {
        self.used
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Refuses, under `Prefer: handling=strict`, any parameter not read; then the parameters
    /// used, for the `self` link.
    pub fn finish(&self) -> Result<Vec<(String, String)>, Outcome> {
        let used = self.used_params().clone();
        if self.strict
            && let Some((unknown, _)) = self.pairs.iter().find(|pair| {
                // `_format` is read before the search (it picks the answer's format).
                pair.0 != "_format" && !used.contains(pair)
            })
        {
            return Err(Outcome::bad_input(format!(
                "{unknown}: not a search parameter this server supports here (see /metadata)"
            )));
        }
        Ok(used)
    }
}

/// A half-open range of instants; either end may be open.
#[derive(Default, Debug, Clone, Copy)]
pub struct DateRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl DateRange {
    fn narrow_from(&mut self, from: DateTime<Utc>) {
        self.from = Some(self.from.map_or(from, |current| current.max(from)));
    }

    fn narrow_to(&mut self, to: DateTime<Utc>) {
        self.to = Some(self.to.map_or(to, |current| current.min(to)));
    }
}

/// The years a date may name: FHIR's (four digits), which GraphQL's dates also keep to, and far
/// enough from chrono's limits that a day's arithmetic cannot overflow.
const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

fn calendar_date(text: &str) -> Option<NaiveDate> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    (text.len() == 10 && YEARS.contains(&date.year())).then_some(date)
}

/// What a date or instant value covers: a date its whole UTC day, an instant its second.
fn instant_span(text: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (start, length) = match calendar_date(text) {
        Some(date) => (
            Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?),
            Duration::days(1),
        ),
        None => {
            let instant = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
            (instant, Duration::seconds(1))
        }
    };
    YEARS
        .contains(&start.year())
        .then(|| Some((start, start.checked_add_signed(length)?)))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str, strict: bool) -> SearchParams {
        let keys = crate::foundation::keyring::Keyring::generate_config_entry("test");
        let seal = CursorSeal::from_config(&crate::foundation::config::Secret::from(keys)).unwrap();
        SearchParams::parse(Some(query), strict, seal)
    }

    fn range(query: &str) -> DateRange {
        params(query, false).date_range("date").unwrap()
    }

    #[test]
    fn a_bare_date_is_its_whole_utc_day_and_prefixes_bound_one_end() {
        let day = range("date=2026-12-10");
        assert_eq!(day.from.unwrap().to_rfc3339(), "2026-12-10T00:00:00+00:00");
        assert_eq!(day.to.unwrap().to_rfc3339(), "2026-12-11T00:00:00+00:00");
        let week = range("date=ge2026-12-10&date=lt2026-12-17");
        assert_eq!(week.from.unwrap().to_rfc3339(), "2026-12-10T00:00:00+00:00");
        assert_eq!(week.to.unwrap().to_rfc3339(), "2026-12-17T00:00:00+00:00");
        let after = range("date=gt2026-12-10");
        assert_eq!(
            after.from.unwrap().to_rfc3339(),
            "2026-12-11T00:00:00+00:00"
        );
        assert!(after.to.is_none());
    }

    #[test]
    fn an_instant_keeps_its_offset_and_a_bad_or_extreme_value_is_refused() {
        let morning = range("date=ge2026-12-10T09:00:00%2B01:00");
        assert_eq!(
            morning.from.unwrap().to_rfc3339(),
            "2026-12-10T08:00:00+00:00"
        );
        for refused in [
            "date=tomorrow",
            "date=%2B262143-12-31",
            "date=lt-262144-01-02",
            "date=0000-01-01",
            "date=10000-01-01",
        ] {
            let refused = params(refused, false).date_range("date");
            assert_eq!(refused.unwrap_err().code, "BAD_USER_INPUT");
        }
        assert!(
            params("birthdate=%2B262143-12-31", false)
                .date("birthdate")
                .is_err()
        );
    }

    #[test]
    fn unknown_parameters_are_ignored_unless_the_client_asks_for_strict_handling() {
        let lenient = params("name=ann&colour=red", false);
        lenient.one("name").unwrap();
        assert_eq!(lenient.finish().unwrap(), [("name".into(), "ann".into())]);
        let strict = params("name=ann&colour=red&_format=json", true);
        strict.one("name").unwrap();
        assert!(strict.finish().unwrap_err().message.starts_with("colour"));
        let includes = params(
            "_include=Appointment:patient&_include=Appointment:location",
            true,
        );
        assert_eq!(
            includes.supported("_include", &["Appointment:patient"]),
            ["Appointment:patient"]
        );
        assert!(
            includes.finish().is_err(),
            "an unsupported include is refused when strict"
        );
    }

    #[test]
    fn a_cursor_travels_sealed_and_a_forged_one_is_refused() {
        let search = params("", false);
        let sealed = search.sealed("WyJsb3ZlbGFjZSBhZGEiXQ");
        assert!(!sealed.contains("WyJsb3ZlbGFjZSBhZGEiXQ"));
        let next = SearchParams::parse(
            Some(&format!("_cursor={sealed}")),
            false,
            search.cursors.clone(),
        );
        assert_eq!(
            next.cursor().unwrap().as_deref(),
            Some("WyJsb3ZlbGFjZSBhZGEiXQ")
        );
        let forged = params("_cursor=WyJsb3ZlbGFjZSBhZGEiXQ", false).cursor();
        assert_eq!(forged.unwrap_err().code, "BAD_USER_INPUT");
    }
}

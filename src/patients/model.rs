//! Validated patient data and the protected document that is stored only encrypted.

use async_graphql::SimpleObject;
use chrono::{Duration, NaiveDate, Utc};

use crate::foundation::error::ApiError;
use crate::foundation::input::{optional_line, optional_text, required_name};

const MAX_NAME_CHARS: usize = 100;

/// The encrypted part of a patient (`phi_data`): contact details and medical information,
/// readable by different roles. Stored as `phi::StoredPhiV1`, never as itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhiDocument {
    pub contact: Contact,
    pub medical: Medical,
}

/// How to reach a patient. Shown to FrontDesk, Provider and ClinicAdmin.
#[derive(Clone, Debug, Default, PartialEq, Eq, SimpleObject)]
#[graphql(name = "PatientContact")]
pub struct Contact {
    /// Phone number as entered; null if none is recorded.
    pub phone: Option<String>,
    /// Email address; null if none is recorded.
    pub email: Option<String>,
    /// Postal address, possibly several lines; null if none is recorded.
    pub address: Option<String>,
}

/// Clinical information. Shown to Provider and ClinicAdmin only.
#[derive(Clone, Debug, Default, PartialEq, Eq, SimpleObject)]
#[graphql(name = "PatientMedical")]
pub struct Medical {
    /// Known allergies, free text; null if none are recorded.
    pub allergies: Option<String>,
    /// Current medications, free text; null if none are recorded.
    pub medications: Option<String>,
    /// Clinical notes, free text; null if none are recorded.
    pub notes: Option<String>,
}

pub fn person_name(field: &str, raw: &str) -> Result<String, ApiError> {
    required_name(field, raw, MAX_NAME_CHARS)
}

/// A date of birth: not in the future (anywhere on Earth: UTC+14 is a day ahead of some
/// clinics) and not before 1900.
pub fn date_of_birth(field: &str, date: NaiveDate) -> Result<NaiveDate, ApiError> {
    let latest_today = (Utc::now() + Duration::hours(14)).date_naive();
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
    if date > latest_today {
        return Err(ApiError::bad_input(field, "must not be in the future"));
    }
    if date < earliest {
        return Err(ApiError::bad_input(field, "must not be before 1900-01-01"));
    }
    Ok(date)
}

impl Contact {
    pub fn parse(
        field: &str,
        phone: Option<&str>,
        email: Option<&str>,
        address: Option<&str>,
    ) -> Result<Contact, ApiError> {
        let phone_field = format!("{field}.phone");
        let phone = optional_line(&phone_field, phone, 40)?;
        if phone.as_deref().is_some_and(|phone| {
            !phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()./".contains(c))
        }) {
            return Err(ApiError::bad_input(
                phone_field,
                "may contain only digits, spaces and + - ( ) . /",
            ));
        }
        let email_field = format!("{field}.email");
        let email = optional_line(&email_field, email, 254)?;
        if email.as_deref().is_some_and(|email| {
            email.contains(char::is_whitespace)
                || email.split('@').count() != 2
                || email.starts_with('@')
                || email.ends_with('@')
        }) {
            return Err(ApiError::bad_input(
                email_field,
                "must be an address like name@example.org",
            ));
        }
        Ok(Contact {
            phone,
            email,
            address: optional_text(&format!("{field}.address"), address, 500)?,
        })
    }
}

impl Medical {
    pub fn parse(
        field: &str,
        allergies: Option<&str>,
        medications: Option<&str>,
        notes: Option<&str>,
    ) -> Result<Medical, ApiError> {
        Ok(Medical {
            allergies: optional_text(&format!("{field}.allergies"), allergies, 2_000)?,
            medications: optional_text(&format!("{field}.medications"), medications, 2_000)?,
            notes: optional_text(&format!("{field}.notes"), notes, 10_000)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_birth_in_the_future_or_before_1900_are_refused() {
        let tomorrow_everywhere = (Utc::now() + Duration::days(2)).date_naive();
        assert!(date_of_birth("dob", tomorrow_everywhere).is_err());
        assert!(date_of_birth("dob", NaiveDate::from_ymd_opt(1899, 12, 31).unwrap()).is_err());
        assert!(date_of_birth("dob", NaiveDate::from_ymd_opt(1980, 2, 29).unwrap()).is_ok());
    }

    #[test]
    fn contact_details_are_checked_field_by_field() {
        assert!(Contact::parse("c", Some("+1 (555) 010-2030"), Some("a@b.org"), None).is_ok());
        let error = Contact::parse("c", Some("call me"), None, None).unwrap_err();
        assert_eq!(error.field(), Some("c.phone"));
        let error = Contact::parse("c", None, Some("a@@b"), None).unwrap_err();
        assert_eq!(error.field(), Some("c.email"));
    }
}

//! Validated identity inputs: a value of these types is always acceptable to the database.

use crate::foundation::error::ApiError;
use crate::foundation::input::required_name;
use crate::foundation::role::Role;

pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 128;

/// A sign-in name: 3 to 100 of `a-z 0-9 . _ @ -`, stored lower-case.
#[derive(Clone, Debug)]
pub struct Username(String);

impl Username {
    pub fn parse(field: &str, raw: &str) -> Result<Username, ApiError> {
        let name = raw.trim().to_lowercase();
        let valid_chars = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._@-".contains(c));
        if !(3..=100).contains(&name.len()) || !valid_chars {
            return Err(ApiError::bad_input(
                field,
                "must be 3 to 100 characters of letters, digits and . _ @ -",
            ));
        }
        Ok(Username(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: long enough to resist guessing, short enough to hash cheaply, and not
/// guessable for all its length (zxcvbn's estimate: `aaaaaaaaaaaa` or `password1234` is refused).
pub struct NewPassword(String);

/// The least zxcvbn score accepted: "safely unguessable" (about 10^10 guesses), what zxcvbn's
/// authors suggest for a service that also rate-limits sign-in.
const MIN_STRENGTH: zxcvbn::Score = zxcvbn::Score::Three;

impl NewPassword {
    /// `related`: what the password must not be built from (the username, the clinic's name).
    pub fn parse(field: &str, raw: &str, related: &[&str]) -> Result<NewPassword, ApiError> {
        let length = raw.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&length) {
            return Err(ApiError::bad_input(
                field,
                format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        if raw.trim().is_empty() || raw.chars().any(char::is_control) {
            return Err(ApiError::bad_input(
                field,
                "must not be blank or contain control characters",
            ));
        }
        let estimate = zxcvbn::zxcvbn(raw, related);
        if estimate.score() < MIN_STRENGTH {
            let why = estimate
                .feedback()
                .and_then(zxcvbn::feedback::Feedback::warning)
                .map(|warning| format!(" ({warning})"))
                .unwrap_or_default();
            return Err(ApiError::bad_input(
                field,
                format!(
                    "is too easy to guess{why}: use several unrelated words or a longer mix \
                     of characters"
                ),
            ));
        }
        Ok(NewPassword(raw.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A clinic's address in sign-in: 2 to 63 of `a-z 0-9 -`, starting with a letter or digit.
pub struct ClinicSlug(String);

impl ClinicSlug {
    pub fn parse(field: &str, raw: &str) -> Result<ClinicSlug, ApiError> {
        let slug = raw.trim().to_lowercase();
        let valid = (2..=63).contains(&slug.len())
            && slug.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(ApiError::bad_input(
                field,
                "must be 2 to 63 characters of letters, digits and hyphens, not starting with a hyphen",
            ));
        }
        // Sign-in takes a slug or a clinic id; a slug that reads as an id would be ambiguous.
        if uuid::Uuid::parse_str(&slug).is_ok() {
            return Err(ApiError::bad_input(field, "must not look like a clinic id"));
        }
        Ok(ClinicSlug(slug))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn clinic_name(field: &str, raw: &str) -> Result<String, ApiError> {
    required_name(field, raw, 255)
}

/// A role a ClinicAdmin may give: any but SystemAdmin, which exists only on the platform.
pub fn clinic_role(field: &str, role: Role) -> Result<Role, ApiError> {
    if role == Role::SystemAdmin {
        return Err(ApiError::bad_input(
            field,
            "SystemAdmin is a platform role and cannot be given to a clinic's user",
        ));
    }
    Ok(role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lower_cased_and_restricted() {
        assert_eq!(
            Username::parse("u", " Ann.Lee ").unwrap().as_str(),
            "ann.lee"
        );
        assert!(Username::parse("u", "an").is_err());
        assert!(Username::parse("u", "ann lee").is_err());
        assert!(Username::parse("u", "ánn").is_err());
    }

    #[test]
    fn slugs_follow_the_database_rule() {
        assert!(ClinicSlug::parse("s", "north-side-2").is_ok());
        assert!(ClinicSlug::parse("s", "-north").is_err());
        assert!(ClinicSlug::parse("s", "n").is_err());
        assert!(ClinicSlug::parse("s", "north_side").is_err());
        assert!(ClinicSlug::parse("s", "67e55044-10b1-426f-9247-bb680e5fe0c8").is_err());
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(NewPassword::parse("p", "short", &[]).is_err());
        assert!(NewPassword::parse("p", "            ", &[]).is_err());
        assert!(NewPassword::parse("p", "correct horse battery", &[]).is_ok());
    }

    #[test]
    fn guessable_passwords_are_refused_however_long() {
        for weak in [
            "aaaaaaaaaaaa",
            "password1234",
            "123456789012",
            "qwertyuiopas",
        ] {
            assert!(
                NewPassword::parse("p", weak, &[]).is_err(),
                "{weak} is refused"
            );
        }
        for strong in [
            "a long enough password",
            "first password 1",
            "provider password 1",
        ] {
            assert!(
                NewPassword::parse("p", strong, &[]).is_ok(),
                "{strong} is accepted"
            );
        }
    }
}

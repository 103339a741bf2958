//! Checks shared by every domain's input types, each naming the field at fault.

use crate::foundation::error::ApiError;

/// Trimmed single-line text of 1..=`max_chars` characters with no control characters.
pub fn required_line(field: &str, raw: &str, max_chars: usize) -> Result<String, ApiError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(ApiError::bad_input(field, "must not be empty"));
    }
    check_length(field, text, max_chars)?;
    if text.chars().any(char::is_control) {
        return Err(ApiError::bad_input(
            field,
            "must not contain control characters such as line breaks or tabs",
        ));
    }
    Ok(text.to_owned())
}

/// A name people read (a patient's, a clinic's): a `required_line` that contains a letter and no
/// bidirectional embedding, override or isolate characters, which would make the text display
/// as something other than what it holds (or hide it entirely), as zero-width-only names do.
pub fn required_name(field: &str, raw: &str, max_chars: usize) -> Result<String, ApiError> {
    let text = required_line(field, raw, max_chars)?;
    if text.chars().any(is_bidi_control) {
        return Err(ApiError::bad_input(
            field,
            "must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069)",
        ));
    }
    if !text.chars().any(char::is_alphabetic) {
        return Err(ApiError::bad_input(field, "must contain a letter"));
    }
    Ok(text)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Like `required_line`, but blank means "not given".
pub fn optional_line(
    field: &str,
    raw: Option<&str>,
    max_chars: usize,
) -> Result<Option<String>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => required_line(field, text, max_chars).map(Some),
    }
}

/// Free text such as clinical notes: line breaks and tabs allowed, other control characters not;
/// blank means "not given".
pub fn optional_text(
    field: &str,
    raw: Option<&str>,
    max_chars: usize,
) -> Result<Option<String>, ApiError> {
    let Some(text) = raw.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    check_length(field, text, max_chars)?;
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ApiError::bad_input(
            field,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(Some(text.to_owned()))
}

fn check_length(field: &str, text: &str, max_chars: usize) -> Result<(), ApiError> {
    if text.chars().count() > max_chars {
        return Err(ApiError::bad_input(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_trimmed_and_bounded() {
        assert_eq!(required_line("name", "  Ada ", 10).unwrap(), "Ada");
        assert!(required_line("name", "   ", 10).is_err());
        assert!(required_line("name", "Ada\u{0}", 10).is_err());
        assert!(required_line("name", &"é".repeat(11), 10).is_err());
        assert!(required_line("name", &"é".repeat(10), 10).is_ok());
    }

    #[test]
    fn names_need_a_letter_and_no_bidi_controls() {
        assert_eq!(required_name("name", " Zoë ", 10).unwrap(), "Zoë");
        assert_eq!(required_name("name", "李小龍", 10).unwrap(), "李小龍");
        assert!(required_name("name", "\u{200B}\u{200C}\u{FEFF}", 10).is_err());
        assert!(required_name("name", "Ann\u{202E}nhoJ", 20).is_err());
        assert!(required_name("name", "\u{2067}Ann", 20).is_err());
        assert!(required_name("name", "--- 42", 20).is_err());
    }

    #[test]
    fn free_text_keeps_line_breaks_but_not_other_controls() {
        assert_eq!(
            optional_text("notes", Some("a\nb"), 10).unwrap().as_deref(),
            Some("a\nb")
        );
        assert!(optional_text("notes", Some("a\u{7}"), 10).is_err());
        assert_eq!(optional_text("notes", Some("  "), 10).unwrap(), None);
    }
}

//! The one place errors become what a client sees: a GraphQL error with `extensions.code` and a
//! message that says what was wrong and how to fix it.
//!
//! `ApiError` deliberately does not implement `Display`: async-graphql turns anything `Display`
//! into an error carrying its text, so a `?` on a database error could send SQL or PHI to a
//! client. Database errors become `ApiError` through `From<DbErr>` below, which maps known
//! constraints by name and logs everything else as INTERNAL.

use async_graphql::{ErrorExtensions, Response, Value};
use sea_orm::{DbErr, RuntimeErr};

/// The codes a client can act on, as listed in DESIGN.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// No valid credentials: sign in (again).
    Unauthenticated,
    /// Signed in, but the role may not do this.
    Forbidden,
    /// No such record in the caller's clinic (also what another clinic's record looks like).
    NotFound,
    /// The request itself is wrong; the message names the field.
    BadUserInput,
    /// The request clashed with the current state (a duplicate, a moved version); re-read and retry.
    Conflict,
    /// Our fault; details are in the server log, never in the response.
    Internal,
    /// The database is unreachable or busy, or the request ran longer than allowed: nothing was
    /// done, and the same request may succeed in a moment.
    Unavailable,
    /// A subscriber read too slowly and was dropped; subscribe again with `after`.
    FellBehind,
    /// A persisted query's hash this server does not know: send the query with its hash
    /// (Apollo's automatic persisted queries, whose clients do so on this code).
    PersistedQueryNotFound,
    /// The password was right and the account signs in with a second factor too: send the
    /// sign-in again with a code from the authenticator app (or a recovery code).
    MfaRequired,
}

impl ErrorCode {
    const ALL: [ErrorCode; 10] = [
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::BadUserInput,
        ErrorCode::Conflict,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
        ErrorCode::FellBehind,
        ErrorCode::PersistedQueryNotFound,
        ErrorCode::MfaRequired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::FellBehind => "FELL_BEHIND",
            ErrorCode::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            ErrorCode::MfaRequired => "MFA_REQUIRED",
        }
    }
}

/// An error on its way to a client. Its fields are private: one is made only through the
/// constructors below, each of which says what the client may be told.
#[derive(Clone, Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    /// The input field at fault, as the client spelled it (`input.dateOfBirth`).
    field: Option<String>,
    /// For throttled sign-ins: how long to wait.
    retry_after_seconds: Option<u64>,
    /// For an ended subscription: the last event delivered, to resume `after`.
    resume_after: Option<i64>,
    /// For a refusal of several things at once: each one, so a client can show them all.
    conflicts: Vec<String>,
}

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            field: None,
            retry_after_seconds: None,
            resume_after: None,
            conflicts: Vec::new(),
        }
    }

    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Forbidden, message)
    }

    /// `what` names the kind of record, e.g. "patient".
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            ErrorCode::NotFound,
            format!("no {what} with this id in your clinic"),
        )
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let field = field.into();
        ApiError {
            message: format!("{field}: {}", message.into()),
            field: Some(field),
            ..ApiError::new(ErrorCode::BadUserInput, "")
        }
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Conflict, message)
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            ErrorCode::Internal,
            "internal error; it has been logged, please try again later",
        )
    }

    /// INTERNAL with a message of our choosing, which must hold nothing but what the client may
    /// know.
    pub fn internal_with(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Internal, message)
    }

    /// The persisted query's hash is unknown here. The message is the protocol's own, which
    /// Apollo's clients match on to send the query.
    pub fn persisted_query_not_found() -> ApiError {
        ApiError::new(ErrorCode::PersistedQueryNotFound, "PersistedQueryNotFound")
    }

    /// A sign-in whose password was right still needs a second factor's code.
    pub fn mfa_required() -> ApiError {
        ApiError::new(
            ErrorCode::MfaRequired,
            "this account signs in with a second factor: send mfaCode, a code from your authenticator app or a recovery code",
        )
    }

    /// A subscriber dropped for reading too slowly.
    pub fn fell_behind(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::FellBehind, message)
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The input field at fault, when the client's input is.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    pub fn with_resume_after(mut self, event_id: i64) -> ApiError {
        self.resume_after = Some(event_id);
        self
    }

    /// Lists every part of a request that was refused (`extensions.conflicts`), when it is
    /// refused as a whole for several reasons at once.
    pub fn with_conflicts(mut self, conflicts: Vec<String>) -> ApiError {
        self.conflicts = conflicts;
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// Logs an unexpected failure with its cause chain and hides it from the client.
    pub fn internal_from(cause: &(dyn std::error::Error + 'static)) -> ApiError {
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(next) = source {
            chain.push_str(": ");
            chain.push_str(&next.to_string());
            source = next.source();
        }
        tracing::error!(error = %chain, "internal error");
        ApiError::internal()
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        async_graphql::Error::new(error.message).extend_with(|_, extensions| {
            extensions.set("code", error.code.as_str());
            if let Some(field) = &error.field {
                extensions.set("field", field.as_str());
            }
            if let Some(seconds) = error.retry_after_seconds {
                extensions.set("retryAfterSeconds", seconds);
            }
            if let Some(event_id) = error.resume_after {
                extensions.set("resumeAfter", event_id.to_string());
            }
            if !error.conflicts.is_empty() {
                extensions.set("conflicts", error.conflicts.clone());
            }
        })
    }
}

impl ApiError {
    /// The error as a whole request's answer: it concerns the request (its credentials, its
    /// body), not a place in its document, so it claims no location (not line 0, column 0).
    pub fn into_server_error(self) -> async_graphql::ServerError {
        let mut error =
            async_graphql::Error::from(self).into_server_error(async_graphql::Pos::default());
        error.locations.clear();
        error
    }

    /// The error as a refused WebSocket `connection_init`: graphql-ws closes the socket with
    /// the message alone (close code 4403), so nothing but the message is sent.
    pub fn into_connection_refusal(self) -> async_graphql::Error {
        async_graphql::Error::new(self.message)
    }
}

/// For start-up code and commands, where an `ApiError` (a bad flag value, say) ends the program.
impl From<ApiError> for anyhow::Error {
    fn from(error: ApiError) -> Self {
        anyhow::anyhow!(error.message)
    }
}

/// Constraints whose violation is the client's to fix, by name: (constraint, code, field, message).
/// Anything not listed is a bug on our side and answers INTERNAL.
const KNOWN_CONSTRAINTS: &[(&str, ErrorCode, &str, &str)] = &[
    (
        "tenants_slug_key",
        ErrorCode::Conflict,
        "input.slug",
        "a clinic with this slug already exists; choose another",
    ),
    (
        "users_username_key",
        ErrorCode::Conflict,
        "input.username",
        "a user with this username already exists in your clinic",
    ),
    (
        "appointment_types_name_key",
        ErrorCode::Conflict,
        "input.name",
        "the clinic already has an appointment type of this name",
    ),
    (
        "patient_phi_versions_one_per_version",
        ErrorCode::Conflict,
        "input.id",
        "the patient's contact or medical data was changed meanwhile; read it again and repeat the change",
    ),
    (
        "journal_entries_idempotency_key",
        ErrorCode::Conflict,
        "input.idempotencyKey",
        "this idempotency key was already used for a different posting; use a new key",
    ),
    (
        "invoices_one_per_appointment",
        ErrorCode::Conflict,
        "id",
        "this appointment has already been invoiced",
    ),
    (
        "cancellation_reasons_live_label_idx",
        ErrorCode::Conflict,
        "label",
        "the clinic already has a cancellation reason of this label; choose another, or retire \
         the one it has",
    ),
    (
        "rooms_live_name_idx",
        ErrorCode::Conflict,
        "input.name",
        "the clinic already has a room of this name; choose another",
    ),
    (
        "users_system_admin_only_on_platform",
        ErrorCode::BadUserInput,
        "input.role",
        "the SystemAdmin role exists only on the platform",
    ),
];

impl From<DbErr> for ApiError {
    fn from(error: DbErr) -> Self {
        if let Some(unavailable) = unavailable(&error) {
            return unavailable;
        }
        if let Some((sqlstate, constraint)) = database_error_details(&error) {
            if let Some(constraint) = constraint.as_deref()
                && let Some((_, code, field, message)) = KNOWN_CONSTRAINTS
                    .iter()
                    .find(|(name, ..)| *name == constraint)
            {
                return ApiError {
                    field: Some((*field).to_owned()),
                    ..ApiError::new(*code, *message)
                };
            }
            // Serialization failures and deadlocks: nothing was written; the client may retry.
            if sqlstate == "40001" || sqlstate == "40P01" {
                return ApiError::conflict(
                    "the request collided with a concurrent change and was not applied; retry it",
                );
            }
        }
        ApiError::internal_from(&error)
    }
}

/// A commit that failed: when the connection failed with it, whether the change was saved is
/// unknown, and the client must look before it retries.
pub fn commit_failed(error: DbErr) -> ApiError {
    if unavailable(&error).is_none() {
        return ApiError::from(error);
    }
    tracing::warn!(%error, "the database connection failed during a commit");
    ApiError::new(
        ErrorCode::Unavailable,
        "the database connection failed while the change was being saved: it may or may not \
         have been made; check before retrying",
    )
}

/// A failure of the database rather than of the request: no connection free in time, none to be
/// had, a statement cancelled by the statement timeout, a server shutting down or starting up.
fn unavailable(error: &DbErr) -> Option<ApiError> {
    let (log, message) = match error {
        DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout) => (
            "no database connection free within the acquire timeout",
            "the database is busy; nothing was done, try again in a moment",
        ),
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => (
            "the database cannot be reached",
            "the database cannot be reached; nothing was done, try again in a moment",
        ),
        _ if connection_broke(error) => (
            "the database connection broke",
            "the database cannot be reached; nothing was done, try again in a moment",
        ),
        _ => match database_error_details(error)?.0.as_str() {
            "57014" => (
                "a statement ran into the statement timeout",
                "the request took longer than the server allows and was stopped; nothing was done",
            ),
            // Shutting down, crashed, starting up; or the connection broke.
            "57P01" | "57P02" | "57P03" => (
                "the database is restarting",
                "the database is restarting; nothing was done, try again in a moment",
            ),
            code if code.starts_with("08") => (
                "the database connection failed",
                "the database cannot be reached; nothing was done, try again in a moment",
            ),
            _ => return None,
        },
    };
    tracing::warn!(%error, "{log}");
    Some(ApiError::new(ErrorCode::Unavailable, message))
}

/// The SQLSTATE of an error PostgreSQL raised ("23P01", …), for domain code that handles one.
pub fn sqlstate(error: &DbErr) -> Option<String> {
    database_error_details(error).map(|(code, _)| code)
}

/// Whether a statement failed because its connection did (the server went away mid-query)
/// rather than because PostgreSQL refused it.
fn connection_broke(error: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(sqlx_error))
    | DbErr::Query(RuntimeErr::SqlxError(sqlx_error))) = error
    else {
        return false;
    };
    matches!(
        **sqlx_error,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::WorkerCrashed
    )
}

/// The SQLSTATE and constraint name of an error PostgreSQL raised, if that is what it is. The
/// name is the logical constraint's. On Citus a worker's error reaches the server through the
/// coordinator, which passes on its SQLSTATE and message but not its constraint field, so for an
/// integrity violation the name is read from the message (PostgreSQL's own wording, `… constraint
/// "name"`); and it is the shard's copy's name, the logical one with the shard's number appended
/// (`appointment_types_name_key_102103`), where no HPMS constraint's name ends in `_<digits>`.
fn database_error_details(error: &DbErr) -> Option<(String, Option<String>)> {
    let runtime = match error {
        DbErr::Exec(runtime) | DbErr::Query(runtime) => runtime,
        DbErr::Conn(runtime) => runtime,
        _ => return None,
    };
    let RuntimeErr::SqlxError(sqlx_error) = runtime else {
        return None;
    };
    let database_error = sqlx_error.as_database_error()?;
    let sqlstate = database_error.code()?.into_owned();
    let constraint = match database_error.constraint() {
        Some(name) => Some(name),
        None if sqlstate.starts_with("23") => constraint_named_in(database_error.message()),
        None => None,
    };
    Some((sqlstate, constraint.map(logical_constraint_name)))
}

fn constraint_named_in(message: &str) -> Option<&str> {
    let (_, after) = message.split_once("constraint \"")?;
    after.split_once('"').map(|(name, _)| name)
}

fn logical_constraint_name(reported: &str) -> String {
    match reported.rsplit_once('_') {
        Some((name, shard)) if !shard.is_empty() && shard.bytes().all(|b| b.is_ascii_digit()) => {
            name.to_owned()
        }
        _ => reported.to_owned(),
    }
}

/// How async-graphql's own messages about a field's arguments begin when it resolves them
/// during execution (so with a path): a value that does not parse as its type, a variable the
/// request did not send. Both are the client's to fix.
const ARGUMENT_ERRORS: [&str; 3] = ["Failed to parse", "Variable ", "Invalid value for argument"];

/// Gives every error of a response a code. Ours carry one already; the rest come from
/// async-graphql rejecting the request before any resolver ran (syntax, unknown fields or enum
/// values, depth and complexity limits: no path in the response) or from an argument value
/// that failed to parse (unparsable UUIDs and dates): all the client's to fix. A value that
/// failed to parse is reported at its position only, so the argument it was given for is looked
/// up in `query` and named, as our own input errors do. Anything else without a code came from
/// a resolver by some path that bypassed `ApiError`: it is our bug, logged and answered as
/// INTERNAL, with its text withheld (it may hold SQL or PHI).
pub fn assign_missing_codes(response: &mut Response, query: &str) {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|extensions| extensions.get("code").is_some());
        if has_code {
            continue;
        }
        let argument_error = ARGUMENT_ERRORS
            .iter()
            .any(|start| error.message.starts_with(start));
        if !error.path.is_empty() && !argument_error {
            tracing::error!(error = %error.message, "an error with no code reached a response");
            let internal = ApiError::internal();
            error.message = internal.message;
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", Value::from(ErrorCode::Internal.as_str()));
            continue;
        }
        let argument = error
            .locations
            .first()
            .filter(|_| error.message.starts_with("Failed to parse"))
            .and_then(|position| argument_at(query, position.line, position.column));
        let extensions = error.extensions.get_or_insert_with(Default::default);
        extensions.set("code", Value::from(ErrorCode::BadUserInput.as_str()));
        if let Some(argument) = argument {
            extensions.set("field", Value::from(argument));
            error.message = format!("{argument}: {}", error.message);
        }
    }
}

/// The code of a response's first error (after `assign_missing_codes`), `None` without errors.
/// Every error carries one of ours by then; one that did not would be a bug, counted INTERNAL.
pub fn first_error_code(response: &Response) -> Option<ErrorCode> {
    let error = response.errors.first()?;
    let code = error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("code"));
    Some(
        ErrorCode::ALL
            .into_iter()
            .find(|known| matches!(code, Some(Value::String(code)) if code == known.as_str()))
            .unwrap_or(ErrorCode::Internal),
    )
}

/// The FORBIDDEN errors of a response, each as `{"path": "patient.medical", "message": …}`, for
/// the audit row that records a refusal (the messages say what was refused, never data).
pub fn refusals(response: &Response) -> Vec<serde_json::Value> {
    response
        .errors
        .iter()
        .filter(|error| {
            error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code"))
                .is_some_and(|code| matches!(code, Value::String(code) if code == ErrorCode::Forbidden.as_str()))
        })
        .map(|error| {
            let path: Vec<String> = error
                .path
                .iter()
                .map(|segment| match segment {
                    async_graphql::PathSegment::Field(name) => name.clone(),
                    async_graphql::PathSegment::Index(index) => index.to_string(),
                })
                .collect();
            serde_json::json!({ "path": path.join("."), "message": error.message })
        })
        .collect()
}

/// The name written just before the value at `line`:`column` (1-based) of `query`: the `id` of
/// `patient(id: "oops")` or of `patient(id: $id)`.
fn argument_at(query: &str, line: usize, column: usize) -> Option<&str> {
    let text = query.lines().nth(line.checked_sub(1)?)?;
    let before: &str = &text[..text.char_indices().nth(column.checked_sub(1)?)?.0];
    let before = before.trim_end().strip_suffix(':')?.trim_end();
    // A GraphQL name is ASCII, so the name is the trailing run of ASCII name characters; cutting
    // where that run starts is always on a character boundary.
    let name_length = before
        .bytes()
        .rev()
        .take_while(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
        .count();
    Some(&before[before.len() - name_length..]).filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_argument_before_a_value_is_found_by_position() {
        let query = "{ patient(id: \"oops\") { id } }";
        assert_eq!(argument_at(query, 1, 15), Some("id"));
        let query = "query($id: UUID!) {\n  patient(id:$id) { id }\n}";
        assert_eq!(argument_at(query, 2, 14), Some("id"));
        assert_eq!(argument_at(query, 1, 1), None);
        let query = "{ patient(\u{feff}id: \"oops\") { id } }";
        assert_eq!(argument_at(query, 1, 16), Some("id"));
        let query = "{ patient(\u{feff}: \"oops\") { id } }";
        assert_eq!(argument_at(query, 1, 14), None);
        assert_eq!(argument_at(query, 9, 1), None);
    }

    #[test]
    fn a_constraint_the_coordinator_names_only_in_its_message_is_found_there() {
        assert_eq!(
            constraint_named_in(
                "duplicate key value violates unique constraint \"appointment_types_name_key_102103\""
            ),
            Some("appointment_types_name_key_102103")
        );
        assert_eq!(constraint_named_in("value too long for type"), None);
    }

    #[test]
    fn a_shards_copy_of_a_constraint_is_known_by_the_logical_constraints_name() {
        assert_eq!(
            logical_constraint_name("appointment_types_name_key_102103"),
            "appointment_types_name_key"
        );
        assert_eq!(
            logical_constraint_name("appointment_types_name_key"),
            "appointment_types_name_key"
        );
        assert!(
            KNOWN_CONSTRAINTS
                .iter()
                .all(|(name, ..)| logical_constraint_name(name) == *name),
            "no known constraint's name ends in _<digits>"
        );
    }
}

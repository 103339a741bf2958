//! The audit log over GraphQL: a ClinicAdmin's view of who did what in their clinic.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::entity::audit_log;
use crate::audit::store::{self, AuditFilter};
use crate::foundation::access::Permission;
use crate::foundation::error::ApiError;
use crate::foundation::input::optional_line;
use crate::foundation::paging::{PageRequest, connection};
use crate::foundation::session::session;

/// What an audit log entry records.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// A row was created; `newValues` holds it.
    Create,
    /// A row was changed; `oldValues` and `newValues` hold it before and after.
    Update,
    /// A row was deleted or marked deleted; `oldValues` holds it before.
    Delete,
    /// Patient data was shown to the user or API key; `newValues.shown` lists which parts
    /// (`identity`: names and dates of birth, of every patient in `newValues.patient_ids`).
    Read,
    /// Security events: `userId` is the account concerned (null for a sign-in naming no
    /// account), and `newValues` holds its `role`, `client_address` and `request_id`, with what
    /// the event adds (the session, a lock's wait, a reset's target user). A sign-in.
    SignIn,
    /// A sign-in that failed (wrong password, or no such account).
    SignInFailed,
    /// A sign-in refused because too many failed: recorded once per lock.
    SignInLocked,
    /// A session ended with `logout`.
    SignOut,
    /// Every session of the user ended with `signOutEverywhere`.
    SignOutEverywhere,
    /// A replaced refresh token was presented again: its session was revoked.
    RefreshTokenReused,
    /// The user changed their own password.
    PasswordChanged,
    /// A ClinicAdmin set another user's password (`newValues.target_user_id`).
    PasswordReset,
    /// A SystemAdmin reset a clinic's ClinicAdmin (in the platform's log).
    ClinicAdminReset,
    /// A request was refused FORBIDDEN; `newValues` says what was refused, the role, the
    /// client's address and the request id; `entityId` is the operation's root field.
    Refused,
}

/// One audited change or PHI read. Secrets never appear in the values: password hashes and key
/// material are removed and encrypted PHI shows as "[encrypted]".
#[derive(SimpleObject)]
pub struct AuditLog {
    /// The entry's id; entries are numbered in the order they were written.
    pub id: ID,
    /// The table, such as `patients` or `users`.
    pub entity_name: String,
    /// The id of the row acted on.
    pub entity_id: String,
    /// The user who acted; null for a partner's API key and the platform's own actions.
    pub user_id: Option<Uuid>,
    /// The partner's API key that acted (see `apiKeys`); null when a user or the platform did.
    pub api_key_id: Option<Uuid>,
    /// What was done.
    pub action: AuditAction,
    /// The row before the change, as a JSON object; null for CREATE and READ.
    pub old_values: Option<Json<serde_json::Value>>,
    /// The row after the change, as a JSON object; for READ, `{"shown": [...]}` naming what was
    /// shown; null when the row was removed.
    pub new_values: Option<Json<serde_json::Value>>,
    /// When it happened (UTC).
    pub occurred_at: DateTime<Utc>,
}

impl From<audit_log::Model> for AuditLog {
    fn from(model: audit_log::Model) -> Self {
        AuditLog {
            id: ID(model.id.to_string()),
            entity_name: model.entity_name,
            entity_id: model.entity_id,
            user_id: model.user_id,
            api_key_id: model.api_key_id,
            action: match model.action.as_str() {
                "Create" => AuditAction::Create,
                "Delete" => AuditAction::Delete,
                "Read" => AuditAction::Read,
                "SignIn" => AuditAction::SignIn,
                "SignInFailed" => AuditAction::SignInFailed,
                "SignInLocked" => AuditAction::SignInLocked,
                "SignOut" => AuditAction::SignOut,
                "SignOutEverywhere" => AuditAction::SignOutEverywhere,
                "RefreshTokenReused" => AuditAction::RefreshTokenReused,
                "PasswordChanged" => AuditAction::PasswordChanged,
                "PasswordReset" => AuditAction::PasswordReset,
                "ClinicAdminReset" => AuditAction::ClinicAdminReset,
                "Refused" => AuditAction::Refused,
                _ => AuditAction::Update,
            },
            old_values: model.old_values.map(Json),
            new_values: model.new_values.map(Json),
            occurred_at: model.occurred_at.into(),
        }
    }
}

/// One time a patient's data was shown: by whom, what, when.
#[derive(SimpleObject)]
pub struct PatientAccess {
    /// The audit log entry that records it.
    pub audit_log_id: ID,
    /// The user who saw it; null for a partner's API key.
    pub user_id: Option<Uuid>,
    /// The partner's API key that saw it; null for a user.
    pub api_key_id: Option<Uuid>,
    /// What was shown: `identity` (names, date of birth), `contact`, `medical` or `history`.
    pub shown: Vec<String>,
    /// When (UTC).
    pub at: DateTime<Utc>,
}

impl From<audit_log::Model> for PatientAccess {
    fn from(model: audit_log::Model) -> Self {
        let shown = model
            .new_values
            .as_ref()
            .and_then(|values| values.get("shown"))
            .and_then(|shown| shown.as_array())
            .map(|shown| {
                shown
                    .iter()
                    .filter_map(|part| part.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        PatientAccess {
            audit_log_id: ID(model.id.to_string()),
            user_id: model.user_id,
            api_key_id: model.api_key_id,
            shown,
            at: model.occurred_at.into(),
        }
    }
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The clinic's audit log, newest first. ClinicAdmin only. `from` is inclusive, `to`
    /// exclusive.
    #[allow(clippy::too_many_arguments)] // one argument per filter of the GraphQL field
    #[graphql(complexity = "crate::foundation::paging::complexity(first, child_complexity)")]
    async fn audit_logs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only entries for this table, such as `patients`; exact match.")]
        entity_name: Option<String>,
        #[graphql(desc = "Only entries for the row with this id.")] entity_id: Option<String>,
        #[graphql(desc = "Only entries by this user.")] user_id: Option<Uuid>,
        #[graphql(desc = "Only entries by this API key.")] api_key_id: Option<Uuid>,
        #[graphql(desc = "Only entries at or after this time (UTC).")] from: Option<DateTime<Utc>>,
        #[graphql(desc = "Only entries before this time (UTC).")] to: Option<DateTime<Utc>>,
        #[graphql(desc = "Page size, 1 to 100; 20 if left out.")] first: Option<i32>,
        #[graphql(
            desc = "An opaque cursor: the `pageInfo.endCursor` of the previous page; leave out for the first page."
        )]
        after: Option<String>,
    ) -> Result<Connection<String, AuditLog>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadAuditLog)?;
        let page = PageRequest::<i64>::new(first, after.as_deref())?;
        let filter = AuditFilter {
            entity_name: optional_line("entityName", entity_name.as_deref(), 100)?,
            entity_id: optional_line("entityId", entity_id.as_deref(), 100)?,
            user_id,
            api_key_id,
            from,
            to,
        };
        let rows = store::list(
            session.db(),
            session.tenant_id(),
            &filter,
            page.after,
            page.limit(),
        )
        .await?
        .into_iter()
        .map(|model| (model.chain_seq, AuditLog::from(model)))
        .collect();
        Ok(connection(&page, rows))
    }

    /// Who viewed a patient: every time the patient's names, date of birth, contact details,
    /// medical data or history were shown, and to whom, newest first. ClinicAdmin only.
    #[graphql(complexity = "crate::foundation::paging::complexity(first, child_complexity)")]
    async fn patient_access_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The patient, deleted ones included.")] patient_id: Uuid,
        #[graphql(desc = "Page size, 1 to 100; 20 if left out.")] first: Option<i32>,
        #[graphql(
            desc = "An opaque cursor: the `pageInfo.endCursor` of the previous page; leave out for the first page."
        )]
        after: Option<String>,
    ) -> Result<Connection<String, PatientAccess>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadAuditLog)?;
        let page = PageRequest::<i64>::new(first, after.as_deref())?;
        let rows = store::patient_reads(
            session.db(),
            session.tenant_id(),
            patient_id,
            page.after,
            page.limit(),
        )
        .await?
        .into_iter()
        .map(|model| (model.chain_seq, PatientAccess::from(model)))
        .collect();
        Ok(connection(&page, rows))
    }
}

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

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Create,
    Update,
    Delete,
    /// Decrypted PHI was shown to the user.
    Read,
}

/// One audited change or PHI read. Secrets never appear in the values: password hashes and key
/// material are removed and encrypted PHI shows as "[encrypted]".
#[derive(SimpleObject)]
pub struct AuditLog {
    pub id: ID,
    /// The table, such as `patients` or `users`.
    pub entity_name: String,
    pub entity_id: String,
    /// Who acted; empty for the platform's own actions.
    pub user_id: Option<Uuid>,
    pub action: AuditAction,
    pub old_values: Option<Json<serde_json::Value>>,
    pub new_values: Option<Json<serde_json::Value>>,
    pub occurred_at: DateTime<Utc>,
}

impl From<audit_log::Model> for AuditLog {
    fn from(model: audit_log::Model) -> Self {
        AuditLog {
            id: ID(model.id.to_string()),
            entity_name: model.entity_name,
            entity_id: model.entity_id,
            user_id: model.user_id,
            action: match model.action.as_str() {
                "Create" => AuditAction::Create,
                "Delete" => AuditAction::Delete,
                "Read" => AuditAction::Read,
                _ => AuditAction::Update,
            },
            old_values: model.old_values.map(Json),
            new_values: model.new_values.map(Json),
            occurred_at: model.occurred_at.into(),
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
        entity_name: Option<String>,
        entity_id: Option<String>,
        user_id: Option<Uuid>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, AuditLog>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadAuditLog)?;
        let page = PageRequest::<i64>::new(first, after.as_deref())?;
        let filter = AuditFilter {
            entity_name: optional_line("entityName", entity_name.as_deref(), 100)?,
            entity_id: optional_line("entityId", entity_id.as_deref(), 100)?,
            user_id,
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
        .map(|model| (model.id, AuditLog::from(model)))
        .collect();
        Ok(connection(&page, rows))
    }
}

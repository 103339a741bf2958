//! Audit log queries, on the request's tenant transaction. The database shows the rows only to
//! a ClinicAdmin of the clinic (schema.sql), whatever the API asks.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::audit::entity::audit_log;
use crate::foundation::db::TenantTransaction;

#[derive(Default)]
pub struct AuditFilter {
    pub entity_name: Option<String>,
    pub entity_id: Option<String>,
    pub user_id: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A page of audit rows, newest first, after `before` (a row's place in the clinic's chain). By
/// the chain, the clinic's exact order of writing, rather than by time and id: rows written in
/// one transaction share its time, and on Citus their ids come from the sequence of whichever node
/// wrote them (a worker's start at 2^48), so neither says which came first.
pub async fn list(
    db: &TenantTransaction,
    tenant_id: Uuid,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<audit_log::Model>, DbErr> {
    let mut query = audit_log::Entity::find().filter(audit_log::Column::TenantId.eq(tenant_id));
    if let Some(entity_name) = &filter.entity_name {
        query = query.filter(audit_log::Column::EntityName.eq(entity_name.as_str()));
    }
    if let Some(entity_id) = &filter.entity_id {
        query = query.filter(audit_log::Column::EntityId.eq(entity_id.as_str()));
    }
    if let Some(user_id) = filter.user_id {
        query = query.filter(audit_log::Column::UserId.eq(user_id));
    }
    if let Some(api_key_id) = filter.api_key_id {
        query = query.filter(audit_log::Column::ApiKeyId.eq(api_key_id));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::Column::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_log::Column::OccurredAt.lt(to));
    }
    if let Some(before) = before {
        query = query.filter(audit_log::Column::ChainSeq.lt(before));
    }
    query
        .order_by_desc(audit_log::Column::ChainSeq)
        .limit(limit)
        .all(db)
        .await
}

/// A page of the `Read` rows that showed patient `patient_id` (its identity among a request's
/// patients, or its contact, medical data or history), newest first, after `before`. The
/// identity rows are found by their list of ids (`new_values.patient_ids`), the others by the
/// row they name.
pub async fn patient_reads(
    db: &TenantTransaction,
    tenant_id: Uuid,
    patient_id: Uuid,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<audit_log::Model>, DbErr> {
    let id = patient_id.to_string();
    let mut query = audit_log::Entity::find()
        .filter(audit_log::Column::TenantId.eq(tenant_id))
        .filter(audit_log::Column::Action.eq("Read"))
        .filter(audit_log::Column::EntityName.eq("patients"))
        .filter(
            Condition::any()
                .add(audit_log::Column::EntityId.eq(id.as_str()))
                .add(Expr::cust_with_values(
                    "jsonb_exists(new_values -> 'patient_ids', $1)",
                    [id.clone()],
                )),
        );
    if let Some(before) = before {
        query = query.filter(audit_log::Column::ChainSeq.lt(before));
    }
    query
        .order_by_desc(audit_log::Column::ChainSeq)
        .limit(limit)
        .all(db)
        .await
}

//! Webhook queries, on a clinic's tenant transaction (every statement names the clinic), and the
//! dispatcher's two cross-clinic calls through narrow SECURITY DEFINER functions (schema.sql).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::foundation::db::{TenantTransaction, statement};
use crate::partners::entity::{webhook_delivery, webhook_endpoint};

pub struct NewEndpoint {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub event_kinds: Vec<String>,
    pub sealed_secret: Vec<u8>,
    pub last_event_id: i64,
    pub created_by: Option<Uuid>,
}

pub async fn insert_endpoint(
    db: &TenantTransaction,
    new: NewEndpoint,
) -> Result<webhook_endpoint::Model, DbErr> {
    webhook_endpoint::ActiveModel {
        tenant_id: Set(db.tenant_id()),
        id: Set(new.id),
        url: Set(new.url),
        description: Set(new.description),
        event_kinds: Set(new.event_kinds),
        secret_ciphertext: Set(new.sealed_secret),
        last_event_id: Set(new.last_event_id),
        created_by: Set(new.created_by),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn list_endpoints(db: &TenantTransaction) -> Result<Vec<webhook_endpoint::Model>, DbErr> {
    webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::TenantId.eq(db.tenant_id()))
        .filter(webhook_endpoint::Column::IsDeleted.eq(false))
        .order_by_asc(webhook_endpoint::Column::CreatedAt)
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await
}

pub async fn find_endpoint(
    db: &TenantTransaction,
    id: Uuid,
) -> Result<Option<webhook_endpoint::Model>, DbErr> {
    webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::TenantId.eq(db.tenant_id()))
        .filter(webhook_endpoint::Column::Id.eq(id))
        .filter(webhook_endpoint::Column::IsDeleted.eq(false))
        .one(db)
        .await
}

/// Enables the endpoint, due at once, with its failures forgotten; delivery resumes after its
/// last delivered event. False when there is no such endpoint.
pub async fn enable(db: &TenantTransaction, id: Uuid) -> Result<bool, DbErr> {
    let done = db
        .execute_raw(statement(
            "update webhook_endpoints
                set state = 'Enabled', disabled_at = null, disabled_reason = null, attempts = 0,
                    failing_since = null, next_attempt_at = now(), updated_at = now()
              where tenant_id = $1 and id = $2 and not is_deleted",
            [db.tenant_id().into(), id.into()],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves the endpoint's cursor back (or forward) to just before `from_event_id`, due at once.
pub async fn replay(db: &TenantTransaction, id: Uuid, from_event_id: i64) -> Result<bool, DbErr> {
    let done = db
        .execute_raw(statement(
            "update webhook_endpoints
                set last_event_id = $3, attempts = 0, failing_since = null,
                    next_attempt_at = now(), updated_at = now()
              where tenant_id = $1 and id = $2 and not is_deleted",
            [db.tenant_id().into(), id.into(), (from_event_id - 1).into()],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A new signing secret; the current one keeps signing until `previous_until`.
pub async fn rotate_secret(
    db: &TenantTransaction,
    id: Uuid,
    sealed_new: Vec<u8>,
    sealed_previous: Vec<u8>,
    previous_until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let done = db
        .execute_raw(statement(
            "update webhook_endpoints
                set secret_ciphertext = $3, previous_secret_ciphertext = $4,
                    previous_secret_expires_at = $5, updated_at = now()
              where tenant_id = $1 and id = $2 and not is_deleted",
            [
                db.tenant_id().into(),
                id.into(),
                sealed_new.into(),
                sealed_previous.into(),
                previous_until.into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The endpoint's latest delivery attempts, newest first.
pub async fn deliveries(
    db: &TenantTransaction,
    endpoint_id: Uuid,
    limit: u64,
) -> Result<Vec<webhook_delivery::Model>, DbErr> {
    webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::TenantId.eq(db.tenant_id()))
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint_id))
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Claims up to `most` due endpoints of any clinic for `worker`, leased for `lease_ms`.
pub async fn claim(
    db: &TenantTransaction,
    worker: Uuid,
    lease_ms: i64,
    most: i32,
) -> Result<Vec<(Uuid, Uuid)>, DbErr> {
    let rows = db
        .query_all_raw(statement(
            "select tenant_id, endpoint_id
               from claim_webhook_endpoints($1, make_interval(secs => $2::double precision / 1000), $3)",
            [worker.into(), lease_ms.into(), most.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
        .collect()
}

/// The endpoint if `worker` still holds its lease.
pub async fn leased_endpoint(
    db: &TenantTransaction,
    id: Uuid,
    worker: Uuid,
) -> Result<Option<webhook_endpoint::Model>, DbErr> {
    webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::TenantId.eq(db.tenant_id()))
        .filter(webhook_endpoint::Column::Id.eq(id))
        .filter(webhook_endpoint::Column::LeaseOwner.eq(worker))
        .filter(webhook_endpoint::Column::State.eq("Enabled"))
        .filter(webhook_endpoint::Column::IsDeleted.eq(false))
        .one(db)
        .await
}

/// One attempt's outcome, as the log records it.
pub struct Attempt {
    pub event_id: i64,
    pub webhook_id: String,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
}

pub async fn log_attempt(
    db: &TenantTransaction,
    endpoint_id: Uuid,
    attempt: &Attempt,
    succeeded: bool,
) -> Result<(), DbErr> {
    db.execute_raw(statement(
        "insert into webhook_deliveries
           (tenant_id, endpoint_id, event_id, webhook_id, attempt, status_code, latency_ms,
            succeeded, error)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            db.tenant_id().into(),
            endpoint_id.into(),
            attempt.event_id.into(),
            attempt.webhook_id.clone().into(),
            attempt.attempt.into(),
            attempt.status_code.into(),
            attempt.latency_ms.into(),
            succeeded.into(),
            attempt.error.clone().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Moves the cursor from `from` to `to` (delivered, or passed over), keeping the lease for
/// `lease_ms` more; false if the lease or the cursor moved meanwhile (a replay, another instance).
pub async fn advance(
    db: &TenantTransaction,
    id: Uuid,
    worker: Uuid,
    (from, to): (i64, i64),
    lease_ms: i64,
) -> Result<bool, DbErr> {
    let done = db
        .execute_raw(statement(
            "update webhook_endpoints
                set last_event_id = $5, attempts = 0, failing_since = null,
                    lease_expires_at = now() + make_interval(secs => $6::double precision / 1000)
              where tenant_id = $1 and id = $2 and lease_owner = $3 and last_event_id = $4",
            [
                db.tenant_id().into(),
                id.into(),
                worker.into(),
                from.into(),
                to.into(),
                lease_ms.into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failure of the event after `cursor`: the next attempt after `delay_ms`, or the
/// endpoint disabled with `disable_reason`; the lease is released.
pub async fn fail(
    db: &TenantTransaction,
    id: Uuid,
    worker: Uuid,
    cursor: i64,
    delay_ms: i64,
    disable_reason: Option<String>,
) -> Result<(), DbErr> {
    // No now() inside CASE or COALESCE: Citus refuses non-immutable functions there. least()
    // skips a null, so an endpoint failing for the first time starts failing now.
    let (disabling, reason) = match disable_reason {
        Some(reason) => (
            ", state = 'Disabled', disabled_at = now(), disabled_reason = $6",
            Some(sea_orm::Value::from(reason)),
        ),
        None => ("", None),
    };
    let values = [
        db.tenant_id().into(),
        id.into(),
        worker.into(),
        cursor.into(),
        delay_ms.into(),
    ]
    .into_iter()
    .chain(reason);
    db.execute_raw(statement(
        &format!(
            "update webhook_endpoints
                set attempts = attempts + 1, failing_since = least(failing_since, now()),
                    next_attempt_at = now() + make_interval(secs => $5::double precision / 1000),
                    lease_owner = null, lease_expires_at = null{disabling}
              where tenant_id = $1 and id = $2 and lease_owner = $3 and last_event_id = $4"
        ),
        values,
    ))
    .await?;
    Ok(())
}

/// Gives the lease back, due at once (more may be waiting).
pub async fn release(db: &TenantTransaction, id: Uuid, worker: Uuid) -> Result<(), DbErr> {
    db.execute_raw(statement(
        "update webhook_endpoints set lease_owner = null, lease_expires_at = null
          where tenant_id = $1 and id = $2 and lease_owner = $3",
        [db.tenant_id().into(), id.into(), worker.into()],
    ))
    .await?;
    Ok(())
}

/// Removes the clinic's delivery log entries attempted before `older_than`.
pub async fn prune(db: &TenantTransaction, older_than: DateTime<Utc>) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(statement(
            "select prune_webhook_deliveries($1)",
            [older_than.into()],
        ))
        .await?;
    Ok(row
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0))
}

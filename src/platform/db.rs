//! Database access. `begin_tenant_transaction` is the only way to talk to the database on behalf
//! of a clinic: it opens one transaction and, before any other statement, sets the
//! transaction-local settings that the row-level security policies in `sql/rls.sql` key on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, Statement, TransactionTrait, Value,
};
use uuid::Uuid;

use crate::identity::Role;
use crate::platform::config::Secret;

/// On whose behalf a transaction runs.
#[derive(Clone, Copy, Debug)]
pub struct TenantScope {
    pub tenant_id: Uuid,
    /// The acting user, recorded in every audit row; `None` for actions of the platform itself
    /// and of partners' API keys.
    pub user_id: Option<Uuid>,
    /// The acting user's role (`app.role`, which some policies key on); `None` grants nothing.
    pub role: Option<Role>,
}

/// A hand-written PostgreSQL statement with its bound values.
pub fn statement(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// Opens a connection pool. The server opens it with the application role's URL and never
/// another; `hpms migrate` opens one with the owner's.
pub async fn connect(url: &Secret, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_pool(url, max_connections, DEFAULT_ACQUIRE_TIMEOUT, None).await
}

/// How long a request waits for a pooled connection before it is told the database is busy.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a pool whose callers wait at most `acquire_timeout` for a connection and whose
/// statements PostgreSQL cancels after `statement_timeout` (set as each connection starts).
pub async fn connect_pool(
    url: &Secret,
    max_connections: u32,
    acquire_timeout: Duration,
    statement_timeout: Option<Duration>,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.expose());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(acquire_timeout)
        .sqlx_logging(false);
    if let Some(timeout) = statement_timeout {
        let milliseconds = timeout.as_millis().to_string();
        options.map_sqlx_postgres_opts(move |connect| {
            connect.options([("statement_timeout", milliseconds.as_str())])
        });
    }
    Database::connect(options).await
}

/// Counts the statements a pool has sent (all of them, including those inside transactions):
/// the N+1 test reads it, and so will the metrics endpoint.
#[derive(Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn attach(db: &mut DatabaseConnection) -> StatementCounter {
        let counter = StatementCounter::default();
        let count = Arc::clone(&counter.0);
        db.set_metric_callback(move |_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        counter
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Begins a transaction scoped to one clinic. The settings are transaction-local
/// (`set_config(..., true)` in `open_request()`, sql/request_scope.sql), so they vanish at commit
/// or rollback and a pooled connection never carries one request's tenant into the next.
pub async fn begin_tenant_transaction(
    db: &DatabaseConnection,
    scope: &TenantScope,
) -> Result<DatabaseTransaction, DbErr> {
    let (transaction, _) = open_request(db, scope, None).await?;
    Ok(transaction)
}

/// `begin_tenant_transaction` for a signed-in user's request, which in the same statement asks
/// whether the user's token, issued at `credential_version`, still stands: `None` when it does
/// not (the transaction is then rolled back).
pub async fn begin_user_transaction(
    db: &DatabaseConnection,
    scope: &TenantScope,
    credential_version: i32,
) -> Result<Option<DatabaseTransaction>, DbErr> {
    let (transaction, stands) = open_request(db, scope, Some(credential_version)).await?;
    Ok(stands.then_some(transaction))
}

async fn open_request(
    db: &DatabaseConnection,
    scope: &TenantScope,
    credential_version: Option<i32>,
) -> Result<(DatabaseTransaction, bool), DbErr> {
    let transaction = db.begin().await?;
    let answer = transaction
        .query_one_raw(statement(
            "select open_request($1, $2, $3, $4, $5) as stands",
            [
                scope.tenant_id.into(),
                scope.user_id.into(),
                scope.role.map(|role| role.name().to_owned()).into(),
                scope.role.map(Role::id).into(),
                credential_version.into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("open_request() answered no row".into()))?;
    let stands = answer.try_get::<bool>("", "stands")?;
    Ok((transaction, stands))
}

/// Whether the database answers; `/readyz` reports it.
pub async fn is_reachable(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

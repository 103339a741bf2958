//! Database access. `open` is the only way to talk to the database on behalf of a clinic: it
//! opens one transaction and, before any other statement, sets the transaction-local settings
//! that the row-level security policies key on (`schema.sql`, policy `tenant_isolation`). What it
//! returns, a `TenantTransaction`, is the only connection a store function accepts, so a query
//! cannot run on a clinic's tables with no clinic set; the few lookups that must run before a
//! clinic is known (sign-in, an API key) take the narrow `PreAuthentication` instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, ExecResult, QueryResult, Statement, TransactionTrait, Value,
};
use uuid::Uuid;

use crate::foundation::config::Secret;
use crate::foundation::role::Role;

/// On whose behalf a transaction runs.
#[derive(Clone, Copy, Debug)]
pub struct TenantScope {
    pub tenant_id: Uuid,
    /// The acting user, recorded in every audit row; `None` for actions of the platform itself
    /// and of partners' API keys.
    pub user_id: Option<Uuid>,
    /// The acting user's role (`app.role`, which some policies key on); `None` grants nothing.
    pub role: Option<Role>,
    /// The partner's API key acting (`app.api_key_id`), recorded in audit rows and events;
    /// `None` for users and the server's own work.
    pub api_key_id: Option<Uuid>,
}

impl TenantScope {
    /// The platform's own work as SystemAdmin, with no acting user: bootstrapping, onboarding
    /// the demo, listing clinics. `Uuid::nil()` when no tenant in particular.
    pub fn platform_work(tenant_id: Uuid) -> TenantScope {
        TenantScope {
            tenant_id,
            user_id: None,
            role: Some(Role::SystemAdmin),
            api_key_id: None,
        }
    }

    /// The server's own work inside a clinic, on no one's behalf and with no role's grants:
    /// reading its event feed, re-encrypting its PHI.
    pub fn server_work(tenant_id: Uuid) -> TenantScope {
        TenantScope {
            tenant_id,
            user_id: None,
            role: None,
            api_key_id: None,
        }
    }
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

/// Counts the statements a pool has sent with bound values, inside transactions too: all but
/// transaction control and the tenant settings batch that opens each request (`open`, sent
/// unprepared). The N+1 test reads it, and so will the metrics endpoint.
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

/// One clinic's transaction, its settings set before any other statement. Only `open` (through
/// `begin_tenant_transaction` and `begin_user_transaction`) makes one, so holding one proves the
/// settings row-level security keys on are in place. Dropped without `commit`, it rolls back.
pub struct TenantTransaction {
    transaction: DatabaseTransaction,
    tenant_id: Uuid,
}

impl TenantTransaction {
    /// The clinic whose settings it carries, which every statement names besides row-level
    /// security (Citus routes a statement to one shard only on a tenant_id in its SQL).
    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    /// A savepoint inside this transaction, with the same settings: a statement that fails in it
    /// (a clash refused by a constraint) leaves the transaction usable once it is rolled back.
    pub async fn savepoint(&self) -> Result<TenantTransaction, DbErr> {
        Ok(TenantTransaction {
            transaction: self.transaction.begin().await?,
            tenant_id: self.tenant_id,
        })
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.transaction.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.transaction.rollback().await
    }
}

/// The pool, for the lookups that run before any clinic is known: sign-in's account and a
/// presented API key, each through a SECURITY DEFINER function that answers for one clinic and
/// one name or key only. Nothing else takes it.
#[derive(Clone)]
pub struct PreAuthentication(DatabaseConnection);

impl PreAuthentication {
    pub(crate) fn new(pool: DatabaseConnection) -> PreAuthentication {
        PreAuthentication(pool)
    }

    /// A transaction in the clinic of an account a sign-in or a refresh token has just named,
    /// acting as that account: where sign-in opens its session and where its security events
    /// (failures included) are recorded. Row-level security confines it to that clinic, and
    /// nothing but the session and audit statements of the sign-in runs in it.
    pub async fn begin_for_account(&self, scope: &TenantScope) -> Result<TenantTransaction, DbErr> {
        begin_tenant_transaction(&self.0, scope).await
    }
}

/// Lets SeaORM run queries on `$type` through its field `$field`.
macro_rules! connection_through {
    ($type:ty, $field:tt) => {
        #[async_trait::async_trait]
        impl ConnectionTrait for $type {
            fn get_database_backend(&self) -> DbBackend {
                self.$field.get_database_backend()
            }

            async fn execute_raw(&self, statement: Statement) -> Result<ExecResult, DbErr> {
                self.$field.execute_raw(statement).await
            }

            async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
                self.$field.execute_unprepared(sql).await
            }

            async fn query_one_raw(
                &self,
                statement: Statement,
            ) -> Result<Option<QueryResult>, DbErr> {
                self.$field.query_one_raw(statement).await
            }

            async fn query_all_raw(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
                self.$field.query_all_raw(statement).await
            }
        }
    };
}

connection_through!(TenantTransaction, transaction);
connection_through!(PreAuthentication, 0);

/// Begins a transaction scoped to one clinic. The settings are transaction-local (`SET LOCAL`),
/// so they vanish at commit or rollback and a pooled connection never carries one request's
/// tenant into the next.
pub async fn begin_tenant_transaction(
    db: &DatabaseConnection,
    scope: &TenantScope,
) -> Result<TenantTransaction, DbErr> {
    let (transaction, _) = open(db, scope, None).await?;
    Ok(transaction)
}

/// How the credential check travels with a request's settings, decided once per database by
/// `Topology::of`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// One PostgreSQL: the check rides in the settings' batch, one round trip.
    Single,
    /// Citus: the check is a statement of its own after the settings. Citus forwards a `SET
    /// LOCAL` to the workers by replaying the whole query string it came in, and a check in that
    /// string would then run on a worker, where a query of distributed tables is refused
    /// ("cannot execute a distributed query from a query on a shard").
    Citus,
}

impl Topology {
    /// Citus when the database has the extension.
    pub async fn of(db: &DatabaseConnection) -> Result<Topology, DbErr> {
        let statement = Statement::from_string(
            db.get_database_backend(),
            "select exists (select from pg_catalog.pg_extension where extname = 'citus') as citus",
        );
        let citus = match db.query_one_raw(statement).await? {
            Some(row) => row.try_get::<bool>("", "citus")?,
            None => false,
        };
        Ok(if citus {
            Topology::Citus
        } else {
            Topology::Single
        })
    }
}

/// What a signed-in user's token claims, for the check that it still stands.
#[derive(Clone, Copy, Debug)]
pub struct TokenClaims {
    /// The user's credential version the token was issued at.
    pub credential_version: i32,
    /// The session the token belongs to.
    pub session_id: Uuid,
}

/// `begin_tenant_transaction` for a signed-in user's request, which asks whether the user's
/// token still stands (in the same round trip on one PostgreSQL): `None` when it does not (the
/// transaction is then rolled back).
pub async fn begin_user_transaction(
    db: &DatabaseConnection,
    topology: Topology,
    scope: &TenantScope,
    claims: TokenClaims,
) -> Result<Option<TenantTransaction>, DbErr> {
    let (transaction, stands) = open(db, scope, Some((claims, topology))).await?;
    Ok(stands.then_some(transaction))
}

/// Sends the settings, and the credential check when there is one, as one simple-protocol batch
/// (on Citus the check follows as a statement of its own: `Topology`): one round trip, and
/// `SET LOCAL` rather than `set_config()` because Citus forwards the former
/// to its workers and not the latter (sql/citus/). A batch cannot carry bound parameters, so the
/// values are written into it: every one is a `Uuid`, an integer or a role name from the fixed
/// `Role` enum, formatted here, never text a client sent. The check is a `select` that returns
/// a row exactly when `user_session_stands()` (schema.sql) holds; the batch reports only rows
/// affected, and for a `select` that is the rows it returned.
async fn open(
    db: &DatabaseConnection,
    scope: &TenantScope,
    credential_check: Option<(TokenClaims, Topology)>,
) -> Result<(TenantTransaction, bool), DbErr> {
    let transaction = TenantTransaction {
        transaction: db.begin().await?,
        tenant_id: scope.tenant_id,
    };
    let mut batch = format!(
        "set local app.tenant_id = '{}'; set local app.user_id = '{}'; set local app.role = '{}'; \
         set local app.api_key_id = '{}';",
        scope.tenant_id,
        scope.user_id.map(|id| id.to_string()).unwrap_or_default(),
        scope.role.map(Role::name).unwrap_or_default(),
        scope
            .api_key_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
    );
    let Some((claims, topology)) = credential_check else {
        transaction.execute_unprepared(&batch).await?;
        return Ok((transaction, true));
    };
    let (Some(user_id), Some(role)) = (scope.user_id, scope.role) else {
        return Ok((transaction, false));
    };
    let check = format!(
        "select 1 where public.user_session_stands('{}'::uuid, '{user_id}'::uuid, {}::smallint, {}, '{}'::uuid);",
        scope.tenant_id,
        role.id(),
        claims.credential_version,
        claims.session_id,
    );
    let answer = match topology {
        Topology::Single => {
            batch.push(' ');
            batch.push_str(&check);
            transaction.execute_unprepared(&batch).await?
        }
        Topology::Citus => {
            transaction.execute_unprepared(&batch).await?;
            transaction.execute_unprepared(&check).await?
        }
    };
    Ok((transaction, answer.rows_affected() == 1))
}

/// Whether the database answers; `/readyz` reports it.
pub async fn is_reachable(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

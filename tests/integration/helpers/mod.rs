//! Shared setup: a private database per test, cloned from the template that `make test` migrates,
//! reached as the application role (and, where a test needs to show what even the owner cannot
//! do, as the owner role).

mod api;
pub mod browser;
pub mod fhir;
pub mod npm;
pub mod server_process;
pub mod subscriptions;
pub mod totp;
pub mod webhooks;

use std::time::Duration;

use hpms::foundation::config::Secret;
use hpms::foundation::db::{self, TenantScope, TenantTransaction, statement};
use hpms::foundation::role::Role;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, QueryResult, RuntimeErr,
    Statement, TransactionTrait, TryGetable, Value,
};
use url::Url;
use uuid::Uuid;

pub use api::{
    ALL_DAY_EVERY_DAY, ApiClinic, CLINIC_ROLES, Gql, TEST_PASSWORD, TEST_TOKEN_SECRET, TestApp,
    Transport, delivering_webhooks, token_claim, unique_slug,
};

/// Every table of the schema that carries a tenant_id (the catalog test proves the list complete).
pub const TENANT_TABLES: [&str; 27] = [
    "users",
    "user_sessions",
    "patients",
    "appointment_types",
    "appointments",
    "invoices",
    "journal_entries",
    "ledger_lines",
    "tenant_api_keys",
    "appointment_events",
    "appointment_event_counters",
    "audit_logs",
    "webhook_endpoints",
    "webhook_deliveries",
    // Issue 17: the clinic's week.
    "time_off",
    "provider_day_hours",
    "appointment_series",
    "patient_phi_versions",
    "care_assignments",
    "break_glass_grants",
    "mfa_factors",
    "mfa_recovery_codes",
    "mfa_policies",
    // Issue 17 item 3: cancellation reasons and fees.
    "cancellation_reasons",
    "cancellation_policies",
    // Issue 17, item 5: the waitlist.
    "waitlist_entries",
    // Issue 17, item 4: rooms.
    "rooms",
];

/// Tables the application role may UPDATE (subject to RLS), each with an assignment it may make
/// that changes nothing.
pub const UPDATABLE_TENANT_TABLES: [(&str, &str); 18] = [
    ("users", "updated_at = updated_at"),
    ("user_sessions", "refreshed_at = refreshed_at"),
    ("patients", "updated_at = updated_at"),
    ("appointment_types", "updated_at = updated_at"),
    ("appointments", "updated_at = updated_at"),
    ("invoices", "status = status"),
    ("tenant_api_keys", "last_used_at = last_used_at"),
    ("webhook_endpoints", "updated_at = updated_at"),
    // Issue 17: the clinic's week.
    ("time_off", "updated_at = updated_at"),
    ("provider_day_hours", "updated_at = updated_at"),
    ("care_assignments", "updated_at = updated_at"),
    ("mfa_factors", "updated_at = updated_at"),
    ("mfa_recovery_codes", "used_at = used_at"),
    ("mfa_policies", "updated_at = updated_at"),
    ("cancellation_reasons", "updated_at = updated_at"),
    ("cancellation_policies", "updated_at = updated_at"),
    ("waitlist_entries", "updated_at = updated_at"),
    ("rooms", "updated_at = updated_at"),
];

/// Tables whose rows are soft-deleted.
pub const SOFT_DELETABLE_TABLES: [&str; 11] = [
    "users",
    "patients",
    "appointment_types",
    "appointments",
    "webhook_endpoints",
    // Issue 17: the clinic's week.
    "time_off",
    "provider_day_hours",
    "care_assignments",
    "mfa_factors",
    "waitlist_entries",
    "rooms",
];

/// A password hash as the identity module will store it; it must never appear in audit rows.
pub const PASSWORD_HASH_MARKER: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$dGVzdC1zYWx0$TEST-HASH-MARKER";
/// Stand-in API key ciphertext; it must never appear in audit rows either.
pub const API_KEY_SECRET_MARKER: &str = "TEST-API-KEY-SECRET-MARKER";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with `make test`, which migrates the template database and sets it")
    })
}

fn with_database(url: &str, database: &str) -> String {
    let mut url = Url::parse(url).expect("database URL parses");
    url.set_path(database);
    url.to_string()
}

/// A database of this test's own, cloned from the migrated template.
pub struct TestDb {
    pub app: DatabaseConnection,
    pub owner: DatabaseConnection,
    app_url: String,
}

/// Whether every test shares the database of `DATABASE_URL` (`scripts/test_citus.sh` sets
/// `HPMS_TEST_SHARED_DATABASE=1` to run the API suite on Citus, whose databases cannot be cloned):
/// tests then keep apart by clinic, each clinic's slug made unique (`clinic_slug`).
pub fn shared_database() -> bool {
    std::env::var_os("HPMS_TEST_SHARED_DATABASE").is_some_and(|value| value == "1")
}

/// The slug a test's clinic gets: the one asked for, made unique when the database is shared.
pub fn clinic_slug(requested: &str) -> String {
    if shared_database() {
        api::unique_slug(requested)
    } else {
        requested.to_owned()
    }
}

impl TestDb {
    /// A database of this test's own, or the shared one when the suite runs on a shared database.
    pub async fn new() -> TestDb {
        if shared_database() {
            return TestDb::shared().await;
        }
        let template = env("HPMS_TEST_TEMPLATE");
        let admin_url = env("DATABASE_ADMIN_URL");
        let app_url = env("DATABASE_URL");
        let name = format!("hpms_test_{}", Uuid::new_v4().simple());

        let maintenance = db::connect(&Secret::from(with_database(&admin_url, "postgres")), 1)
            .await
            .expect("owner connects to the maintenance database");
        maintenance
            .execute_unprepared(&format!(
                r#"create database "{name}" template "{template}""#
            ))
            .await
            .expect("the template database clones");
        maintenance
            .close()
            .await
            .expect("maintenance connection closes");

        TestDb::connect(
            with_database(&app_url, &name),
            &with_database(&admin_url, &name),
        )
        .await
    }

    /// The database of `DATABASE_URL` itself, shared with every other test that uses it: a Citus
    /// database cannot be cloned from a template (its maintenance daemon holds sessions on it,
    /// and a clone would not exist on the workers), so the scale-out suite isolates its tests by
    /// clinic instead, each test making clinics of its own.
    pub async fn shared() -> TestDb {
        TestDb::connect(env("DATABASE_URL"), &env("DATABASE_ADMIN_URL")).await
    }

    /// The application role's pool and the owner's on one database.
    async fn connect(app_url: String, owner_url: &str) -> TestDb {
        TestDb {
            app: db::connect(&Secret::from(app_url.clone()), 8)
                .await
                .expect("application role connects"),
            owner: db::connect(&Secret::from(owner_url.to_owned()), 2)
                .await
                .expect("owner role connects"),
            app_url,
        }
    }

    /// The application role connected to the maintenance database, where the private cluster
    /// keeps pg_stat_statements (scripts/devdb.sh).
    pub async fn app_on_maintenance_database() -> DatabaseConnection {
        db::connect(
            &Secret::from(with_database(&env("DATABASE_URL"), "postgres")),
            1,
        )
        .await
        .expect("application role connects to the maintenance database")
    }

    /// The application role's URL for this database (for a LISTEN connection).
    pub fn app_url(&self) -> &str {
        &self.app_url
    }

    /// A transaction as the application role on behalf of `scope`, opened the server's way.
    pub async fn begin(&self, scope: TenantScope) -> TenantTransaction {
        db::begin_tenant_transaction(&self.app, &scope)
            .await
            .expect("tenant transaction opens")
    }

    /// A transaction as the application role with the platform's SystemAdmin role (which sees
    /// every clinic's `tenants` row and nothing else of theirs).
    pub async fn begin_as_platform(&self) -> TenantTransaction {
        self.begin(TenantScope::platform_work(Uuid::nil())).await
    }

    /// A transaction as the application role with no tenant setting at all.
    pub async fn begin_without_tenant(&self) -> DatabaseTransaction {
        self.app.begin().await.expect("transaction opens")
    }

    /// A transaction as the owner role on behalf of `scope`: to show what even the owner cannot do.
    pub async fn begin_as_owner(&self, scope: TenantScope) -> TenantTransaction {
        db::begin_tenant_transaction(&self.owner, &scope)
            .await
            .expect("owner transaction opens")
    }

    /// Runs each statement in a transaction of its own and asserts PostgreSQL refuses it with
    /// SQLSTATE 42501: insufficient privilege, or one of the refusal triggers.
    pub async fn assert_refused<S: AsRef<str>>(
        &self,
        actor: Actor,
        statements: impl IntoIterator<Item = S>,
    ) {
        for statement in statements {
            let statement = statement.as_ref();
            let tx = match actor {
                Actor::App(scope) => self.begin(scope).await,
                Actor::Owner(scope) => self.begin_as_owner(scope).await,
            };
            assert_sqlstate(exec(&tx, statement, []).await, "42501", statement);
        }
    }

    /// Creates a clinic with one row in every tenant table, committed. The platform onboards the
    /// clinic and its ClinicAdmin; that admin creates everything else. Each in a transaction of
    /// its own, opened the server's way (`TenantScope`), as their requests would be.
    pub async fn create_clinic(&self, slug: &str) -> Clinic {
        let tenant_id = Uuid::new_v4();
        let onboarding = self.begin(TenantScope::platform_work(tenant_id)).await;
        insert_tenant(&onboarding, tenant_id, slug).await;
        let admin_id = insert_user(
            &onboarding,
            tenant_id,
            &format!("admin@{slug}"),
            Role::ClinicAdmin,
        )
        .await;
        onboarding.commit().await.expect("onboarding commits");

        // The clinic's own admin sets the clinic up, so its audit rows name a user.
        let tx = self.begin(clinic_admin(tenant_id, admin_id)).await;
        let provider_id = insert_user(&tx, tenant_id, &format!("dr@{slug}"), Role::Provider).await;
        let patient_id = insert_patient(&tx, tenant_id, "Ada", "Lovelace").await;
        let type_id: Uuid = scalar(
            &tx,
            "insert into appointment_types (tenant_id, name, duration_minutes, price)
             values ($1, 'Consultation', 30, 80.00) returning id",
            [tenant_id.into()],
        )
        .await;
        let clinic = Clinic {
            tenant_id,
            admin_id,
            provider_id,
            patient_id,
            type_id,
        };
        let appointment_id = clinic
            .book(&tx, "2030-01-07 09:00:00+00", "2030-01-07 09:30:00+00")
            .await
            .expect("first appointment books");
        let invoice_id: Uuid = scalar(
            &tx,
            "insert into invoices (tenant_id, appointment_id, total_amount) values ($1, $2, 80.00) returning id",
            [tenant_id.into(), appointment_id.into()],
        )
        .await;
        clinic
            .post_entry(
                &tx,
                invoice_id,
                "Charge",
                None,
                &[
                    ("AccountsReceivable", "Debit", "80.00"),
                    ("Revenue", "Credit", "80.00"),
                ],
            )
            .await
            .expect("the charge posts");
        exec(
            &tx,
            "insert into tenant_api_keys (tenant_id, name, key_prefix, secret_ciphertext, scopes, created_by)
             values ($1, 'Lab partner', $2, convert_to($3, 'UTF8'), '{AppointmentEvents}', $4)",
            [
                tenant_id.into(),
                format!("hpk_{}", &slug).into(),
                API_KEY_SECRET_MARKER.into(),
                admin_id.into(),
            ],
        )
        .await
        .expect("API key inserts");
        let endpoint_id: Uuid = scalar(
            &tx,
            "insert into webhook_endpoints (tenant_id, url, event_kinds, secret_ciphertext, last_event_id, created_by)
             values ($1, 'https://partner.example.org/hooks', '{Booked}', convert_to($2, 'UTF8'), 0, $3)
             returning id",
            [
                tenant_id.into(),
                API_KEY_SECRET_MARKER.into(),
                admin_id.into(),
            ],
        )
        .await;
        exec(
            &tx,
            "insert into webhook_deliveries (tenant_id, endpoint_id, event_id, webhook_id, attempt, status_code, latency_ms, succeeded)
             values ($1, $2, 1, 'msg_fixture_1', 1, 200, 12, true)",
            [tenant_id.into(), endpoint_id.into()],
        )
        .await
        .expect("a delivery log row inserts");
        // Issue 17: the clinic's week.
        exec(
            &tx,
            "insert into time_off (tenant_id, provider_id, starts_at, ends_at, reason, created_by)
             values ($1, $2, '2030-02-04 00:00+00', '2030-02-05 00:00+00', 'Training', $3)",
            [tenant_id.into(), provider_id.into(), admin_id.into()],
        )
        .await
        .expect("time off inserts");
        exec(
            &tx,
            "insert into provider_day_hours (tenant_id, provider_id, day, periods)
             values ($1, $2, '2030-02-09', '[]')",
            [tenant_id.into(), provider_id.into()],
        )
        .await
        .expect("a day's hours insert");
        exec(
            &tx,
            "insert into appointment_series (tenant_id, patient_id, provider_id, type_id, first_start,
                                             every_weeks, weekdays, occurrences, created_by)
             values ($1, $2, $3, $4, '2030-03-04 09:00+00', 1, '{Monday}', 1, $5)",
            [
                tenant_id.into(),
                patient_id.into(),
                provider_id.into(),
                type_id.into(),
                admin_id.into(),
            ],
        )
        .await
        .expect("a series inserts");
        exec(
            &tx,
            "insert into user_sessions (tenant_id, id, user_id, credential_version,
                                        refresh_token_hash, idle_expires_at, expires_at)
             values ($1, gen_random_uuid(), $2, 1, sha256('fixture'::bytea),
                     now() + interval '30 minutes', now() + interval '12 hours')",
            [tenant_id.into(), admin_id.into()],
        )
        .await
        .expect("a session inserts");
        exec(
            &tx,
            "insert into patient_phi_versions (tenant_id, patient_id, version, changed_sections)
             values ($1, $2, 1, '{medical}')",
            [tenant_id.into(), patient_id.into()],
        )
        .await
        .expect("an earlier PHI version inserts");
        exec(
            &tx,
            "insert into care_assignments (tenant_id, patient_id, provider_id) values ($1, $2, $3)",
            [tenant_id.into(), patient_id.into(), provider_id.into()],
        )
        .await
        .expect("a care assignment inserts");
        exec(
            &tx,
            "insert into break_glass_grants (tenant_id, patient_id, user_id, reason, expires_at)
             values ($1, $2, $3, 'Fixture: covering for a colleague', now() + interval '1 hour')",
            [tenant_id.into(), patient_id.into(), provider_id.into()],
        )
        .await
        .expect("a break-glass grant inserts");
        exec(
            &tx,
            "with factor as (
               insert into mfa_factors (tenant_id, user_id, secret_ciphertext)
               values ($1, $2, 'fixture'::bytea) returning id)
             insert into mfa_recovery_codes (tenant_id, factor_id, code_hash)
             select $1, id, sha256('fixture'::bytea) from factor",
            [tenant_id.into(), admin_id.into()],
        )
        .await
        .expect("a second factor and a recovery code insert");
        exec(
            &tx,
            "insert into mfa_policies (tenant_id, required_for) values ($1, 'Nobody')",
            [tenant_id.into()],
        )
        .await
        .expect("a two-factor policy inserts");
        // Issue 17 item 3: cancellation reasons and fees.
        exec(
            &tx,
            "insert into cancellation_reasons (tenant_id, category, label)
             values ($1, 'PatientRequest', 'Patient unwell')",
            [tenant_id.into()],
        )
        .await
        .expect("a cancellation reason inserts");
        exec(
            &tx,
            "insert into cancellation_policies (tenant_id, appointment_type_id, window_hours,
                                                late_cancellation_fee, no_show_fee)
             values ($1, $2, 24, 25.00, 40.00)",
            [tenant_id.into(), type_id.into()],
        )
        .await
        .expect("a cancellation policy inserts");
        // Issue 17, item 5. Its window is long past, so no cancellation in a test frees a slot
        // it fits (which would add a SlotFreed event to that test's feed).
        exec(
            &tx,
            "insert into waitlist_entries (tenant_id, patient_id, provider_id, type_id, earliest,
                                           latest, notes, created_by)
             values ($1, $2, $3, $4, '2020-01-06 00:00+00', '2020-01-11 00:00+00', 'Fixture',
                     $5)",
            [
                tenant_id.into(),
                patient_id.into(),
                provider_id.into(),
                type_id.into(),
                admin_id.into(),
            ],
        )
        .await
        .expect("a waitlist entry inserts");
        // Issue 17, item 4.
        exec(
            &tx,
            "insert into rooms (tenant_id, name, kind) values ($1, 'Exam 1', 'Exam')",
            [tenant_id.into()],
        )
        .await
        .expect("a room inserts");
        tx.commit().await.expect("clinic commits");
        clinic
    }
}

/// Acting in clinic `tenant_id` as its ClinicAdmin `admin_id`.
fn clinic_admin(tenant_id: Uuid, admin_id: Uuid) -> TenantScope {
    TenantScope {
        tenant_id,
        user_id: Some(admin_id),
        role: Some(Role::ClinicAdmin),
        api_key_id: None,
    }
}

/// Who runs the statements of `TestDb::assert_refused`, on behalf of which clinic.
#[derive(Clone, Copy, Debug)]
pub enum Actor {
    App(TenantScope),
    Owner(TenantScope),
}

/// The ids of a clinic created by `TestDb::create_clinic`.
#[derive(Clone, Copy, Debug)]
pub struct Clinic {
    pub tenant_id: Uuid,
    pub admin_id: Uuid,
    pub provider_id: Uuid,
    pub patient_id: Uuid,
    pub type_id: Uuid,
}

impl Clinic {
    /// Acting as this clinic's ClinicAdmin.
    pub fn admin(&self) -> TenantScope {
        clinic_admin(self.tenant_id, self.admin_id)
    }

    /// Books this clinic's patient with its provider from `start` to `end` (timestamptz literals).
    pub async fn book(
        &self,
        tx: &impl ConnectionTrait,
        start: &str,
        end: &str,
    ) -> Result<Uuid, DbErr> {
        self.book_with(tx, self.provider_id, start, end).await
    }

    pub async fn book_with(
        &self,
        tx: &impl ConnectionTrait,
        provider_id: Uuid,
        start: &str,
        end: &str,
    ) -> Result<Uuid, DbErr> {
        try_scalar(
            tx,
            "insert into appointments (tenant_id, patient_id, provider_id, type_id, start_time, end_time, price)
             values ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, 80.00) returning id",
            [
                self.tenant_id.into(),
                self.patient_id.into(),
                provider_id.into(),
                self.type_id.into(),
                start.into(),
                end.into(),
            ],
        )
        .await
    }

    /// Posts a journal entry with `lines` of (account, side, amount); returns the entry id.
    pub async fn post_entry(
        &self,
        tx: &impl ConnectionTrait,
        invoice_id: Uuid,
        kind: &str,
        idempotency_key: Option<&str>,
        lines: &[(&str, &str, &str)],
    ) -> Result<Uuid, DbErr> {
        let entry_id: Uuid = try_scalar(
            tx,
            "insert into journal_entries (tenant_id, invoice_id, kind, idempotency_key) values ($1, $2, $3, $4) returning id",
            [
                self.tenant_id.into(),
                invoice_id.into(),
                kind.into(),
                idempotency_key.map(str::to_owned).into(),
            ],
        )
        .await?;
        for (account, side, amount) in lines {
            exec(
                tx,
                "insert into ledger_lines (tenant_id, entry_id, account, side, amount) values ($1, $2, $3, $4, $5::numeric)",
                [
                    self.tenant_id.into(),
                    entry_id.into(),
                    (*account).into(),
                    (*side).into(),
                    (*amount).into(),
                ],
            )
            .await?;
        }
        Ok(entry_id)
    }
}

/// Moves an appointment to `status` (with a cancel reason when cancelling); returns rows changed.
pub async fn set_status(
    tx: &impl ConnectionTrait,
    appointment_id: Uuid,
    status: &str,
) -> Result<u64, DbErr> {
    exec(
        tx,
        "update appointments
            set status = $2,
                cancel_reason = case when $2 = 'Cancelled' then 'Patient called' else cancel_reason end
          where id = $1",
        [appointment_id.into(), status.into()],
    )
    .await
}

pub async fn insert_user(
    tx: &impl ConnectionTrait,
    tenant_id: Uuid,
    username: &str,
    role: Role,
) -> Uuid {
    scalar(
        tx,
        "insert into users (tenant_id, username, password_hash, role_id) values ($1, $2, $3, $4) returning id",
        [
            tenant_id.into(),
            username.into(),
            PASSWORD_HASH_MARKER.into(),
            role.id().into(),
        ],
    )
    .await
}

pub async fn insert_patient(
    tx: &impl ConnectionTrait,
    tenant_id: Uuid,
    first: &str,
    last: &str,
) -> Uuid {
    scalar(
        tx,
        "insert into patients (tenant_id, first_name, last_name, dob, phi_data)
         values ($1, $2, $3, '1990-12-10', '\\x00ff'::bytea) returning id",
        [tenant_id.into(), first.into(), last.into()],
    )
    .await
}

/// Inserts clinic `slug`'s tenants row, in a transaction with the SystemAdmin role.
pub async fn insert_tenant(tx: &impl ConnectionTrait, tenant_id: Uuid, slug: &str) {
    exec(
        tx,
        "insert into tenants (id, name, slug) values ($1, $2, $3)",
        [
            tenant_id.into(),
            format!("Clinic {slug}").into(),
            slug.into(),
        ],
    )
    .await
    .expect("tenant inserts");
}

/// Opens every statement the tests write themselves, so the tenant predicate check
/// (`tenant_predicates.rs`), which reads what the application role sent, can tell them from the
/// server's: many deliberately leave tenant_id to row-level security.
pub const TEST_SQL_MARKER: &str = "/* test */";

/// A statement of the tests' own, marked with `TEST_SQL_MARKER`.
pub fn test_statement(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    statement(&format!("{TEST_SQL_MARKER} {sql}"), values)
}

/// Runs a statement; returns the number of rows it affected.
pub async fn exec<I: IntoIterator<Item = Value>>(
    tx: &impl ConnectionTrait,
    sql: &str,
    values: I,
) -> Result<u64, DbErr> {
    Ok(tx
        .execute_raw(test_statement(sql, values))
        .await?
        .rows_affected())
}

/// The first column of the only row a query returns, or the database's error.
pub async fn try_scalar<T: TryGetable, I: IntoIterator<Item = Value>>(
    tx: &impl ConnectionTrait,
    sql: &str,
    values: I,
) -> Result<T, DbErr> {
    let row: QueryResult = tx
        .query_one_raw(test_statement(sql, values))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(sql.to_owned()))?;
    row.try_get_by_index(0)
}

/// The first column of the only row a query returns; the test fails if the query does.
pub async fn scalar<T: TryGetable, I: IntoIterator<Item = Value>>(
    tx: &impl ConnectionTrait,
    sql: &str,
    values: I,
) -> T {
    try_scalar(tx, sql, values)
        .await
        .unwrap_or_else(|error| panic!("query failed: {sql}: {error}"))
}

/// `select count(*)` of a table, as seen by `tx`.
pub async fn count(tx: &impl ConnectionTrait, table: &str) -> i64 {
    scalar(tx, &format!("select count(*) from {table}"), []).await
}

/// The SQLSTATE of a database error ("42501", "23P01", …), if it came from PostgreSQL.
pub fn sqlstate(error: &DbErr) -> Option<String> {
    match error {
        DbErr::Exec(RuntimeErr::SqlxError(inner))
        | DbErr::Query(RuntimeErr::SqlxError(inner))
        | DbErr::Conn(RuntimeErr::SqlxError(inner)) => inner
            .as_database_error()
            .and_then(|database_error| database_error.code().map(|code| code.into_owned())),
        _ => None,
    }
}

/// The constraint a database error names, if any.
pub fn violated_constraint(error: &DbErr) -> Option<String> {
    match error {
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => {
            inner
                .as_database_error()
                .and_then(|database_error| database_error.constraint().map(str::to_owned))
        }
        _ => None,
    }
}

/// Asserts that `result` failed with `expected` SQLSTATE.
#[track_caller]
pub fn assert_sqlstate<T: std::fmt::Debug>(result: Result<T, DbErr>, expected: &str, what: &str) {
    match result {
        Ok(value) => {
            panic!("{what}: expected SQLSTATE {expected}, but it succeeded with {value:?}")
        }
        Err(error) => assert_eq!(
            sqlstate(&error).as_deref(),
            Some(expected),
            "{what}: expected SQLSTATE {expected}, got {error}"
        ),
    }
}

/// Waits until `count` application-role sessions of this database are blocked on a lock: proof
/// that concurrent transactions really collided. No event announces a lock wait, so this polls
/// pg_stat_activity (visible to the role for its own sessions).
pub async fn wait_for_blocked_sessions(db: &TestDb, count: i64) {
    // On Citus a row's lock is taken on the worker holding it, an advisory lock on the
    // coordinator: both are counted, the workers' through citus_stat_activity.
    let on_citus: bool = scalar(
        &db.app,
        "select to_regclass('pg_catalog.citus_stat_activity') is not null",
        [],
    )
    .await;
    let local = "select count(*) from pg_stat_activity
                  where datname = current_database() and wait_event_type = 'Lock'";
    let blocked_sessions = if on_citus {
        format!(
            "select ({local}) + (select count(*) from citus_stat_activity activity
                                   join pg_dist_node node using (nodeid)
                                  where node.groupid <> 0 and activity.datname = current_database()
                                    and activity.wait_event_type = 'Lock')"
        )
    } else {
        local.to_owned()
    };
    eventually(
        &format!("{count} session(s) blocked on a lock"),
        Duration::from_secs(10),
        || async {
            let blocked: i64 = scalar(&db.app, &blocked_sessions, []).await;
            if blocked >= count {
                Ok(())
            } else {
                Err(format!("{blocked} blocked"))
            }
        },
    )
    .await
}

/// The tests that put the machine under load for their figures (a thousand subscribers, a
/// burst of five hundred webhooks, a server killed mid-burst) take turns: on two cores, two of
/// them at once would starve each other's timeouts and distort each other's figures. Hold the
/// permit for the whole test.
pub async fn load_test_turn() -> tokio::sync::SemaphorePermit<'static> {
    static TURN: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    TURN.acquire().await.expect("the semaphore is never closed")
}

/// How long `eventually` waits between two looks.
const EVENTUALLY_EVERY: Duration = Duration::from_millis(20);

/// Looks at `condition` until it holds and returns what it found, looking again every 20 ms;
/// once `within` has passed, fails the test naming `what` was awaited and what the last look saw.
/// For what a test cannot await because nothing announces it (a session blocked on a lock, a
/// reconnection inside the server, a close the server has yet to notice); whatever can be awaited
/// is awaited instead. The bound is for a broken test, not a pause.
pub async fn eventually<C, F>(
    what: &str,
    within: Duration,
    mut condition: C,
) -> <F::Output as Look>::Found
where
    C: FnMut() -> F,
    F: Future,
    F::Output: Look,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let seen = match condition().await.found() {
            Ok(found) => return found,
            Err(seen) => seen,
        };
        if tokio::time::Instant::now() >= deadline {
            panic!("{what}: still not so after {within:?} (last look: {seen})");
        }
        tokio::time::sleep(EVENTUALLY_EVERY).await;
    }
}

/// What one look of `eventually` saw: `true` or `Ok(found)` when the awaited thing has happened;
/// `false` or `Err(what it saw instead)`, for the failure message, when it has not yet.
pub trait Look {
    type Found;
    fn found(self) -> Result<Self::Found, String>;
}

impl Look for bool {
    type Found = ();
    fn found(self) -> Result<(), String> {
        if self {
            Ok(())
        } else {
            Err("not yet".to_owned())
        }
    }
}

impl<T, E: std::fmt::Display> Look for Result<T, E> {
    type Found = T;
    fn found(self) -> Result<T, String> {
        self.map_err(|seen| seen.to_string())
    }
}

//! The foundation: every table of the data model (README.md maps them to the seed's names) and
//! the SQL that makes PostgreSQL enforce the invariants of DESIGN.md.

use sea_orm_migration::prelude::*;

use crate::columns::{flag, identity_key, money, text, timestamp_now, uuid, uuid_key};
use crate::tenant_table::{Lifecycle, TenantTable, Tenants};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Roles {
    Table,
    Id,
    Name,
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    Id,
    EntityName,
    EntityId,
    UserId,
    Action,
    OldValues,
    NewValues,
    OccurredAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    PasswordHash,
    RoleId,
    IsActive,
}

#[derive(DeriveIden)]
enum Patients {
    Table,
    Id,
    FirstName,
    LastName,
    Dob,
    PhiData,
}

#[derive(DeriveIden)]
enum AppointmentTypes {
    Table,
    Id,
    Name,
    DurationMinutes,
    Price,
}

#[derive(DeriveIden)]
enum Appointments {
    Table,
    Id,
    PatientId,
    ProviderId,
    TypeId,
    StartTime,
    EndTime,
    Status,
    CancelReason,
    Price,
    RowVersion,
}

#[derive(DeriveIden)]
enum Invoices {
    Table,
    Id,
    AppointmentId,
    TotalAmount,
    Status,
}

#[derive(DeriveIden)]
enum JournalEntries {
    Table,
    Id,
    InvoiceId,
    Kind,
    IdempotencyKey,
    Memo,
    CreatedBy,
    PostedInTransaction,
}

#[derive(DeriveIden)]
enum LedgerLines {
    Table,
    Id,
    EntryId,
    Account,
    Side,
    Amount,
}

#[derive(DeriveIden)]
enum TenantApiKeys {
    Table,
    Id,
    Name,
    KeyPrefix,
    SecretCiphertext,
    Scopes,
    CreatedBy,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AppointmentEvents {
    Table,
    Id,
    AppointmentId,
    ProviderId,
    OldStatus,
    NewStatus,
    OccurredAt,
}

#[derive(DeriveIden)]
enum AppointmentEventCounters {
    Table,
    LastEventId,
}

const PREPARE: &str = "
create schema if not exists extensions;
create extension if not exists btree_gist schema extensions;
-- Functions are created executable by nobody but their owner; grants.sql opens what is needed.
-- (Global, not per schema: a per-schema default cannot take back the global PUBLIC grant.)
alter default privileges revoke execute on functions from public;
";

/// Indexes beyond the primary keys and unique constraints; on tenant tables every one leads with
/// tenant_id.
const INDEXES: &str = "
create unique index tenants_one_platform on tenants (is_platform) where is_platform;
create unique index users_username_key on users (tenant_id, username) where not is_deleted;
create unique index appointment_types_name_key on appointment_types (tenant_id, name) where not is_deleted;
create index appointments_start_time_idx on appointments (tenant_id, start_time);
create index appointments_patient_idx on appointments (tenant_id, patient_id, start_time);
create index journal_entries_invoice_idx on journal_entries (tenant_id, invoice_id);
create index ledger_lines_entry_idx on ledger_lines (tenant_id, entry_id);
create index audit_logs_occurred_at_idx on audit_logs (tenant_id, occurred_at desc);
create index audit_logs_entity_idx on audit_logs (tenant_id, entity_name, entity_id);
";

const STATUSES: &str = "'Scheduled', 'Arrived', 'InSession', 'Completed', 'NoShow', 'Cancelled'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(PREPARE).await?;

        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(uuid_key(Tenants::Id).primary_key())
                    .col(
                        text(Tenants::Name)
                            .check(Expr::cust("length(btrim(name)) between 1 and 255")),
                    )
                    .col(
                        text(Tenants::Slug)
                            .unique_key()
                            .check(Expr::cust("slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'")),
                    )
                    .col(flag(Tenants::IsActive, true))
                    // The one tenant that holds the SystemAdmin accounts (this migration's identity.sql).
                    .col(flag(Tenants::IsPlatform, false))
                    // An IANA zone name; the clinic's schedule (working hours, days) is read in it.
                    .col(text(Tenants::TimeZone).default("UTC"))
                    .col(timestamp_now(Tenants::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Roles::Table)
                    .col(ColumnDef::new(Roles::Id).small_integer().primary_key())
                    .col(text(Roles::Name).unique_key())
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "insert into roles (id, name) values
               (1, 'SystemAdmin'), (2, 'ClinicAdmin'), (3, 'Provider'), (4, 'BillingManager'), (5, 'FrontDesk')",
        )
        .await?;

        // audit_logs is protected by this migration's audit.sql rather than protect_tenant_table(): it
        // is the audit trail itself, readable by its clinic but appended to only by the audit trigger.
        manager
            .create_table(
                Table::create()
                    .table(AuditLogs::Table)
                    .col(uuid(Alias::new("tenant_id")))
                    .col(identity_key(AuditLogs::Id))
                    .col(text(AuditLogs::EntityName))
                    .col(text(AuditLogs::EntityId))
                    .col(ColumnDef::new(AuditLogs::UserId).uuid())
                    .col(text(AuditLogs::Action).check(Expr::cust(
                        "action in ('Create', 'Update', 'Delete', 'Read')",
                    )))
                    .col(ColumnDef::new(AuditLogs::OldValues).json_binary())
                    .col(ColumnDef::new(AuditLogs::NewValues).json_binary())
                    .col(timestamp_now(AuditLogs::OccurredAt))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("tenant_id"))
                            .col(AuditLogs::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_col(Alias::new("tenant_id"))
                            .to(Tenants::Table, Tenants::Id),
                    )
                    .to_owned(),
            )
            .await?;

        db.execute_unprepared(include_str!(
            "../../sql/m20261126_000001_foundation/rls.sql"
        ))
        .await?;
        db.execute_unprepared(include_str!(
            "../../sql/m20261126_000001_foundation/audit.sql"
        ))
        .await?;

        TenantTable::new(Users::Table)
            .col(uuid_key(Users::Id))
            .col(text(Users::Username))
            .col(text(Users::PasswordHash))
            .col(ColumnDef::new(Users::RoleId).small_integer().not_null())
            .col(flag(Users::IsActive, true))
            .check("username = lower(username) and username ~ '^[a-z0-9._@-]{1,100}$'")
            .references_global(Users::RoleId, Roles::Table, Roles::Id)
            .soft_deletable()
            .create(manager)
            .await?;

        TenantTable::new(Patients::Table)
            .col(uuid_key(Patients::Id))
            .col(text(Patients::FirstName))
            .col(text(Patients::LastName))
            .col(ColumnDef::new(Patients::Dob).date().not_null())
            .col(ColumnDef::new(Patients::PhiData).binary())
            .check("length(btrim(first_name)) between 1 and 100")
            .check("length(btrim(last_name)) between 1 and 100")
            .soft_deletable()
            .create(manager)
            .await?;

        TenantTable::new(AppointmentTypes::Table)
            .col(uuid_key(AppointmentTypes::Id))
            .col(text(AppointmentTypes::Name))
            .col(
                ColumnDef::new(AppointmentTypes::DurationMinutes)
                    .integer()
                    .not_null(),
            )
            .col(money(AppointmentTypes::Price))
            .check("length(btrim(name)) between 1 and 100")
            .check("duration_minutes between 5 and 720")
            .check("price >= 0")
            .soft_deletable()
            .create(manager)
            .await?;

        TenantTable::new(Appointments::Table)
            .col(uuid_key(Appointments::Id))
            .col(uuid(Appointments::PatientId))
            .col(uuid(Appointments::ProviderId))
            .col(uuid(Appointments::TypeId))
            .col(
                ColumnDef::new(Appointments::StartTime)
                    .timestamp_with_time_zone()
                    .not_null(),
            )
            .col(
                ColumnDef::new(Appointments::EndTime)
                    .timestamp_with_time_zone()
                    .not_null(),
            )
            .col(text(Appointments::Status).default("Scheduled"))
            .col(ColumnDef::new(Appointments::CancelReason).text())
            // The type's price when booked: the invoice bills what was agreed, not today's price.
            .col(money(Appointments::Price))
            .col(
                ColumnDef::new(Appointments::RowVersion)
                    .big_integer()
                    .not_null()
                    .default(1),
            )
            .check("end_time > start_time")
            .check(&format!("status in ({STATUSES})"))
            .check("(status = 'Cancelled') = (cancel_reason is not null)")
            .check("cancel_reason is null or length(btrim(cancel_reason)) between 1 and 500")
            .check("price >= 0")
            .references(Appointments::PatientId, Patients::Table)
            .references(Appointments::ProviderId, Users::Table)
            .references(Appointments::TypeId, AppointmentTypes::Table)
            .soft_deletable()
            .create(manager)
            .await?;

        // Invoices are voided, never deleted: no is_deleted, and DELETE is refused.
        TenantTable::new(Invoices::Table)
            .col(uuid_key(Invoices::Id))
            .col(uuid(Invoices::AppointmentId))
            .col(money(Invoices::TotalAmount))
            .col(text(Invoices::Status).default("Open"))
            .col(timestamp_now(Lifecycle::CreatedAt))
            .col(timestamp_now(Lifecycle::UpdatedAt))
            .check("total_amount >= 0")
            .check("status in ('Draft', 'Open', 'Paid', 'Void')")
            .references(Invoices::AppointmentId, Appointments::Table)
            .unique_per_tenant("invoices_one_per_appointment", Invoices::AppointmentId)
            .create(manager)
            .await?;

        TenantTable::new(JournalEntries::Table)
            .col(uuid_key(JournalEntries::Id))
            .col(uuid(JournalEntries::InvoiceId))
            .col(text(JournalEntries::Kind))
            .col(ColumnDef::new(JournalEntries::IdempotencyKey).text())
            .col(ColumnDef::new(JournalEntries::Memo).text())
            .col(ColumnDef::new(JournalEntries::CreatedBy).uuid())
            // Set by this migration's ledger.sql: lines may join an entry only in the transaction that posts it.
            .col(
                ColumnDef::new(JournalEntries::PostedInTransaction)
                    .custom(Alias::new("xid8"))
                    .not_null()
                    .default(Expr::cust("pg_current_xact_id()")),
            )
            .col(timestamp_now(Lifecycle::CreatedAt))
            .check("kind in ('Charge', 'Payment', 'Refund', 'WriteOff', 'Void')")
            .check("idempotency_key is null or length(idempotency_key) between 1 and 200")
            // Money moving in or out must be retry-safe: the key records it once.
            .check("kind not in ('Payment', 'Refund') or idempotency_key is not null")
            .check("memo is null or length(memo) <= 500")
            .references(JournalEntries::InvoiceId, Invoices::Table)
            .references(JournalEntries::CreatedBy, Users::Table)
            .unique_per_tenant(
                "journal_entries_idempotency_key",
                JournalEntries::IdempotencyKey,
            )
            .create(manager)
            .await?;

        TenantTable::new(LedgerLines::Table)
            .col(identity_key(LedgerLines::Id))
            .col(uuid(LedgerLines::EntryId))
            .col(text(LedgerLines::Account))
            .col(text(LedgerLines::Side))
            .col(money(LedgerLines::Amount))
            .col(timestamp_now(Lifecycle::CreatedAt))
            .check("account in ('AccountsReceivable', 'Revenue', 'Cash', 'BadDebt')")
            .check("side in ('Debit', 'Credit')")
            .check("amount > 0")
            .references(LedgerLines::EntryId, JournalEntries::Table)
            .create(manager)
            .await?;

        // Partner API keys: several live keys per clinic, so a partner can move to a new key
        // before the old one is revoked (rotation with overlap).
        TenantTable::new(TenantApiKeys::Table)
            .col(uuid_key(TenantApiKeys::Id))
            .col(text(TenantApiKeys::Name))
            .col(text(TenantApiKeys::KeyPrefix))
            .col(
                ColumnDef::new(TenantApiKeys::SecretCiphertext)
                    .binary()
                    .not_null(),
            )
            .col(
                ColumnDef::new(TenantApiKeys::Scopes)
                    .array(ColumnType::Text)
                    .not_null()
                    .default(Expr::cust("'{}'")),
            )
            .col(ColumnDef::new(TenantApiKeys::CreatedBy).uuid())
            .col(timestamp_now(Lifecycle::CreatedAt))
            .col(ColumnDef::new(TenantApiKeys::LastUsedAt).timestamp_with_time_zone())
            .col(ColumnDef::new(TenantApiKeys::RevokedAt).timestamp_with_time_zone())
            .check("length(btrim(name)) between 1 and 100")
            .references(TenantApiKeys::CreatedBy, Users::Table)
            .unique_per_tenant("tenant_api_keys_prefix_key", TenantApiKeys::KeyPrefix)
            .create(manager)
            .await?;

        // id is the clinic's own event number (1, 2, 3, …) handed out by the trigger in this
        // migration's events.sql; it is the cursor partners resume from.
        TenantTable::new(AppointmentEvents::Table)
            .col(
                ColumnDef::new(AppointmentEvents::Id)
                    .big_integer()
                    .not_null(),
            )
            .col(uuid(AppointmentEvents::AppointmentId))
            .col(uuid(AppointmentEvents::ProviderId))
            .col(ColumnDef::new(AppointmentEvents::OldStatus).text())
            .col(text(AppointmentEvents::NewStatus))
            .col(timestamp_now(AppointmentEvents::OccurredAt))
            .references(AppointmentEvents::AppointmentId, Appointments::Table)
            .create(manager)
            .await?;

        TenantTable::one_row_per_tenant(AppointmentEventCounters::Table)
            .col(
                ColumnDef::new(AppointmentEventCounters::LastEventId)
                    .big_integer()
                    .not_null(),
            )
            .create(manager)
            .await?;

        db.execute_unprepared(INDEXES).await?;
        db.execute_unprepared(include_str!(
            "../../sql/m20261126_000001_foundation/identity.sql"
        ))
        .await?;
        db.execute_unprepared(include_str!(
            "../../sql/m20261126_000001_foundation/scheduling.sql"
        ))
        .await?;
        db.execute_unprepared(include_str!(
            "../../sql/m20261126_000001_foundation/ledger.sql"
        ))
        .await?;
        db.execute_unprepared(include_str!(
            "../../sql/m20261126_000001_foundation/events.sql"
        ))
        .await?;
        db.execute_unprepared(include_str!(
            "../../sql/m20261126_000001_foundation/grants.sql"
        ))
        .await?;
        Ok(())
    }
}

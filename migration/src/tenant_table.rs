//! The one way a table becomes a tenant table.
//!
//! `create` declares the table with `tenant_id` (referencing `tenants`) and a primary key that
//! leads with it, then hands the table to the SQL helper `protect_tenant_table`
//! (sql/m20261126_000001_foundation/rls.sql):
//! forced RLS with the fail-closed policy, the audit trigger, soft delete or delete refusal, and
//! truncate refusal. Every table with a tenant_id is created this way except `audit_logs`, the
//! audit trail itself, which sql/m20261126_000001_foundation/audit.sql protects by hand;
//! tests/integration/schema_catalog.rs checks them all.

use sea_orm_migration::prelude::*;

use crate::columns::{flag, timestamp_now};

/// The global table of clinics: the one table every tenant table references.
#[derive(DeriveIden)]
pub enum Tenants {
    Table,
    Id,
    Name,
    Slug,
    IsActive,
    IsPlatform,
    TimeZone,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TenantColumn {
    TenantId,
}

/// Bookkeeping columns most tables carry.
#[derive(DeriveIden)]
pub enum Lifecycle {
    IsDeleted,
    CreatedAt,
    UpdatedAt,
}

/// A tenant table under construction: add columns, checks and composite foreign keys, then `create`.
pub struct TenantTable {
    name: DynIden,
    statement: TableCreateStatement,
}

impl TenantTable {
    /// Starts a table of many rows per clinic, keyed by `(tenant_id, id)`; the caller adds `id`.
    pub fn new<T: IntoIden>(name: T) -> Self {
        Self::keyed(name, Some(Alias::new("id").into_iden()))
    }

    /// Starts a table of at most one row per clinic, keyed by `tenant_id` alone.
    pub fn one_row_per_tenant<T: IntoIden>(name: T) -> Self {
        Self::keyed(name, None)
    }

    fn keyed<T: IntoIden>(name: T, id: Option<DynIden>) -> Self {
        let name = name.into_iden();
        let mut primary_key = Index::create();
        primary_key.col(TenantColumn::TenantId);
        if let Some(id) = id {
            primary_key.col(id);
        }
        let mut statement = Table::create();
        statement
            .table(name.clone())
            .col(ColumnDef::new(TenantColumn::TenantId).uuid().not_null())
            .primary_key(&mut primary_key)
            .foreign_key(
                ForeignKey::create()
                    .from_col(TenantColumn::TenantId)
                    .to(Tenants::Table, Tenants::Id),
            );
        Self { name, statement }
    }

    pub fn col<C: IntoColumnDef>(mut self, column: C) -> Self {
        self.statement.col(column);
        self
    }

    /// Adds `is_deleted`, `created_at` and `updated_at`. With `is_deleted` present,
    /// protect_tenant_table() turns DELETE into a soft delete instead of refusing it.
    pub fn soft_deletable(self) -> Self {
        self.col(flag(Lifecycle::IsDeleted, false))
            .col(timestamp_now(Lifecycle::CreatedAt))
            .col(timestamp_now(Lifecycle::UpdatedAt))
    }

    pub fn check(mut self, expression: &str) -> Self {
        self.statement.check(Expr::cust(expression.to_owned()));
        self
    }

    /// A named unique constraint on `(tenant_id, column)`: unique within a clinic, never across
    /// clinics (which also keeps it within Citus' rules).
    pub fn unique_per_tenant<C: IntoIden>(mut self, name: &str, column: C) -> Self {
        self.statement.index(
            Index::create()
                .name(name)
                .unique()
                .col(TenantColumn::TenantId)
                .col(column),
        );
        self
    }

    /// A foreign key to another tenant table: always `(tenant_id, column) → target(tenant_id, id)`,
    /// so a row can never point at another clinic's row, even by a guessed id (foreign-key
    /// checks bypass RLS).
    pub fn references<C: IntoIden, T: IntoIden>(mut self, column: C, target: T) -> Self {
        self.statement.foreign_key(
            ForeignKey::create()
                .from_col(TenantColumn::TenantId)
                .from_col(column)
                .to_tbl(target)
                .to_col(TenantColumn::TenantId)
                .to_col(Alias::new("id")),
        );
        self
    }

    /// A foreign key to a global table (such as `roles`), which has no tenant_id.
    pub fn references_global<C: IntoIden, T: IntoIden, R: IntoIden>(
        mut self,
        column: C,
        target: T,
        target_column: R,
    ) -> Self {
        self.statement.foreign_key(
            ForeignKey::create()
                .from_col(column)
                .to_tbl(target)
                .to_col(target_column),
        );
        self
    }

    /// Creates the table and protects it.
    pub async fn create(self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        manager.create_table(self.statement).await?;
        manager
            .get_connection()
            .execute_unprepared(&format!("select protect_tenant_table('{}')", self.name))
            .await?;
        Ok(())
    }
}

//! The tenant settings travel as `SET LOCAL` (Citus forwards it, not `set_config`), so
//! `open_request()` goes
//! (`sql/m20261127_000007_request_scope_set_local/request_scope_set_local.sql`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261127_000007_request_scope_set_local/request_scope_set_local.sql"
            ))
            .await?;
        Ok(())
    }
}

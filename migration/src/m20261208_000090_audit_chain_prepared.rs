//! The audit chain's trigger reads a clinic's last row with a statement PL/pgSQL prepares once,
//! rather than one parsed and planned on every insert (`sql/m20261208_000090_audit_chain_prepared/`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261208_000090_audit_chain_prepared/audit_chain_prepared.sql"
            ))
            .await?;
        Ok(())
    }
}

//! Audit snapshots leave out a webhook endpoint's previous sealed secret too
//! (`sql/m20261203_000011_webhook_audit_secrets/audit_snapshot.sql`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261203_000011_webhook_audit_secrets/audit_snapshot.sql"
            ))
            .await?;
        Ok(())
    }
}

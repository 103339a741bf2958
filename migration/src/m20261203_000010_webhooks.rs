//! Webhook endpoints, their delivery state and leases, and the delivery log
//! (`sql/m20261203_000010_webhooks/webhooks.sql`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261203_000010_webhooks/webhooks.sql"
            ))
            .await?;
        Ok(())
    }
}

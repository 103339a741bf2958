//! What the partner integration needs: the API-key lookup and the `access_revoked` notifications
//! that end open subscriptions (`sql/m20261126_000005_partner_api/api_keys.sql`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261126_000005_partner_api/api_keys.sql"
            ))
            .await?;
        Ok(())
    }
}

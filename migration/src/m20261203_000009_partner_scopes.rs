//! API-key scopes for reading appointments and the contact details of their patients, and audit
//! rows that name the key acting (`sql/m20261203_000009_partner_scopes/partner_scopes.sql`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261203_000009_partner_scopes/partner_scopes.sql"
            ))
            .await?;
        Ok(())
    }
}

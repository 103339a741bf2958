//! Opening a clinic's transaction and checking the token in one statement
//! (`sql/m20261126_000006_request_scope/request_scope.sql`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261126_000006_request_scope/request_scope.sql"
            ))
            .await?;
        Ok(())
    }
}

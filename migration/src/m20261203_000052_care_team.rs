//! Care-team access with break-glass: which providers are assigned to which patients, and the
//! time-boxed grants a provider takes, with a reason, to read anyone else's medical data
//! (`sql/m20261203_000052_care_team/`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261203_000052_care_team/care_team.sql"
            ))
            .await?;
        Ok(())
    }
}

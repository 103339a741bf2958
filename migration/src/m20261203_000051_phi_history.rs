//! PHI history: the earlier versions of every patient's contact and medical data, kept sealed and
//! append-only (`sql/m20261203_000051_phi_history/`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261203_000051_phi_history/phi_history.sql"
            ))
            .await?;
        Ok(())
    }
}

//! The clinic's week: providers' time off and clinic closures, one-day changes to a provider's
//! hours, recurring series, and the overrides a booking records
//! (`sql/m20261203_000030_clinic_week/`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261203_000030_clinic_week/clinic_week.sql"
            ))
            .await?;
        Ok(())
    }
}

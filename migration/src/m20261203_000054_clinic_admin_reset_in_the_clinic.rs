//! A SystemAdmin's reset of a clinic's ClinicAdmin is audited in the clinic's own trail, by the
//! function that makes it, so the reset writes to one clinic's shards only
//! (`sql/m20261203_000054_clinic_admin_reset_in_the_clinic/`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261203_000054_clinic_admin_reset_in_the_clinic/reset_in_the_clinic.sql"
            ))
            .await?;
        Ok(())
    }
}

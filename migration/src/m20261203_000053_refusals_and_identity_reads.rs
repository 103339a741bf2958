//! A complete audit trail: refusals (FORBIDDEN) recorded as `Refused` rows by the refused
//! principal, and reads of patients' identity as one `Read` row per request listing the patients
//! (`sql/m20261203_000053_refusals_and_identity_reads/`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261203_000053_refusals_and_identity_reads/refusals.sql"
            ))
            .await?;
        Ok(())
    }
}

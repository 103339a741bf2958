//! Cancellation reasons and fees: each clinic's list of reasons, a cancellation policy per
//! appointment type (window, late-cancellation fee, no-show fee), the reason an appointment was
//! cancelled for, and the kind of an invoice (`sql/m20261207_000055_cancellation_fees/`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261207_000055_cancellation_fees/cancellation_fees.sql"
            ))
            .await?;
        Ok(())
    }
}

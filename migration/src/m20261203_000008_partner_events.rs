//! Events that say what happened: each appointment event names its kind, the patient, type and
//! times (before and after, for a reschedule, which now records one), the cancellation's category
//! and reason, and whether a user, an API key or the server acted; appointments keep the
//! cancellation's category (`sql/m20261203_000008_partner_events/partner_events.sql`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261203_000008_partner_events/partner_events.sql"
            ))
            .await?;
        Ok(())
    }
}

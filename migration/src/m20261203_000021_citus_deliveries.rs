//! What Citus needs to deliver what HPMS sends: webhook endpoints claimed clinic by clinic, the
//! delivery log pruned with a setting the shards see, and revocation notices sent from a
//! transaction that may notify (`sql/m20261203_000021_citus_deliveries/`). Nothing changes on one
//! PostgreSQL.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            include_str!("../../sql/m20261203_000021_citus_deliveries/claims_per_clinic.sql"),
            include_str!(
                "../../sql/m20261203_000021_citus_deliveries/revocations_sent_where_they_commit.sql"
            ),
            include_str!(
                "../../sql/m20261203_000021_citus_deliveries/pruning_seen_by_the_shards.sql"
            ),
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}

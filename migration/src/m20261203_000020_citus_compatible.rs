//! What a real Citus cluster needs of the schema, without changing it for one PostgreSQL: audit
//! rows written where Citus runs the trigger, sign-in and key lookups Citus can plan, and the
//! audit of PHI reads written by the reader under a policy of its own
//! (`sql/m20261203_000020_citus_compatible/`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            include_str!("../../sql/m20261203_000020_citus_compatible/audit_on_shards.sql"),
            include_str!("../../sql/m20261203_000020_citus_compatible/lookups_citus_can_plan.sql"),
            include_str!(
                "../../sql/m20261203_000020_citus_compatible/reads_recorded_by_the_reader.sql"
            ),
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}

//! The waitlist: patients waiting for an earlier slot, and the SlotFreed event that announces a
//! freed slot one of them fits, without naming anyone (`sql/m20261207_000070_waitlist/`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(include_str!(
            "../../sql/m20261207_000070_waitlist/waitlist.sql"
        ))
        .await?;
        db.execute_unprepared(include_str!(
            "../../sql/m20261207_000070_waitlist/slot_freed.sql"
        ))
        .await?;
        Ok(())
    }
}

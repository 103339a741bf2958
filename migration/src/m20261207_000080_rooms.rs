//! Rooms and equipment: a clinic's rooms with their kind, the room kind an appointment type
//! requires, and the room an appointment holds, which the database refuses to double-book
//! (`sql/m20261207_000080_rooms/`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!("../../sql/m20261207_000080_rooms/rooms.sql"))
            .await?;
        Ok(())
    }
}

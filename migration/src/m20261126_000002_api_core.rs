//! What the GraphQL API core needs beyond the foundation: the sign-in lookup and onboarding
//! policy (`sql/login.sql`) and indexed accent-insensitive patient search
//! (`sql/patient_search.sql`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(include_str!("../../sql/login.sql"))
            .await?;
        db.execute_unprepared(include_str!("../../sql/patient_search.sql"))
            .await?;
        Ok(())
    }
}

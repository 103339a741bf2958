//! What the GraphQL API core needs beyond the foundation: the sign-in lookup and onboarding
//! (`sql/login.sql`), indexed accent-insensitive patient search (`sql/patient_search.sql`) and
//! Read audit rows that say which PHI sections were shown (`sql/audit_reads.sql`).

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
        db.execute_unprepared(include_str!("../../sql/audit_reads.sql"))
            .await?;
        Ok(())
    }
}

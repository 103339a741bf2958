//! What the GraphQL API core needs beyond the foundation: the sign-in lookup and onboarding
//! (`login.sql`), indexed accent-insensitive patient search (`patient_search.sql`) and Read
//! audit rows that say which PHI sections were shown (`audit_reads.sql`), all three in
//! `sql/m20261126_000002_api_core/`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(include_str!(
            "../../sql/m20261126_000002_api_core/login.sql"
        ))
        .await?;
        db.execute_unprepared(include_str!(
            "../../sql/m20261126_000002_api_core/patient_search.sql"
        ))
        .await?;
        db.execute_unprepared(include_str!(
            "../../sql/m20261126_000002_api_core/audit_reads.sql"
        ))
        .await?;
        Ok(())
    }
}

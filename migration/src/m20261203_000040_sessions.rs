//! Sessions with rotating refresh tokens, accounts whose password must be changed, clinic
//! suspensions that end sessions for good, a SystemAdmin's reset of a clinic's ClinicAdmin, and the
//! security events of the audit trail (`sql/m20261203_000040_sessions/`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            include_str!("../../sql/m20261203_000040_sessions/accounts.sql"),
            include_str!("../../sql/m20261203_000040_sessions/sessions.sql"),
            include_str!("../../sql/m20261203_000040_sessions/security_events.sql"),
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}

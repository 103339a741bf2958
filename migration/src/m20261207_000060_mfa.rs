//! Two-factor sign-in: users' TOTP factors (secrets sealed by the server), their one-time
//! recovery codes, and each clinic's policy of who must have one (`sql/m20261207_000060_mfa/`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(include_str!("../../sql/m20261207_000060_mfa/mfa.sql"))
            .await?;
        db.execute_unprepared(include_str!(
            "../../sql/m20261207_000060_mfa/security_events.sql"
        ))
        .await?;
        Ok(())
    }
}

//! Tamper evidence for the audit trail: each clinic's `audit_logs` rows form a hash chain, each
//! row's hash covering its content and the previous row's hash, computed by a trigger that every
//! insert passes (`sql/m20261203_000050_audit_hash_chain/`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!(
                "../../sql/m20261203_000050_audit_hash_chain/audit_hash_chain.sql"
            ))
            .await?;
        Ok(())
    }
}

//! HPMS schema migrations.
//!
//! Tables are declared with SeaQuery; row-level security, triggers and functions live in the
//! hand-written files of `../sql`, included at compile time. Migrations run as the owner role and
//! never import the application's entities. An applied migration is never edited: change the
//! schema with a new one. `migration/checksums.txt` freezes every applied migration's files and a
//! test here (checksums.rs) fails when one changes or a registered migration has no lines in it;
//! `schema.sql` at the top of the repository is the schema they add up to.

pub use sea_orm_migration::prelude::*;

#[cfg(test)]
mod checksums;
mod columns;
mod m20261126_000001_foundation;
mod m20261126_000002_api_core;
mod m20261126_000003_scheduling_api;
mod m20261126_000004_billing_api;
mod m20261126_000005_partner_api;
mod m20261126_000006_request_scope;
mod m20261127_000007_request_scope_set_local;
mod m20261203_000008_partner_events;
mod m20261203_000009_partner_scopes;
mod m20261203_000010_webhooks;
mod m20261203_000011_webhook_audit_secrets;
mod m20261203_000020_citus_compatible;
mod m20261203_000021_citus_deliveries;
mod m20261203_000030_clinic_week;
mod m20261203_000040_sessions;
mod m20261203_000050_audit_hash_chain;
mod m20261203_000051_phi_history;
mod m20261203_000052_care_team;
mod m20261203_000053_refusals_and_identity_reads;
mod m20261203_000054_clinic_admin_reset_in_the_clinic;
mod m20261207_000055_cancellation_fees;
mod m20261207_000060_mfa;
mod m20261207_000070_waitlist;
mod m20261207_000080_rooms;
mod m20261208_000090_audit_chain_prepared;
mod tenant_table;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_foundation::Migration),
            Box::new(m20261126_000002_api_core::Migration),
            Box::new(m20261126_000003_scheduling_api::Migration),
            Box::new(m20261126_000004_billing_api::Migration),
            Box::new(m20261126_000005_partner_api::Migration),
            Box::new(m20261126_000006_request_scope::Migration),
            Box::new(m20261127_000007_request_scope_set_local::Migration),
            Box::new(m20261203_000008_partner_events::Migration),
            Box::new(m20261203_000009_partner_scopes::Migration),
            Box::new(m20261203_000010_webhooks::Migration),
            Box::new(m20261203_000011_webhook_audit_secrets::Migration),
            Box::new(m20261203_000020_citus_compatible::Migration),
            Box::new(m20261203_000021_citus_deliveries::Migration),
            Box::new(m20261203_000030_clinic_week::Migration),
            Box::new(m20261203_000040_sessions::Migration),
            Box::new(m20261203_000050_audit_hash_chain::Migration),
            Box::new(m20261203_000051_phi_history::Migration),
            Box::new(m20261203_000052_care_team::Migration),
            Box::new(m20261203_000053_refusals_and_identity_reads::Migration),
            Box::new(m20261203_000054_clinic_admin_reset_in_the_clinic::Migration),
            Box::new(m20261207_000060_mfa::Migration),
            Box::new(m20261207_000055_cancellation_fees::Migration),
            Box::new(m20261207_000070_waitlist::Migration),
            Box::new(m20261207_000080_rooms::Migration),
            Box::new(m20261208_000090_audit_chain_prepared::Migration),
        ]
    }
}

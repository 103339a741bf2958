//! Database-level specifications: each test talks SQL to PostgreSQL directly, as the application
//! role the server connects as (or as the owner, to show what even the owner cannot do), and
//! shows what the schema guarantees whatever the server does: row-level security, triggers,
//! constraints, grants, the ledger's invariants, the audit triggers, the catalog. What a client
//! of the server sees is specified in `api`.

mod app_role_privileges;
mod appointment_events;
mod appointment_state_machine;
mod audit_trail;
mod citus_scripts;
mod cross_tenant_references;
mod double_booking_exclusion;
mod ledger_invariants;
mod platform_roles;
mod schema_catalog;
mod schema_sql;
mod tenant_isolation;
mod tenant_predicates;

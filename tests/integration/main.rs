//! HPMS integration tests. Each test runs against its own database, cloned from the template that
//! `make test` migrates, and connects as the application role (NOSUPERUSER, NOBYPASSRLS): a test
//! that passed only as a superuser would prove nothing about row-level security.

mod helpers;

mod app_role_privileges;
mod appointment_events;
mod appointment_status;
mod audit_trail;
mod cross_tenant_references;
mod double_booking;
mod graphql_schema;
mod ledger;
mod platform_roles;
mod schema_catalog;
mod tenant_isolation;

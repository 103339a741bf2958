//! HPMS integration tests. Each test runs against its own database, cloned from the template that
//! `make test` migrates, and connects as the application role (NOSUPERUSER, NOBYPASSRLS): a test
//! that passed only as a superuser would prove nothing about row-level security.

mod helpers;

mod access_tokens;
mod api_keys;
mod app_role_privileges;
mod appointment_events;
mod appointment_status;
mod appointment_status_flow;
mod appointment_subscriptions;
mod appointment_versions;
mod audit_of_api_actions;
mod audit_trail;
mod available_slots;
mod bad_input_catalogue;
mod booking_under_concurrency;
mod citus_scripts;
mod clinic_boundaries;
mod clinic_schedules;
mod clinic_separation_properties;
mod cross_tenant_references;
mod database_faults;
mod database_restart;
mod demo_data;
mod double_booking;
mod failed_requests;
mod graphql_schema;
mod input_validation;
mod invoicing;
mod ledger;
mod ledger_model;
mod patient_records;
mod payments;
mod phi_encryption;
mod phi_in_logs;
mod platform_roles;
mod rbac_matrix;
mod request_limits;
mod schedule_pages;
mod scheduling_rules;
mod schema_catalog;
mod server_crash;
mod sign_in;
mod statement_counts;
mod subscription_access;
mod subscription_fanout;
mod tenant_isolation;
mod tenant_predicates;
mod user_management;

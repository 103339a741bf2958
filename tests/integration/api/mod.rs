//! API-level specifications: each test starts the real server (`App::build`, as `hpms serve`
//! does, or the `hpms` binary itself) against a database of its own and speaks to it as clients
//! do, over GraphQL on HTTP and WebSocket; SQL appears only to set up or to inspect what a
//! request left behind. What PostgreSQL guarantees by itself is specified in `database`.

mod access_tokens;
mod api_keys;
mod appointment_status_changes;
mod appointment_subscriptions;
mod appointment_versions;
mod audit_chain;
mod audit_of_api_actions;
mod audit_of_reads_and_refusals;
mod available_slots;
mod bad_input_catalogue;
mod care_team_access;
mod clinic_boundaries;
mod clinic_schedules;
mod clinic_separation_properties;
mod concurrent_booking_requests;
mod cors;
mod database_faults;
mod database_restart;
mod demo_data;
mod error_boundary;
mod example_operations;
mod failed_requests;
mod global_object_identification;
mod graphiql_in_a_browser;
mod graphql_over_http;
mod graphql_schema;
mod input_validation;
mod invoice_postings_against_a_model;
mod invoicing;
mod metrics;
mod partner_events;
mod partner_scopes;
mod patient_records;
mod payments;
mod phi_encryption;
mod phi_history;
mod phi_in_logs;
mod phi_key_rotation;
mod rbac_matrix;
mod request_ids;
mod request_limits;
mod schedule_pages;
mod scheduling_rules;
mod secrets_in_help;
mod server_crash;
mod sign_in;
mod statement_counts;
mod subscription_access;
mod subscription_fanout;
mod user_management;
mod webhooks;

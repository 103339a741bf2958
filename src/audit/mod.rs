//! Audit: the trail the database writes (sql/audit.sql), PHI reads the API adds to it, and the
//! ClinicAdmin's view of it.

mod entity;
mod graphql;
mod read_log;
mod store;

pub use graphql::AuditQuery;
pub use read_log::ReadLog;

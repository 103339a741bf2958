//! Audit: the ClinicAdmin's view of the trail the database writes (schema.sql, `audit_row`), to
//! which every request adds the PHI reads it showed (`foundation::read_log`).

mod entity;
mod graphql;
mod store;

pub use graphql::{AuditLog, AuditQuery};

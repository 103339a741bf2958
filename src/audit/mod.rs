//! Audit: the ClinicAdmin's view of the trail the database writes (schema.sql, `audit_row`), to
//! which every request adds the PHI reads it showed (`foundation::read_log`), and the check of
//! its hash chain (`hpms verify-audit`, chain.rs).

mod chain;
mod entity;
mod graphql;
mod store;

pub use chain::{ChainBreak, ClinicChain, ExportedHeads, ExportedLinkV1, verify_audit};
pub use graphql::{AuditLog, AuditQuery, PatientAccess};

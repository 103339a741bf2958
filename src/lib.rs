//! HPMS: a multi-clinic practice management backend. PostgreSQL enforces tenant isolation, audit
//! and the clinical and financial invariants (see `sql/`); this crate serves them as GraphQL.
//!
//! Organised by domain: `identity` (who is acting) and `platform` (configuration, the tenant
//! transaction, HTTP and GraphQL wiring). Patients, scheduling, billing and audit join as their
//! APIs are built.

pub mod identity;
pub mod platform;

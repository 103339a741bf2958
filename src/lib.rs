//! HPMS: a multi-clinic practice management backend. PostgreSQL enforces tenant isolation, audit
//! and the clinical and financial invariants (see `sql/`); this crate serves them as GraphQL.
//!
//! Organised by domain: `identity` (clinics, users, sign-in, who may do what), `patients`,
//! `scheduling`, `billing`, `audit`, and `platform` (configuration, the tenant transaction,
//! errors, domain events, HTTP and GraphQL wiring, demo data).

pub mod audit;
pub mod billing;
pub mod identity;
pub mod patients;
pub mod platform;
pub mod scheduling;

//! HPMS: a multi-clinic practice management backend. PostgreSQL enforces tenant isolation, audit
//! and the clinical and financial invariants (see `sql/`); this crate serves them as GraphQL.
//!
//! Organised by domain: `identity` (clinics, users, sign-in, who may do what), `patients`,
//! `scheduling`, `audit`, and `platform` (configuration, the tenant transaction, errors, HTTP and
//! GraphQL wiring, demo data). Billing joins as its API is built.

pub mod audit;
pub mod identity;
pub mod patients;
pub mod platform;
pub mod scheduling;

//! HPMS integration tests. Each test runs against its own database, cloned from the template that
//! `make test` migrates, and connects as the application role (NOSUPERUSER, NOBYPASSRLS): a test
//! that passed only as a superuser would prove nothing about row-level security.
//!
//! One binary, two levels of specification, one shared setup:
//! - `database`: what PostgreSQL itself guarantees, shown with SQL sent straight to it as the
//!   application role (or the owner, to show what even the owner cannot do): row-level security,
//!   triggers, constraints, grants, the ledger's invariants, the audit triggers, the catalog.
//! - `api`: what a client of the running server sees, over GraphQL on HTTP and WebSocket (and the
//!   `hpms` binary's own commands).
//! - `helpers`: the databases, servers and clients both levels set up with.

mod helpers;

mod api;
mod citus;
mod database;

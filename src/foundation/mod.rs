//! The ground floor: what every domain builds on and that names no domain. Configuration, the
//! tenant transaction and its session, the access model (roles, principals, permissions), errors,
//! input checks, money, paging, global ids, batched loading, domain-event dispatch, the audit of PHI reads,
//! key rings, logs and metrics, and the LISTEN connection.

pub mod access;
pub mod config;
pub mod db;
pub mod domain_events;
pub mod error;
pub mod global_id;
pub mod input;
pub mod keyring;
pub mod loader;
pub mod metrics;
pub mod money;
pub mod notifications;
pub mod paging;
pub mod read_log;
pub mod role;
pub mod session;
pub mod sync;
pub mod telemetry;

//! Technical glue, one place each: configuration, the tenant transaction, errors, input checks,
//! paging, GraphQL and HTTP, logs and metrics; plus the demo data `make run` loads.

pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod events;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod input;
pub mod keyring;
pub mod loader;
pub mod metrics;
pub mod money;
pub mod notifications;
pub mod paging;
pub mod sync;
pub mod telemetry;
pub mod websocket;

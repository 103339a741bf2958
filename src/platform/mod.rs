//! Technical glue, one place each: configuration, the tenant transaction, GraphQL and HTTP.

pub mod config;
pub mod db;
pub mod graphql;
pub mod http;

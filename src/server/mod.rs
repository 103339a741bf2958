//! The roof: wires the domains into one server. HTTP and WebSocket transports, GraphiQL, the
//! merged schema, the execution of one request inside its tenant transaction, the domain-event
//! registry, and the demo data `make run` loads. Only `main` names it.

pub mod caller;
pub mod demo;
pub mod documents;
pub mod domain_events;
pub mod execution;
pub mod fhir;
pub mod graphiql;
pub mod graphql_http;
pub mod http;
pub mod node;
pub mod schema;
pub mod websocket;

//! HPMS: a multi-clinic practice management backend. PostgreSQL enforces tenant isolation, audit
//! and the clinical and financial invariants (see `sql/`); this crate serves them as GraphQL.
//!
//! Organised as a house whose imports point down only:
//! - the ground floor, `foundation`: configuration, the tenant transaction and its session, the
//!   access model, errors, money, paging, loaders, domain-event dispatch; it names no domain;
//! - the domains: `identity` (clinics, users, sign-in, tokens, API keys), `patients`,
//!   `scheduling`, `billing`, `audit`, `partners` (webhooks), each with its entities, stores, services, loaders and
//!   GraphQL types;
//! - the roof, `server`: HTTP, WebSocket, GraphiQL, the merged schema, request execution, the
//!   domain-event registry and the demo data; only `main` names it.

pub mod audit;
pub mod billing;
pub mod foundation;
pub mod identity;
pub mod partners;
pub mod patients;
pub mod scheduling;
pub mod server;

//! Partners' webhooks: a ClinicAdmin registers endpoints; every instance delivers the clinic's
//! appointment events (the outbox `appointment_events`) to each endpoint in event order, at
//! least once, signed per the Standard Webhooks specification, retrying with backoff for days
//! and disabling an endpoint that never recovers. See `dispatcher` for delivery and `webhooks`
//! for the rules.

mod address;
pub mod dispatcher;
pub(crate) mod entity;
mod graphql;
mod payload;
pub mod signing;
mod store;
mod webhooks;

pub use address::AddressPolicy;
pub use dispatcher::{Dispatcher, DispatcherSettings};
pub use graphql::{WebhookMutation, WebhookQuery};
pub use webhooks::WebhookVault;

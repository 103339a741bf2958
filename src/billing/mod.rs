//! Billing: an invoice per completed appointment, a double-entry ledger that is only ever
//! appended to, and the payments, refunds, write-offs and voids that post to it.

pub(crate) mod entity;
mod graphql;
mod loader;
mod model;
mod store;

pub use graphql::{BillingMutation, BillingQuery, Invoice, bill_completed_appointment};
pub use loader::{InvoiceLoader, LinesLoader, invoice_loader, lines_loader};
pub use model::{Account, EntryKind, InvoiceStatus, PaymentMethod, Side};

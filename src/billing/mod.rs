//! Billing: an invoice per completed appointment, a double-entry ledger that is only ever
//! appended to, and the payments, refunds, write-offs and voids that post to it.

pub(crate) mod entity;
mod graphql;
mod ledger;
mod loader;
mod model;
mod store;

pub use graphql::{BillingMutation, BillingQuery, Invoice, find_invoice, invoice_of_appointment};
pub use ledger::bill_completed_appointment;
pub use model::{Account, EntryKind, InvoiceStatus, PaymentMethod, Side};

//! Billing: an invoice per completed appointment (or per late cancellation or no-show fee), a double-entry ledger that is only ever
//! appended to, and the payments, refunds, write-offs and voids that post to it.

pub(crate) mod entity;
mod graphql;
mod ledger;
mod loader;
mod model;
mod store;

pub use graphql::{BillingMutation, BillingQuery, Invoice, find_invoice, invoice_of_appointment};
pub use ledger::{bill_completed_appointment, bill_fee};
pub use model::{Account, EntryKind, InvoiceKind, InvoiceStatus, PaymentMethod, Side};

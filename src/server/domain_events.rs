//! Which domain handles which domain event: the one place that knows both sides. Scheduling
//! publishes `AppointmentCompleted` and `FeeDue` (a late cancellation or a no-show); billing
//! raises the invoice and posts its charge.

use futures_util::future::BoxFuture;

use crate::billing;
use crate::foundation::access::Principal;
use crate::foundation::db::TenantTransaction;
use crate::foundation::domain_events::{DomainEvents, Handler};
use crate::foundation::error::ApiError;
use crate::scheduling::{AppointmentCompleted, FeeDue, FeeKind};

/// Every handler of every domain event.
pub fn registry() -> DomainEvents {
    DomainEvents::default()
        .on(InvoiceCompletedAppointments)
        .on(InvoiceFees)
}

/// A late cancellation or a no-show that owes a fee is billed: one invoice of the fee's kind,
/// its charge on the ledger.
struct InvoiceFees;

impl Handler<FeeDue> for InvoiceFees {
    fn handle<'a>(
        &'a self,
        db: &'a TenantTransaction,
        principal: &'a Principal,
        event: &'a FeeDue,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        let kind = match event.kind {
            FeeKind::LateCancellation => billing::InvoiceKind::LateCancellationFee,
            FeeKind::NoShow => billing::InvoiceKind::NoShowFee,
        };
        Box::pin(billing::bill_fee(
            db,
            principal,
            event.appointment_id,
            kind,
            event.amount,
        ))
    }
}

/// A completed appointment is billed: one invoice, its charge on the ledger.
struct InvoiceCompletedAppointments;

impl Handler<AppointmentCompleted> for InvoiceCompletedAppointments {
    fn handle<'a>(
        &'a self,
        db: &'a TenantTransaction,
        principal: &'a Principal,
        event: &'a AppointmentCompleted,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(billing::bill_completed_appointment(
            db,
            principal,
            event.appointment_id,
            event.price,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Publishing finds no handler silently (a domain may publish what nobody needs yet), so the
    /// wiring that billing depends on is checked here.
    #[test]
    fn completed_appointments_reach_billing() {
        assert!(registry().handles::<AppointmentCompleted>());
    }

    #[test]
    fn fees_reach_billing() {
        assert!(registry().handles::<FeeDue>());
    }
}

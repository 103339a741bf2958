//! Domain events: how one domain tells others that something happened, inside the request's
//! transaction, without knowing who listens. Scheduling publishes `AppointmentCompleted`;
//! billing raises the invoice. Handlers run before the publisher's change commits, so if one
//! fails the whole request rolls back, the change that raised the event included.

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::platform::error::ApiError;
use crate::platform::graphql::Session;

pub enum DomainEvent {
    /// An appointment reached Completed; `price` is what was agreed at booking.
    AppointmentCompleted {
        appointment_id: Uuid,
        price: Decimal,
    },
}

/// Delivers `event` to every domain that handles it, in this request's transaction.
pub async fn publish(session: &Session, event: DomainEvent) -> Result<(), ApiError> {
    match event {
        DomainEvent::AppointmentCompleted {
            appointment_id,
            price,
        } => crate::billing::bill_completed_appointment(session, appointment_id, price).await,
    }
}

//! Domain events: how one domain tells others that something happened, inside the request's
//! transaction, without knowing who listens. A publishing domain defines its event type and
//! publishes it; the server registers the handlers at start-up (`server::domain_events`), so no
//! domain names another's handler and this floor names none. Handlers run before the publisher's
//! change commits: if one fails, the whole request rolls back, the change that raised the event
//! included.

use std::any::{Any, TypeId};
use std::collections::HashMap;

use futures_util::future::BoxFuture;

use crate::foundation::access::Principal;
use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;

/// Something done when an `E` is published, in the publisher's transaction and on behalf of the
/// publisher's principal.
pub trait Handler<E>: Send + Sync {
    fn handle<'a>(
        &'a self,
        db: &'a TenantTransaction,
        principal: &'a Principal,
        event: &'a E,
    ) -> BoxFuture<'a, Result<(), ApiError>>;
}

type Handlers<E> = Vec<Box<dyn Handler<E>>>;

/// The handlers of each event type, in the order they were registered.
#[derive(Default)]
pub struct DomainEvents {
    by_event: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

impl DomainEvents {
    pub fn on<E: 'static>(mut self, handler: impl Handler<E> + 'static) -> DomainEvents {
        let handlers = self
            .by_event
            .entry(TypeId::of::<E>())
            .or_insert_with(|| Box::new(Handlers::<E>::new()));
        if let Some(handlers) = handlers.downcast_mut::<Handlers<E>>() {
            handlers.push(Box::new(handler));
        }
        self
    }

    /// Whether anything handles an `E`.
    pub fn handles<E: 'static>(&self) -> bool {
        self.by_event.contains_key(&TypeId::of::<E>())
    }

    /// Runs every handler of `event`, stopping at the first that fails.
    pub async fn publish<E: 'static>(
        &self,
        db: &TenantTransaction,
        principal: &Principal,
        event: E,
    ) -> Result<(), ApiError> {
        let handlers = self
            .by_event
            .get(&TypeId::of::<E>())
            .and_then(|handlers| handlers.downcast_ref::<Handlers<E>>());
        for handler in handlers.into_iter().flatten() {
            handler.handle(db, principal, &event).await?;
        }
        Ok(())
    }
}

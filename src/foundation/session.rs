//! What the resolvers of an authenticated request work with: who is acting, the one tenant
//! transaction of the request, the request's loaders, the PHI reads to audit before it commits,
//! and the registry that carries domain events to their handlers. The server's request
//! execution (`server::execution`) makes one per request; resolvers find it in their context.

use std::sync::Arc;

use async_graphql::Context;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::foundation::access::{Permission, Principal};
use crate::foundation::db::TenantTransaction;
use crate::foundation::domain_events::DomainEvents;
use crate::foundation::error::ApiError;
use crate::foundation::loader::RequestLoaders;
use crate::foundation::read_log::ReadLog;

pub struct Session {
    pub principal: Principal,
    pub loaders: RequestLoaders,
    transaction: Arc<TenantTransaction>,
    read_log: Arc<ReadLog>,
    events: Arc<DomainEvents>,
}

impl Session {
    /// A session on `transaction`, whose loaders run their batches on `loader_tasks`, and which
    /// records its PHI reads in `read_log`; the caller keeps handles to both to drain and flush
    /// them before it commits.
    pub fn new(
        principal: Principal,
        transaction: &Arc<TenantTransaction>,
        loader_tasks: &TaskTracker,
        read_log: &Arc<ReadLog>,
        events: Arc<DomainEvents>,
    ) -> Session {
        Session {
            principal,
            loaders: RequestLoaders::new(transaction, principal.scope().user_id, loader_tasks),
            transaction: Arc::clone(transaction),
            read_log: Arc::clone(read_log),
            events,
        }
    }

    pub fn db(&self) -> &TenantTransaction {
        &self.transaction
    }

    /// The request's clinic, which every statement names besides row-level security (Citus
    /// routes a statement to one shard only on a tenant_id in its SQL).
    pub fn tenant_id(&self) -> Uuid {
        self.transaction.tenant_id()
    }

    pub fn events(&self) -> &DomainEvents {
        &self.events
    }

    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        self.principal.require(permission)
    }

    /// Notes that the `section` of `entity` row `id` was decrypted into the response (audited
    /// as a `Read` naming the section).
    pub fn record_read(&self, entity: &'static str, section: &'static str, id: Uuid) {
        self.read_log.record(entity, section, id);
    }

    /// Notes that patient `id`'s names or date of birth were shown (audited as one `Read` row
    /// per request naming every patient shown).
    pub fn record_identity_read(&self, id: Uuid) {
        self.read_log.record_identity(id);
    }
}

/// The session of the current request, or UNAUTHENTICATED when it carries no credentials.
pub fn session<'a>(ctx: &Context<'a>) -> Result<&'a Session, ApiError> {
    ctx.data_opt::<Session>().ok_or_else(|| {
        ApiError::unauthenticated(
            "sign in first: send `Authorization: Bearer <token>` with a token from `login` \
             (a partner system sends `X-Api-Key: <key>`)",
        )
    })
}

//! The request's users by id, as GraphQL shows them: an appointment's provider.

use std::sync::Arc;

use crate::foundation::loader::{ByIdLoader, Lookup, by_id_as};
use crate::foundation::session::Session;
use crate::identity::entity::user;
use crate::identity::graphql::User;

/// Converted as loaded: a page of appointments shows each provider many times.
pub fn providers(session: &Session) -> Arc<ByIdLoader<user::Entity, User>> {
    session.loaders.get(|scope| {
        by_id_as(
            scope,
            Lookup {
                tenant_id: user::Column::TenantId,
                id: user::Column::Id,
                is_deleted: Some(user::Column::IsDeleted),
                id_of: |row| row.id,
            },
            User::try_from,
        )
    })
}

//! The request's appointments and appointment types by id, for the fields that follow them.

use std::sync::Arc;

use crate::foundation::loader::{ByIdLoader, Lookup, by_id};
use crate::foundation::session::Session;
use crate::scheduling::entity::{appointment, appointment_type, room};

pub fn appointment_types(session: &Session) -> Arc<ByIdLoader<appointment_type::Entity>> {
    session.loaders.get(|scope| {
        by_id(
            scope,
            Lookup {
                tenant_id: appointment_type::Column::TenantId,
                id: appointment_type::Column::Id,
                is_deleted: Some(appointment_type::Column::IsDeleted),
                id_of: |row| row.id,
            },
        )
    })
}

/// Removed rooms too: a visit still names the room it was in.
pub fn rooms(session: &Session) -> Arc<ByIdLoader<room::Entity>> {
    session.loaders.get(|scope| {
        by_id(
            scope,
            Lookup {
                tenant_id: room::Column::TenantId,
                id: room::Column::Id,
                is_deleted: None,
                id_of: |row| row.id,
            },
        )
    })
}

pub fn appointments(session: &Session) -> Arc<ByIdLoader<appointment::Entity>> {
    session.loaders.get(|scope| {
        by_id(
            scope,
            Lookup {
                tenant_id: appointment::Column::TenantId,
                id: appointment::Column::Id,
                is_deleted: Some(appointment::Column::IsDeleted),
                id_of: |row| row.id,
            },
        )
    })
}

//! The request's patients by id, for the fields that show an appointment's or invoice's patient.

use std::sync::Arc;

use crate::foundation::loader::{ByIdLoader, Lookup, by_id};
use crate::foundation::session::Session;
use crate::patients::entity::patient;

pub fn patients(session: &Session) -> Arc<ByIdLoader<patient::Entity>> {
    session.loaders.get(|scope| {
        by_id(
            scope,
            Lookup {
                tenant_id: patient::Column::TenantId,
                id: patient::Column::Id,
                is_deleted: Some(patient::Column::IsDeleted),
                id_of: |row| row.id,
            },
        )
    })
}

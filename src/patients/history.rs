//! PHI history: before a change replaces a patient's contact or medical data, the document it
//! replaces is kept (`patient_phi_versions`, append-only in the database), still sealed as it was
//! stored, with the sections the change replaced. The audit trigger records each kept version,
//! naming those sections; reading the history is audited like any PHI read.

use async_graphql::Enum;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::foundation::db::TenantTransaction;
use crate::patients::entity::{patient, patient_phi_version};
use crate::patients::model::PhiDocument;

/// A section of the PHI document.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhiSection {
    /// Phone, email, address.
    Contact,
    /// Allergies, medications, notes.
    Medical,
}

impl PhiSection {
    /// The stored name (`patient_phi_versions.changed_sections`), fixed whatever the API says.
    fn stored_name(self) -> &'static str {
        match self {
            PhiSection::Contact => "contact",
            PhiSection::Medical => "medical",
        }
    }

    pub(crate) fn from_stored(name: &str) -> Option<PhiSection> {
        match name {
            "contact" => Some(PhiSection::Contact),
            "medical" => Some(PhiSection::Medical),
            _ => None,
        }
    }
}

/// The sections in which `after` differs from `before`.
pub fn changed_sections(before: &PhiDocument, after: &PhiDocument) -> Vec<PhiSection> {
    let mut changed = Vec::new();
    if before.contact != after.contact {
        changed.push(PhiSection::Contact);
    }
    if before.medical != after.medical {
        changed.push(PhiSection::Medical);
    }
    changed
}

/// Keeps `existing`'s current document as its next earlier version, replaced in `changed`. Two
/// changes of one patient from the same version: the second fails on
/// `patient_phi_versions_one_per_version` (CONFLICT), so neither change is lost unseen.
pub async fn keep_superseded(
    db: &TenantTransaction,
    existing: &patient::Model,
    changed: &[PhiSection],
) -> Result<(), DbErr> {
    // The next number is read first and inserted after: Citus plans no sub-select in an INSERT.
    let latest = patient_phi_version::Entity::find()
        .filter(patient_phi_version::Column::TenantId.eq(existing.tenant_id))
        .filter(patient_phi_version::Column::PatientId.eq(existing.id))
        .order_by_desc(patient_phi_version::Column::Version)
        .one(db)
        .await?;
    patient_phi_version::ActiveModel {
        tenant_id: Set(existing.tenant_id),
        id: Set(Uuid::new_v4()),
        patient_id: Set(existing.id),
        version: Set(latest.map_or(1, |version| version.version + 1)),
        phi_data: Set(existing.phi_data.clone()),
        changed_sections: Set(changed
            .iter()
            .map(|section| section.stored_name().to_owned())
            .collect()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The patient's earlier versions, newest first.
pub async fn versions(
    db: &TenantTransaction,
    tenant_id: Uuid,
    patient_id: Uuid,
) -> Result<Vec<patient_phi_version::Model>, DbErr> {
    patient_phi_version::Entity::find()
        .filter(patient_phi_version::Column::TenantId.eq(tenant_id))
        .filter(patient_phi_version::Column::PatientId.eq(patient_id))
        .order_by_desc(patient_phi_version::Column::Version)
        .all(db)
        .await
}

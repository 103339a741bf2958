//! Batched lookups for billing fields: appointments' invoices with their ledger totals (two
//! queries for a whole page of appointments) and invoices' ledger lines (one query for a page
//! of invoices), whatever the page's size.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::billing::entity::invoice;
use crate::billing::store::{self, Line, Totals};
use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;
use crate::foundation::loader::LoaderScope;
use crate::foundation::session::Session;

/// Loads invoices (with their ledger totals) by appointment id, on a request's transaction (held weakly, as
/// `foundation::loader` explains), of the request's clinic.
pub struct InvoicesByAppointment {
    transaction: Weak<TenantTransaction>,
    tenant_id: Uuid,
}

pub type InvoiceLoader = DataLoader<InvoicesByAppointment, HashMapCache>;

/// The request's invoices by appointment id.
pub fn invoices(session: &Session) -> Arc<InvoiceLoader> {
    session.loaders.get(invoices_by_appointment)
}

fn invoices_by_appointment(scope: &LoaderScope) -> InvoiceLoader {
    DataLoader::with_cache(
        InvoicesByAppointment {
            transaction: scope.transaction.clone(),
            tenant_id: scope.tenant,
        },
        scope.spawner(),
        HashMapCache::default(),
    )
}

impl Loader<Uuid> for InvoicesByAppointment {
    type Value = (invoice::Model, Totals);
    type Error = ApiError;

    async fn load(
        &self,
        appointment_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, (invoice::Model, Totals)>, ApiError> {
        let transaction = self.transaction.upgrade().ok_or_else(ApiError::internal)?;
        let invoices = invoice::Entity::find()
            .filter(invoice::Column::TenantId.eq(self.tenant_id))
            .filter(invoice::Column::AppointmentId.is_in(appointment_ids.iter().copied()))
            .all(&*transaction)
            .await?;
        let ids: Vec<Uuid> = invoices.iter().map(|model| model.id).collect();
        let totals = store::totals(&transaction, self.tenant_id, &ids).await?;
        invoices
            .into_iter()
            .map(|model| {
                let invoice_totals = totals
                    .get(&model.id)
                    .copied()
                    .ok_or_else(ApiError::internal)?;
                Ok((model.appointment_id, (model, invoice_totals)))
            })
            .collect()
    }
}

/// Loads invoices' ledger lines by invoice id.
pub struct LinesByInvoice {
    transaction: Weak<TenantTransaction>,
    tenant_id: Uuid,
}

pub type LinesLoader = DataLoader<LinesByInvoice, HashMapCache>;

/// The request's ledger lines by invoice id.
pub fn invoice_lines(session: &Session) -> Arc<LinesLoader> {
    session.loaders.get(lines_by_invoice)
}

fn lines_by_invoice(scope: &LoaderScope) -> LinesLoader {
    DataLoader::with_cache(
        LinesByInvoice {
            transaction: scope.transaction.clone(),
            tenant_id: scope.tenant,
        },
        scope.spawner(),
        HashMapCache::default(),
    )
}

impl Loader<Uuid> for LinesByInvoice {
    type Value = Vec<Line>;
    type Error = ApiError;

    async fn load(&self, invoice_ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<Line>>, ApiError> {
        let transaction = self.transaction.upgrade().ok_or_else(ApiError::internal)?;
        Ok(store::lines(&transaction, self.tenant_id, invoice_ids).await?)
    }
}

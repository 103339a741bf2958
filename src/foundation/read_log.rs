//! What a request showed and was refused, for the audit trail. Reads of decrypted PHI are
//! gathered while a request runs and written as `Read` audit rows in one statement per entity
//! and section just before its transaction commits, so a list of 100 patients costs one audit
//! statement per section shown, not 100. Reads of patients' identity (names, dates of birth, an
//! appointment's patient) are one `Read` row per request listing every patient shown. A request
//! refused FORBIDDEN leaves one `Refused` row naming what was refused, the role, the client's
//! address and the request id.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;

use sea_orm::{ConnectionTrait, DbErr};
use serde_json::json;
use uuid::Uuid;

use crate::foundation::db::{TenantScope, TenantTransaction, statement};
use crate::foundation::sync::lock;

/// Where a request came from, as the audit rows of its reads and refusals name it.
#[derive(Clone, Debug)]
pub struct RequestOrigin {
    pub request_id: String,
    pub client_address: Option<IpAddr>,
}

pub struct ReadLog {
    origin: RequestOrigin,
    /// (entity, section) → ids.
    reads: Mutex<BTreeMap<(&'static str, &'static str), Vec<Uuid>>>,
    /// The patients whose identity was shown, in order, once each.
    identities: Mutex<Vec<Uuid>>,
}

/// The one statement that writes a request's own audit rows (`Read` of identities, `Refused`),
/// each allowed to the application role by a policy of its own (schema.sql): for its clinic, as
/// its own user or key.
const OWN_AUDIT_ROW: &str = "insert into audit_logs
   (tenant_id, entity_name, entity_id, user_id, api_key_id, action, new_values)
   values ($1, $2, $3, $4, $5, $6, $7)";

impl ReadLog {
    pub fn new(origin: RequestOrigin) -> ReadLog {
        ReadLog {
            origin,
            reads: Mutex::default(),
            identities: Mutex::default(),
        }
    }

    pub fn record(&self, entity: &'static str, section: &'static str, id: Uuid) {
        let mut reads = lock(&self.reads);
        let ids = reads.entry((entity, section)).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    /// Notes that the names or date of birth of patient `id` were shown.
    pub fn record_identity(&self, id: Uuid) {
        let mut identities = lock(&self.identities);
        if !identities.contains(&id) {
            identities.push(id);
        }
    }

    /// Writes the gathered reads through `record_read()` (schema.sql), which stamps them with
    /// the transaction's clinic and user, and the identities shown as one row naming them all.
    pub async fn flush(&self, db: &TenantTransaction, scope: &TenantScope) -> Result<(), DbErr> {
        let reads = std::mem::take(&mut *lock(&self.reads));
        for ((entity, section), ids) in reads {
            db.execute_raw(statement(
                "select record_read($1, $2, array[$3])",
                [entity.into(), ids.into(), section.into()],
            ))
            .await?;
        }
        let identities = std::mem::take(&mut *lock(&self.identities));
        if identities.is_empty() {
            return Ok(());
        }
        let shown = json!({
            "shown": ["identity"],
            "patient_ids": identities,
            "request_id": self.origin.request_id,
        });
        own_audit_row(
            db,
            scope,
            "Read",
            "patients",
            &self.origin.request_id,
            shown,
        )
        .await
    }

    /// Writes the `Refused` row of a request whose `refused` errors (`error::refusals`) were
    /// FORBIDDEN, in `db`, a transaction of the refused principal's own (the request's may
    /// have rolled back). `operation` is what the request asked for (its root field).
    pub async fn record_refusal(
        &self,
        db: &TenantTransaction,
        scope: &TenantScope,
        operation: &str,
        refused: Vec<serde_json::Value>,
    ) -> Result<(), DbErr> {
        let details = json!({
            "refused": refused,
            "role": scope.role.map(|role| role.name()),
            "client_address": self.origin.client_address.map(|address| address.to_string()),
            "request_id": self.origin.request_id,
        });
        own_audit_row(db, scope, "Refused", "graphql", operation, details).await
    }
}

async fn own_audit_row(
    db: &TenantTransaction,
    scope: &TenantScope,
    action: &str,
    entity_name: &str,
    entity_id: &str,
    values: serde_json::Value,
) -> Result<(), DbErr> {
    db.execute_raw(statement(
        OWN_AUDIT_ROW,
        [
            scope.tenant_id.into(),
            entity_name.into(),
            entity_id.into(),
            scope.user_id.into(),
            scope.api_key_id.into(),
            action.into(),
            values.into(),
        ],
    ))
    .await?;
    Ok(())
}

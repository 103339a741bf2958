//! Reads of decrypted PHI, gathered while a request runs and written as `Read` audit rows in
//! one statement per entity and section just before its transaction commits, so a list of 100
//! patients costs one audit statement per section shown, not 100.

use std::collections::BTreeMap;
use std::sync::Mutex;

use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::foundation::db::{TenantTransaction, statement};
use crate::foundation::sync::lock;

#[derive(Default)]
pub struct ReadLog {
    /// (entity, section) → ids.
    reads: Mutex<BTreeMap<(&'static str, &'static str), Vec<Uuid>>>,
}

impl ReadLog {
    pub fn record(&self, entity: &'static str, section: &'static str, id: Uuid) {
        let mut reads = lock(&self.reads);
        let ids = reads.entry((entity, section)).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    /// Writes the gathered reads through `record_read()` (schema.sql), which stamps them with
    /// the transaction's clinic and user.
    pub async fn flush(&self, db: &TenantTransaction) -> Result<(), DbErr> {
        let reads = std::mem::take(&mut *lock(&self.reads));
        for ((entity, section), ids) in reads {
            db.execute_raw(statement(
                "select record_read($1, $2, array[$3])",
                [entity.into(), ids.into(), section.into()],
            ))
            .await?;
        }
        Ok(())
    }
}

//! `hpms rotate-phi-key`: re-encrypts every patient's PHI (`patients.phi_data`, the one column
//! sealed under `HPMS_PHI_KEYS`) still sealed under an older key with the active (first) key, in
//! every clinic, deleted patients included, so that the older keys can then be removed.
//!
//! Which role: the application role (`DATABASE_URL`), one clinic at a time through
//! `begin_tenant_transaction`. Every tenant table FORCEs row-level security, so the owner would
//! see no more rows than the application role and would still have to set each clinic in turn;
//! it would only bring powers this job must not have (DDL, switching triggers off). Reading and
//! updating `patients` is within the application role's grants.
//!
//! Audit: each re-encrypted row leaves an `Update` row in `audit_logs`, written by the audit
//! trigger as for any change, with no acting user, `phi_data` shown as "[encrypted]" on both
//! sides and no other column changed (`updated_at` included): that is how an auditor tells a
//! rotation from an edit. It is not avoided on purpose: the application role cannot switch the
//! trigger off, and the owner could only with ALTER TABLE, which locks out the front desk and
//! opens a window in which its edits go unaudited. It costs one row per patient per rotation.
//!
//! Concurrency: a batch locks its rows with FOR UPDATE SKIP LOCKED (a row being edited is passed
//! over, not waited for), reseals them and writes them in the same transaction, each write
//! conditional on the ciphertext still being the one read, then commits on its own. Rows passed
//! over are retried one at a time at the end of each clinic, waiting for the edit to finish.
//!
//! Interruption: a killed run loses at most its open batch, which rolls back whole (a row is one
//! column, written in one statement); a rerun finds what is still under an older key. Nothing is
//! ever sealed under a key other than the active one of the keys given.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::bail;
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};
use uuid::Uuid;

use crate::foundation::db::{self, TenantScope, statement};
use crate::foundation::keyring;
use crate::identity::store as identity_store;
use crate::patients::PhiKeyring;

/// What a run did, for its last line.
#[derive(Debug, Default)]
pub struct RotationSummary {
    pub clinics: u64,
    /// Rows found already under the active key.
    pub already_current: u64,
    pub rotated: u64,
    /// Rows that did not open (tampered, or in no known format); logged by clinic and patient id.
    pub unreadable: u64,
    /// Rows still not under the active key when the run ended: the old keys are still needed.
    pub remaining: u64,
}

/// Told how far a run has got.
pub trait RotationProgress {
    /// `total` rows are to be re-encrypted.
    fn start(&mut self, total: u64);
    /// A batch of `rows` (re-encrypted, or found unreadable) has committed.
    fn committed(&mut self, rows: u64);
}

/// Re-encrypts, in batches of `batch_size`, every row not under `keys`' active key. Refuses to
/// start, writing nothing, when a row is sealed under a key that `keys` does not hold: the
/// servers may be writing with a newer key than the one given here.
pub async fn rotate_phi_key(
    pool: &DatabaseConnection,
    keys: &PhiKeyring,
    batch_size: u64,
    progress: &mut impl RotationProgress,
) -> anyhow::Result<RotationSummary> {
    let active = keys.active_header();
    let clinics = all_clinics(pool).await?;
    let mut summary = RotationSummary {
        clinics: clinics.len() as u64,
        ..RotationSummary::default()
    };
    let mut total = 0;
    let mut unknown_keys = BTreeMap::<String, u64>::new();
    for &clinic in &clinics {
        for (header, rows) in key_census(pool, clinic).await? {
            if header == active {
                summary.already_current += rows;
                continue;
            }
            match keyring::sealed_key_id(&header) {
                Ok(key_id) if !keys.holds(&key_id) => {
                    *unknown_keys.entry(key_id).or_default() += rows
                }
                _ => total += rows,
            }
        }
    }
    if !unknown_keys.is_empty() {
        let listed: Vec<String> = unknown_keys
            .iter()
            .map(|(key_id, rows)| format!("`{key_id}` ({rows} rows)"))
            .collect();
        bail!(
            "PHI is sealed under keys that HPMS_PHI_KEYS does not list: {}. Give this command the \
             servers' full HPMS_PHI_KEYS, the newest key first; nothing was changed",
            listed.join(", ")
        );
    }

    progress.start(total);
    for clinic in clinics {
        let mut rotation = ClinicRotation {
            pool,
            keys,
            clinic,
            active: &active,
            unreadable: BTreeSet::new(),
        };
        let mut after = Uuid::nil();
        while let Some(batch) = rotation.batch(Selection::After(after, batch_size)).await? {
            summary.rotated += batch.rotated;
            progress.committed(batch.seen);
            after = batch.last;
        }
        for id in rotation.stragglers().await? {
            if let Some(batch) = rotation.batch(Selection::Row(id)).await? {
                summary.rotated += batch.rotated;
                progress.committed(batch.seen);
            }
        }
        summary.unreadable += rotation.unreadable.len() as u64;
        summary.remaining += rotation.remaining().await?;
    }
    Ok(summary)
}

/// Every clinic, active or not, by id. Listing them takes the platform's role; the platform
/// tenant itself has no patients.
async fn all_clinics(pool: &DatabaseConnection) -> anyhow::Result<Vec<Uuid>> {
    const PAGE: u64 = 500;
    let tx = db::begin_tenant_transaction(pool, &TenantScope::platform_work(Uuid::nil())).await?;
    let mut clinics = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = identity_store::list_clinics(&tx, after.as_deref(), PAGE).await?;
        clinics.extend(page.iter().map(|clinic| clinic.id));
        match page.last() {
            Some(last) if page.len() as u64 == PAGE => after = Some(last.slug.clone()),
            _ => break,
        }
    }
    tx.rollback().await?;
    Ok(clinics)
}

/// The clinic's sealed rows counted by header (`foundation::keyring`'s format: a version byte, the
/// key id's length, the key id), cut from the stored value.
async fn key_census(
    pool: &DatabaseConnection,
    clinic: Uuid,
) -> anyhow::Result<Vec<(Vec<u8>, u64)>> {
    let tx = db::begin_tenant_transaction(pool, &TenantScope::server_work(clinic)).await?;
    let rows = tx
        .query_all_raw(statement(
            "select substring(phi_data from 1 for 2 + case when octet_length(phi_data) >= 2
                                                          then get_byte(phi_data, 1) else 0 end) as header,
                    count(*) as rows
               from patients
              where tenant_id = $1 and phi_data is not null
              group by 1",
            [clinic.into()],
        ))
        .await?;
    tx.rollback().await?;
    rows.iter()
        .map(|row| {
            let header: Vec<u8> = row.try_get("", "header")?;
            let count: i64 = row.try_get("", "rows")?;
            Ok((header, count as u64))
        })
        .collect()
}

/// Rows of the clinic not under the active key: `$1` the clinic, `$2` and `$3` the active key's
/// header length and bytes.
const NOT_UNDER_ACTIVE_KEY: &str = "tenant_id = $1 and phi_data is not null
                                    and substring(phi_data from 1 for $2) <> $3";

enum Selection {
    /// The next rows after this id, at most this many, passing over rows locked by an edit.
    After(Uuid, u64),
    /// This row, waiting for an edit of it to finish.
    Row(Uuid),
}

struct Batch {
    /// Rows locked and looked at.
    seen: u64,
    rotated: u64,
    last: Uuid,
}

struct ClinicRotation<'a> {
    pool: &'a DatabaseConnection,
    keys: &'a PhiKeyring,
    clinic: Uuid,
    active: &'a [u8],
    /// Rows that did not open: passed over from then on, left as they are.
    unreadable: BTreeSet<Uuid>,
}

impl ClinicRotation<'_> {
    fn filter_values(&self) -> [Value; 3] {
        [
            self.clinic.into(),
            (self.active.len() as i32).into(),
            self.active.to_vec().into(),
        ]
    }

    /// Locks, reseals and writes one selection of rows in one transaction; `None` when the
    /// selection found no row.
    async fn batch(&mut self, selection: Selection) -> anyhow::Result<Option<Batch>> {
        let tx =
            db::begin_tenant_transaction(self.pool, &TenantScope::server_work(self.clinic)).await?;
        let mut values = self.filter_values().to_vec();
        let sql = match selection {
            Selection::After(after, limit) => {
                values.extend([after.into(), (limit as i64).into()]);
                format!(
                    "select id, phi_data from patients where {NOT_UNDER_ACTIVE_KEY} and id > $4
                      order by id limit $5 for update skip locked"
                )
            }
            Selection::Row(id) => {
                values.push(id.into());
                format!(
                    "select id, phi_data from patients where {NOT_UNDER_ACTIVE_KEY} and id = $4
                        for update"
                )
            }
        };
        let rows = tx.query_all_raw(statement(&sql, values)).await?;
        let Some(last) = rows.last() else {
            tx.rollback().await?;
            return Ok(None);
        };
        let last: Uuid = last.try_get("", "id")?;
        let (mut ids, mut read, mut resealed) = (Vec::new(), Vec::new(), Vec::new());
        for row in &rows {
            let id: Uuid = row.try_get("", "id")?;
            let stored: Vec<u8> = row.try_get("", "phi_data")?;
            let opened = self.keys.open(self.clinic, id, &stored);
            match opened.and_then(|plaintext| self.keys.seal(self.clinic, id, &plaintext)) {
                Ok(sealed) => {
                    ids.push(id);
                    read.push(stored);
                    resealed.push(sealed);
                }
                Err(error) => {
                    tracing::warn!(clinic = %self.clinic, patient = %id, %error,
                                   "patient's PHI cannot be re-encrypted; left as it is");
                    self.unreadable.insert(id);
                }
            }
        }
        let rotated = if ids.is_empty() {
            0
        } else {
            tx.execute_raw(statement(
                "update patients p set phi_data = v.resealed
                   from unnest($2::uuid[], $3::bytea[], $4::bytea[]) as v(id, read, resealed)
                  where p.tenant_id = $1 and p.id = v.id and p.phi_data = v.read",
                [self.clinic.into(), ids.into(), read.into(), resealed.into()],
            ))
            .await?
            .rows_affected()
        };
        tx.commit().await?;
        Ok(Some(Batch {
            seen: rows.len() as u64,
            rotated,
            last,
        }))
    }

    /// Rows still not under the active key that were not found unreadable: those the sweep
    /// passed over while they were being edited, or written since under an older key.
    async fn stragglers(&self) -> anyhow::Result<Vec<Uuid>> {
        let tx =
            db::begin_tenant_transaction(self.pool, &TenantScope::server_work(self.clinic)).await?;
        let rows = tx
            .query_all_raw(statement(
                &format!("select id from patients where {NOT_UNDER_ACTIVE_KEY} order by id"),
                self.filter_values(),
            ))
            .await?;
        tx.rollback().await?;
        let mut ids = Vec::with_capacity(rows.len());
        for row in rows {
            let id: Uuid = row.try_get("", "id")?;
            if !self.unreadable.contains(&id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    async fn remaining(&self) -> anyhow::Result<u64> {
        let tx =
            db::begin_tenant_transaction(self.pool, &TenantScope::server_work(self.clinic)).await?;
        let row = tx
            .query_one_raw(statement(
                &format!("select count(*) as remaining from patients where {NOT_UNDER_ACTIVE_KEY}"),
                self.filter_values(),
            ))
            .await?;
        tx.rollback().await?;
        let remaining: i64 = match row {
            Some(row) => row.try_get("", "remaining")?,
            None => 0,
        };
        Ok(remaining as u64)
    }
}

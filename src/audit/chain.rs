//! `hpms verify-audit`: walks every clinic's audit hash chain (schema.sql, `chain_audit_row`) and
//! reports, per clinic, the first broken link; optionally appends the verified links to a
//! JSON-lines export kept outside the database, and checks the database against what an earlier
//! export holds.
//!
//! Which role: the application role (`DATABASE_URL`), one clinic at a time through
//! `begin_tenant_transaction` with the clinic's ClinicAdmin grant, the one that reads its audit
//! log; no owner credential, which never lives on an application server. What the owner could
//! do, rewriting a clinic's chain from an edited row to its end with fresh hashes, shows only
//! against an export made before: run with `--export` on a schedule, to storage the database's
//! owner cannot write.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::foundation::db::{self, TenantScope, TenantTransaction, statement};
use crate::foundation::role::Role;

/// Rows read per statement.
const PAGE: i64 = 1000;

/// One link of a clinic's chain as the export stores it: where it is, what it records (never the
/// values, which can hold patients' names), and the hashes that pin all of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedLinkV1 {
    #[serde(rename = "tenant_id")]
    pub tenant_id: Uuid,
    #[serde(rename = "chain_seq")]
    pub chain_seq: i64,
    #[serde(rename = "id")]
    pub id: i64,
    #[serde(rename = "occurred_at")]
    pub occurred_at: String,
    #[serde(rename = "entity_name")]
    pub entity_name: String,
    #[serde(rename = "entity_id")]
    pub entity_id: String,
    #[serde(rename = "action")]
    pub action: String,
    #[serde(rename = "previous_hash")]
    pub previous_hash: Option<String>,
    #[serde(rename = "row_hash")]
    pub row_hash: String,
}

/// Where a clinic's chain first fails, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The audit row at fault; `None` when rows the export holds are missing from the end.
    pub audit_id: Option<i64>,
    pub chain_seq: i64,
    pub reason: String,
}

/// One clinic's verdict.
#[derive(Debug, Clone)]
pub struct ClinicChain {
    pub tenant_id: Uuid,
    /// Rows verified (up to the break, if any).
    pub verified: u64,
    /// Links appended to the export.
    pub exported: u64,
    pub broken: Option<ChainBreak>,
}

/// The last link of each clinic an earlier export holds.
#[derive(Debug, Default)]
pub struct ExportedHeads(BTreeMap<Uuid, ExportedLinkV1>);

impl ExportedHeads {
    /// Reads a JSON-lines export; a line that does not parse is an error naming its number.
    pub fn read(reader: impl BufRead) -> anyhow::Result<ExportedHeads> {
        let mut heads = BTreeMap::new();
        for (number, line) in reader.lines().enumerate() {
            let line = line.context("reading the export")?;
            if line.trim().is_empty() {
                continue;
            }
            let link: ExportedLinkV1 = serde_json::from_str(&line).with_context(|| {
                format!("line {} of the export is not a chain link", number + 1)
            })?;
            heads.insert(link.tenant_id, link);
        }
        Ok(ExportedHeads(heads))
    }
}

/// Verifies every clinic's chain (the platform's own included), appending the verified links
/// after those `exported` already holds to `export`, when given.
pub async fn verify_audit<W: Write>(
    pool: &DatabaseConnection,
    exported: &ExportedHeads,
    mut export: Option<&mut W>,
) -> anyhow::Result<Vec<ClinicChain>> {
    let mut verdicts = Vec::new();
    for tenant_id in all_tenants(pool).await? {
        let verdict = verify_clinic(
            pool,
            tenant_id,
            exported.0.get(&tenant_id),
            export.as_deref_mut(),
        )
        .await
        .with_context(|| format!("verifying the audit chain of clinic {tenant_id}"))?;
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

async fn all_tenants(pool: &DatabaseConnection) -> anyhow::Result<Vec<Uuid>> {
    let tx = db::begin_tenant_transaction(pool, &TenantScope::platform_work(Uuid::nil())).await?;
    let rows = tx
        .query_all_raw(statement("select id from tenants order by id", []))
        .await?;
    tx.rollback().await?;
    Ok(rows
        .iter()
        .map(|row| row.try_get("", "id"))
        .collect::<Result<_, _>>()?)
}

/// The reading side of a clinic's audit log: its ClinicAdmin's grant, on no user's behalf.
fn audit_review(tenant_id: Uuid) -> TenantScope {
    TenantScope {
        role: Some(Role::ClinicAdmin),
        ..TenantScope::server_work(tenant_id)
    }
}

/// A row as stored, with the hash its content computes to now.
struct StoredLink {
    link: ExportedLinkV1,
    previous_hash: Option<Vec<u8>>,
    row_hash: Vec<u8>,
    recomputed: Vec<u8>,
}

async fn verify_clinic<W: Write>(
    pool: &DatabaseConnection,
    tenant_id: Uuid,
    exported_head: Option<&ExportedLinkV1>,
    mut export: Option<&mut W>,
) -> anyhow::Result<ClinicChain> {
    let tx = db::begin_tenant_transaction(pool, &audit_review(tenant_id)).await?;
    let mut verdict = ClinicChain {
        tenant_id,
        verified: 0,
        exported: 0,
        broken: None,
    };
    let mut last: Option<StoredLink> = None;
    'pages: loop {
        let after = last.as_ref().map_or(0, |link| link.link.chain_seq);
        let page = page_after(&tx, tenant_id, after).await?;
        let full = page.len() as i64 == PAGE;
        for stored in page {
            if let Some(broken) = first_fault(last.as_ref(), &stored, exported_head) {
                verdict.broken = Some(broken);
                break 'pages;
            }
            verdict.verified += 1;
            let beyond_export =
                exported_head.is_none_or(|head| stored.link.chain_seq > head.chain_seq);
            if let (Some(out), true) = (export.as_deref_mut(), beyond_export) {
                serde_json::to_writer(&mut *out, &stored.link)?;
                out.write_all(b"\n")?;
                verdict.exported += 1;
            }
            last = Some(stored);
        }
        if !full {
            break;
        }
    }
    tx.rollback().await?;
    if verdict.broken.is_none() {
        verdict.broken = missing_tail(last.as_ref(), exported_head);
    }
    Ok(verdict)
}

async fn page_after(
    tx: &TenantTransaction,
    tenant_id: Uuid,
    after: i64,
) -> anyhow::Result<Vec<StoredLink>> {
    let rows = tx
        .query_all_raw(statement(
            "select id, chain_seq, previous_hash, row_hash, entity_name, entity_id, action,
                    occurred_at,
                    audit_chain_digest(previous_hash, tenant_id, chain_seq, id, entity_name,
                                       entity_id, user_id, api_key_id, action, old_values,
                                       new_values, occurred_at) as recomputed
               from audit_logs
              where tenant_id = $1 and chain_seq > $2
              order by chain_seq
              limit $3",
            [tenant_id.into(), after.into(), PAGE.into()],
        ))
        .await?;
    rows.iter().map(|row| stored_link(tenant_id, row)).collect()
}

fn stored_link(tenant_id: Uuid, row: &QueryResult) -> anyhow::Result<StoredLink> {
    let previous_hash: Option<Vec<u8>> = row.try_get("", "previous_hash")?;
    let row_hash: Vec<u8> = row.try_get("", "row_hash")?;
    let occurred_at: DateTime<Utc> = row.try_get("", "occurred_at")?;
    Ok(StoredLink {
        link: ExportedLinkV1 {
            tenant_id,
            chain_seq: row.try_get("", "chain_seq")?,
            id: row.try_get("", "id")?,
            occurred_at: occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            entity_name: row.try_get("", "entity_name")?,
            entity_id: row.try_get("", "entity_id")?,
            action: row.try_get("", "action")?,
            previous_hash: previous_hash.as_deref().map(hex),
            row_hash: hex(&row_hash),
        },
        previous_hash,
        row_hash,
        recomputed: row.try_get("", "recomputed")?,
    })
}

/// What is wrong with `stored`, following `last` (None: the clinic's first row), if anything.
fn first_fault(
    last: Option<&StoredLink>,
    stored: &StoredLink,
    exported_head: Option<&ExportedLinkV1>,
) -> Option<ChainBreak> {
    let expected_seq = last.map_or(1, |link| link.link.chain_seq + 1);
    let at = |reason: String| {
        Some(ChainBreak {
            audit_id: Some(stored.link.id),
            chain_seq: stored.link.chain_seq,
            reason,
        })
    };
    if stored.link.chain_seq != expected_seq {
        return at(format!(
            "chain_seq {} follows {}: the rows numbered {expected_seq} to {} are missing",
            stored.link.chain_seq,
            expected_seq - 1,
            stored.link.chain_seq - 1
        ));
    }
    if stored.previous_hash.as_deref() != last.map(|link| link.row_hash.as_slice()) {
        return at(
            "its previous_hash is not the hash of the row before it: a row before it \
                   was changed, removed or moved"
                .to_owned(),
        );
    }
    if stored.recomputed != stored.row_hash {
        return at("its content does not match its row_hash: the row was changed".to_owned());
    }
    match exported_head {
        Some(head) if head.chain_seq == stored.link.chain_seq && *head != stored.link => at(
            "it differs from the link the export holds for it: the chain was rewritten from \
             here or before"
                .to_owned(),
        ),
        _ => None,
    }
}

/// A chain that ends before the export's last link lost its tail.
fn missing_tail(
    last: Option<&StoredLink>,
    exported_head: Option<&ExportedLinkV1>,
) -> Option<ChainBreak> {
    let last_seq = last.map_or(0, |link| link.link.chain_seq);
    let head = exported_head.filter(|head| head.chain_seq > last_seq)?;
    Some(ChainBreak {
        audit_id: None,
        chain_seq: last_seq + 1,
        reason: format!(
            "the chain ends at chain_seq {last_seq} but the export holds rows up to {} (row id \
             {}): rows were removed from its end",
            head.chain_seq, head.id
        ),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

//! Billing queries on the request's tenant transaction. The ledger is append-only: every change
//! to what a patient owes is a new balanced journal entry, and balances are sums over it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QueryResult,
    QuerySelect, Select,
};
use uuid::Uuid;

use crate::billing::entity::invoice;
use crate::billing::model::{EntryKind, InvoiceKind, InvoiceStatus, PaymentMethod};
use crate::foundation::db::{TenantTransaction, statement};

/// Money as the API shows it: always two decimal places ("0.00", not "0").
fn money(mut amount: Decimal) -> Decimal {
    amount.rescale(2);
    amount
}

fn invoice_by_id(tenant_id: Uuid, id: Uuid) -> Select<invoice::Entity> {
    invoice::Entity::find()
        .filter(invoice::Column::TenantId.eq(tenant_id))
        .filter(invoice::Column::Id.eq(id))
}

pub async fn find_invoice(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<invoice::Model>, DbErr> {
    invoice_by_id(tenant_id, id).one(db).await
}

/// The invoice, locked until the transaction ends: postings to one invoice queue here, so each
/// sees the balance the previous one left.
pub async fn lock_invoice(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<invoice::Model>, DbErr> {
    invoice_by_id(tenant_id, id).lock_exclusive().one(db).await
}

pub async fn invoice_for_appointment(
    db: &TenantTransaction,
    tenant_id: Uuid,
    appointment_id: Uuid,
) -> Result<Option<invoice::Model>, DbErr> {
    invoice::Entity::find()
        .filter(invoice::Column::TenantId.eq(tenant_id))
        .filter(invoice::Column::AppointmentId.eq(appointment_id))
        .one(db)
        .await
}

pub async fn insert_invoice(
    db: &TenantTransaction,
    tenant_id: Uuid,
    appointment_id: Uuid,
    (total, kind): (Decimal, InvoiceKind),
    status: InvoiceStatus,
) -> Result<Uuid, DbErr> {
    let id = Uuid::new_v4();
    db.execute_raw(statement(
        "insert into invoices (tenant_id, id, appointment_id, total_amount, status, kind)
         values ($1, $2, $3, $4, $5, $6)",
        [
            tenant_id.into(),
            id.into(),
            appointment_id.into(),
            total.into(),
            status.as_str().into(),
            kind.as_str().into(),
        ],
    ))
    .await?;
    Ok(id)
}

pub async fn set_invoice_status(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
    status: InvoiceStatus,
) -> Result<(), DbErr> {
    invoice::Entity::update_many()
        .col_expr(invoice::Column::Status, Expr::value(status.as_str()))
        .col_expr(invoice::Column::UpdatedAt, Expr::cust("now()"))
        .filter(invoice::Column::TenantId.eq(tenant_id))
        .filter(invoice::Column::Id.eq(id))
        .filter(invoice::Column::Status.ne(status.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// A posting to make.
pub struct Posting<'a> {
    pub tenant_id: Uuid,
    pub invoice_id: Uuid,
    pub kind: EntryKind,
    pub amount: Decimal,
    pub idempotency_key: Option<&'a str>,
    pub memo: Option<&'a str>,
    pub method: Option<PaymentMethod>,
    pub created_by: Uuid,
}

/// A journal entry as the API shows it: one debit and one credit of `amount`.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub kind: EntryKind,
    pub amount: Decimal,
    pub idempotency_key: Option<String>,
    pub memo: Option<String>,
    pub method: Option<PaymentMethod>,
    pub created_at: DateTime<Utc>,
}

/// Posts a balanced entry: the kind's debit and credit of `amount`. Two plain inserts with their
/// values, each of one clinic's rows, so that Citus routes each to the clinic's shard as it is:
/// an INSERT … SELECT (as from a CTE) would be run through the coordinator as a COPY, which
/// row-level security refuses, with the line ids drawn from a sequence the application role may
/// not use.
pub async fn post(db: &TenantTransaction, posting: Posting<'_>) -> Result<Uuid, DbErr> {
    let id = Uuid::new_v4();
    let (debit, credit) = posting.kind.accounts();
    db.execute_raw(statement(
        "insert into journal_entries
           (tenant_id, id, invoice_id, kind, idempotency_key, memo, payment_method, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            posting.tenant_id.into(),
            id.into(),
            posting.invoice_id.into(),
            posting.kind.as_str().into(),
            posting.idempotency_key.map(str::to_owned).into(),
            posting.memo.map(str::to_owned).into(),
            posting
                .method
                .map(|method| method.as_str().to_owned())
                .into(),
            posting.created_by.into(),
        ],
    ))
    .await?;
    db.execute_raw(statement(
        "insert into ledger_lines (tenant_id, entry_id, account, side, amount)
         values ($1, $2, $3, 'Debit', $5), ($1, $2, $4, 'Credit', $5)",
        [
            posting.tenant_id.into(),
            id.into(),
            debit.into(),
            credit.into(),
            posting.amount.into(),
        ],
    ))
    .await?;
    Ok(id)
}

/// An entry's columns, for statements whose `$1` is the clinic: the amount's sub-select names the
/// clinic by that parameter too, so Citus routes the whole statement to the clinic's shard (a
/// correlated `l.tenant_id = e.tenant_id` alone made it ask every shard).
const ENTRY_COLUMNS: &str = "e.id, e.invoice_id, e.kind, e.idempotency_key, e.memo, e.payment_method,
   e.created_at, (select max(amount) from ledger_lines l where l.tenant_id = $1 and l.entry_id = e.id)";

fn entry(row: &QueryResult) -> Result<Entry, DbErr> {
    let kind: String = row.try_get_by_index(2)?;
    let method: Option<String> = row.try_get_by_index(5)?;
    let method = match method {
        None => None,
        Some(stored) => Some(
            PaymentMethod::parse(&stored)
                .ok_or_else(|| DbErr::Type(format!("unknown payment method {stored}")))?,
        ),
    };
    Ok(Entry {
        id: row.try_get_by_index(0)?,
        invoice_id: row.try_get_by_index(1)?,
        kind: EntryKind::parse(&kind)
            .ok_or_else(|| DbErr::Type(format!("unknown entry kind {kind}")))?,
        idempotency_key: row.try_get_by_index(3)?,
        memo: row.try_get_by_index(4)?,
        method,
        created_at: row.try_get_by_index(6)?,
        amount: row.try_get_by_index(7)?,
    })
}

/// The entry posted under `key`, if any.
pub async fn entry_by_key(
    db: &TenantTransaction,
    tenant_id: Uuid,
    key: &str,
) -> Result<Option<Entry>, DbErr> {
    db.query_one_raw(statement(
        &format!(
            "select {ENTRY_COLUMNS} from journal_entries e
              where e.tenant_id = $1 and e.idempotency_key = $2"
        ),
        [tenant_id.into(), key.into()],
    ))
    .await?
    .as_ref()
    .map(entry)
    .transpose()
}

/// Holds the idempotency key until the transaction ends, so two requests carrying one key (for
/// the same invoice or not) take turns, and the second finds the first's entry.
/// The lock is the clinic's own: keys are unique per clinic, and another clinic's request with
/// the same key must not wait for this one.
pub async fn lock_idempotency_key(db: &TenantTransaction, key: &str) -> Result<(), DbErr> {
    db.execute_raw(statement(
        "select pg_advisory_xact_lock(hashtextextended('idempotency:' || $1::text || ':' || $2, 0))",
        [db.tenant_id().into(), key.into()],
    ))
    .await?;
    Ok(())
}

/// The invoice's void entry, if it has been voided.
pub async fn void_entry(
    db: &TenantTransaction,
    tenant_id: Uuid,
    invoice_id: Uuid,
) -> Result<Option<Entry>, DbErr> {
    db.query_one_raw(statement(
        &format!(
            "select {ENTRY_COLUMNS} from journal_entries e
              where e.tenant_id = $1 and e.invoice_id = $2 and e.kind = 'Void'"
        ),
        [tenant_id.into(), invoice_id.into()],
    ))
    .await?
    .as_ref()
    .map(entry)
    .transpose()
}

pub async fn find_entry(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Entry>, DbErr> {
    db.query_one_raw(statement(
        &format!(
            "select {ENTRY_COLUMNS} from journal_entries e where e.tenant_id = $1 and e.id = $2"
        ),
        [tenant_id.into(), id.into()],
    ))
    .await?
    .as_ref()
    .map(entry)
    .transpose()
}

/// An invoice's standing, summed from its ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Totals {
    /// Accounts receivable: what the patient still owes.
    pub balance: Decimal,
    /// Payments less refunds.
    pub net_paid: Decimal,
    pub voided: bool,
}

impl Totals {
    /// Where the invoice stands: derived from its ledger, never stored on its own.
    pub fn status(&self) -> InvoiceStatus {
        if self.voided {
            InvoiceStatus::Void
        } else if self.balance.is_zero() {
            InvoiceStatus::Paid
        } else {
            InvoiceStatus::Open
        }
    }
}

/// The totals of each of `invoice_ids`, in one query.
pub async fn totals(
    db: &TenantTransaction,
    tenant_id: Uuid,
    invoice_ids: &[Uuid],
) -> Result<HashMap<Uuid, Totals>, DbErr> {
    let rows = db
        .query_all_raw(statement(
            "select e.invoice_id,
                    coalesce(sum(case when l.account = 'AccountsReceivable'
                                      then case l.side when 'Debit' then l.amount else -l.amount end end), 0),
                    coalesce(sum(case when l.account = 'Cash'
                                      then case l.side when 'Debit' then l.amount else -l.amount end end), 0),
                    bool_or(e.kind = 'Void')
               from journal_entries e
               join ledger_lines l on l.tenant_id = e.tenant_id and l.entry_id = e.id
              where e.tenant_id = $1 and e.invoice_id = any($2)
              group by e.invoice_id",
            [tenant_id.into(), invoice_ids.to_vec().into()],
        ))
        .await?;
    let none = Totals {
        balance: money(Decimal::ZERO),
        net_paid: money(Decimal::ZERO),
        voided: false,
    };
    let mut totals: HashMap<Uuid, Totals> = invoice_ids.iter().map(|id| (*id, none)).collect();
    for row in rows {
        totals.insert(
            row.try_get_by_index(0)?,
            Totals {
                balance: money(row.try_get_by_index(1)?),
                net_paid: money(row.try_get_by_index(2)?),
                voided: row.try_get_by_index(3)?,
            },
        );
    }
    Ok(totals)
}

/// A ledger line as stored.
#[derive(Clone)]
pub struct Line {
    pub entry_id: Uuid,
    pub kind: String,
    pub account: String,
    pub side: String,
    pub amount: Decimal,
    pub posted_at: DateTime<Utc>,
}

/// The ledger lines of each of `invoice_ids`, oldest first, in one query.
pub async fn lines(
    db: &TenantTransaction,
    tenant_id: Uuid,
    invoice_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Line>>, DbErr> {
    let rows = db
        .query_all_raw(statement(
            "select e.invoice_id, e.id, e.kind, l.account, l.side, l.amount, l.created_at
               from journal_entries e
               join ledger_lines l on l.tenant_id = e.tenant_id and l.entry_id = e.id
              where e.tenant_id = $1 and e.invoice_id = any($2)
              order by l.id",
            [tenant_id.into(), invoice_ids.to_vec().into()],
        ))
        .await?;
    let mut lines: HashMap<Uuid, Vec<Line>> =
        invoice_ids.iter().map(|id| (*id, Vec::new())).collect();
    for row in rows {
        let invoice_id: Uuid = row.try_get_by_index(0)?;
        lines.entry(invoice_id).or_default().push(Line {
            entry_id: row.try_get_by_index(1)?,
            kind: row.try_get_by_index(2)?,
            account: row.try_get_by_index(3)?,
            side: row.try_get_by_index(4)?,
            amount: row.try_get_by_index(5)?,
            posted_at: row.try_get_by_index(6)?,
        });
    }
    Ok(lines)
}

/// Which invoices to list.
#[derive(Default)]
pub struct InvoiceFilter {
    pub status: Option<InvoiceStatus>,
    pub patient_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A page of invoices, newest first, before the `before` key.
pub async fn list_invoices(
    db: &TenantTransaction,
    tenant_id: Uuid,
    filter: &InvoiceFilter,
    before: Option<&(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<invoice::Model>, DbErr> {
    let mut query = invoice::Entity::find().filter(invoice::Column::TenantId.eq(tenant_id));
    if let Some(status) = filter.status {
        query = query.filter(invoice::Column::Status.eq(status.as_str()));
    }
    if let Some(patient_id) = filter.patient_id {
        query = query.filter(Expr::cust_with_values(
            "appointment_id in (select a.id from appointments a
                                 where a.tenant_id = $1 and a.patient_id = $2)",
            [tenant_id, patient_id],
        ));
    }
    if let Some(from) = filter.from {
        query = query.filter(invoice::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(invoice::Column::CreatedAt.lt(to));
    }
    if let Some((created_at, id)) = before {
        query = query.filter(
            Expr::tuple([
                Expr::col(invoice::Column::CreatedAt),
                Expr::col(invoice::Column::Id),
            ])
            .lt(Expr::tuple([Expr::val(*created_at), Expr::val(*id)])),
        );
    }
    query
        .order_by_desc(invoice::Column::CreatedAt)
        .order_by_desc(invoice::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Open balances of the clinic by invoice age in days, counted in the clinic's time zone:
/// [0–30, 31–60, 61–90, over 90].
pub async fn aging(
    db: &TenantTransaction,
    tenant_id: Uuid,
    today: DateTime<Utc>,
) -> Result<[Decimal; 4], DbErr> {
    let row = db
        .query_one_raw(statement(
            "with balances as (
               select i.created_at,
                      sum(case l.side when 'Debit' then l.amount else -l.amount end) as balance
                 from invoices i
                 join journal_entries e on e.tenant_id = i.tenant_id and e.invoice_id = i.id
                 join ledger_lines l on l.tenant_id = e.tenant_id and l.entry_id = e.id
                where i.tenant_id = $2 and l.account = 'AccountsReceivable' and i.status = 'Open'
                group by i.id, i.created_at)
             select coalesce(sum(balance) filter (where age <= 30), 0),
                    coalesce(sum(balance) filter (where age between 31 and 60), 0),
                    coalesce(sum(balance) filter (where age between 61 and 90), 0),
                    coalesce(sum(balance) filter (where age > 90), 0)
               from (select balance,
                            (($1::timestamptz at time zone zone.name)::date
                             - (created_at at time zone zone.name)::date) as age
                       from balances,
                            (select time_zone as name from tenants where id = $2) zone
                      where balance > 0) aged",
            [today.into(), tenant_id.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("aging".to_owned()))?;
    Ok([
        money(row.try_get_by_index(0)?),
        money(row.try_get_by_index(1)?),
        money(row.try_get_by_index(2)?),
        money(row.try_get_by_index(3)?),
    ])
}

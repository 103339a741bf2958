//! Billing's rules, with no GraphQL in sight: postings made once (idempotency keys, the
//! invoice's row lock, the limits each kind of posting obeys) and the invoice a completed
//! appointment raises. Each takes the request's tenant transaction and the principal acting; the
//! ledger's balance and immutability are the database's to enforce (schema.sql).

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::billing::entity::invoice;
use crate::billing::model::{EntryKind, InvoiceKind, InvoiceStatus, PaymentMethod, amount};
use crate::billing::store::{self, Entry, Posting, Totals};
use crate::foundation::access::{Permission, Principal};
use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;
use crate::foundation::input::required_line;

/// A posting made (or, for a retry, made the first time) and its invoice as it stands now.
pub struct Posted {
    pub invoice: invoice::Model,
    pub totals: Totals,
    pub entry: Entry,
}

/// A posting a mutation asks for.
struct PostingRequest {
    invoice_id: Uuid,
    kind: EntryKind,
    /// `None` for a void, which posts whatever is still owed.
    amount: Option<Decimal>,
    idempotency_key: Option<String>,
    memo: Option<String>,
    method: Option<PaymentMethod>,
}

/// A payment, refund or write-off as the client sent it, checked by `post_amount`.
pub struct AmountPosting {
    pub invoice_id: Uuid,
    pub kind: EntryKind,
    pub amount: Decimal,
    pub idempotency_key: String,
    /// The reason, for a refund or write-off.
    pub reason: Option<String>,
    /// The method, for a payment.
    pub method: Option<PaymentMethod>,
}

/// Where the keys of fee charges begin (`bill_fee`); a client's key may not, so it can never
/// take a fee's place.
const FEE_KEY_PREFIX: &str = "fee:";

fn idempotency_key(raw: &str) -> Result<String, ApiError> {
    let key = required_line("input.idempotencyKey", raw, 200)?;
    if key.starts_with(FEE_KEY_PREFIX) {
        return Err(ApiError::bad_input(
            "input.idempotencyKey",
            format!(
                "may not begin with \"{FEE_KEY_PREFIX}\", which the server's own fee charges use"
            ),
        ));
    }
    Ok(key)
}

/// Posts `request` once. Under the idempotency key's lock and the invoice's row lock it answers
/// a retry with the entry posted the first time (CONFLICT if the key named another posting),
/// checks `rule` against the invoice as it stands, then posts and answers.
async fn post_once(
    db: &TenantTransaction,
    principal: &Principal,
    request: PostingRequest,
    rule: impl FnOnce(&Totals) -> Result<Decimal, ApiError>,
) -> Result<Posted, ApiError> {
    if let Some(key) = &request.idempotency_key {
        store::lock_idempotency_key(db, key).await?;
    }
    let model = store::lock_invoice(db, db.tenant_id(), request.invoice_id)
        .await?
        .ok_or_else(|| ApiError::not_found("invoice"))?;
    if let Some(entry) = earlier_posting(db, &request).await? {
        return answer(db, model, entry).await;
    }
    let totals = invoice_totals(db, model.id).await?;
    if totals.voided {
        return Err(ApiError::bad_input(
            "input.invoiceId",
            "the invoice is void; nothing more can be posted to it",
        ));
    }
    let amount = rule(&totals)?;
    let entry_id = store::post(
        db,
        Posting {
            tenant_id: db.tenant_id(),
            invoice_id: model.id,
            kind: request.kind,
            amount,
            idempotency_key: request.idempotency_key.as_deref(),
            memo: request.memo.as_deref(),
            method: request.method,
            created_by: principal.user_id()?,
        },
    )
    .await?;
    let totals = invoice_totals(db, model.id).await?;
    store::set_invoice_status(db, db.tenant_id(), model.id, totals.status()).await?;
    let entry = store::find_entry(db, db.tenant_id(), entry_id)
        .await?
        .ok_or_else(ApiError::internal)?;
    Ok(Posted {
        invoice: model,
        totals,
        entry,
    })
}

/// The entry an earlier identical request posted: by idempotency key, or for a void, the
/// invoice's void. CONFLICT when the key was used for a different posting.
async fn earlier_posting(
    db: &TenantTransaction,
    request: &PostingRequest,
) -> Result<Option<Entry>, ApiError> {
    let earlier = match &request.idempotency_key {
        Some(key) => store::entry_by_key(db, db.tenant_id(), key).await?,
        None if request.kind == EntryKind::Void => {
            store::void_entry(db, db.tenant_id(), request.invoice_id).await?
        }
        None => None,
    };
    let Some(entry) = earlier else {
        return Ok(None);
    };
    let same = entry.invoice_id == request.invoice_id
        && entry.kind == request.kind
        && request.amount.is_none_or(|amount| amount == entry.amount)
        && entry.memo == request.memo
        && entry.method == request.method;
    if !same {
        return Err(ApiError::conflict(
            "this idempotency key was already used for a different posting; use a new key for \
             a new payment, refund or write-off",
        ));
    }
    Ok(Some(entry))
}

pub async fn invoice_totals(db: &TenantTransaction, invoice_id: Uuid) -> Result<Totals, ApiError> {
    store::totals(db, db.tenant_id(), &[invoice_id])
        .await?
        .remove(&invoice_id)
        .ok_or_else(ApiError::internal)
}

/// The answer to a retry: the entry as first posted, the invoice as it stands now.
async fn answer(
    db: &TenantTransaction,
    model: invoice::Model,
    entry: Entry,
) -> Result<Posted, ApiError> {
    let totals = invoice_totals(db, model.id).await?;
    Ok(Posted {
        invoice: model,
        totals,
        entry,
    })
}

/// Posts a payment, refund or write-off once, as `post_once` describes: a payment or write-off
/// up to the balance, a refund up to what was paid. BillingManager and ClinicAdmin; the role is
/// checked before the input.
pub async fn post_amount(
    db: &TenantTransaction,
    principal: &Principal,
    posting: AmountPosting,
) -> Result<Posted, ApiError> {
    principal.require(Permission::PostPayments)?;
    let (kind, amount) = (posting.kind, amount("input.amount", posting.amount)?);
    let request = PostingRequest {
        invoice_id: posting.invoice_id,
        kind,
        amount: Some(amount),
        idempotency_key: Some(idempotency_key(&posting.idempotency_key)?),
        memo: posting
            .reason
            .map(|reason| required_line("input.reason", &reason, 500))
            .transpose()?,
        method: posting.method,
    };
    post_once(db, principal, request, |totals| {
        let (ceiling, what) = match kind {
            EntryKind::Refund => (totals.net_paid, "was paid"),
            _ => (totals.balance, "the balance"),
        };
        if amount > ceiling {
            return Err(ApiError::bad_input(
                "input.amount",
                format!("is more than {what} ({ceiling})"),
            ));
        }
        Ok(amount)
    })
    .await
}

/// Voids an invoice nothing has been paid on, posting the entry that reverses what is still
/// owed; voiding again answers with the void already posted. BillingManager and ClinicAdmin.
pub async fn void(
    db: &TenantTransaction,
    principal: &Principal,
    invoice_id: Uuid,
    reason: &str,
) -> Result<Posted, ApiError> {
    principal.require(Permission::PostPayments)?;
    let request = PostingRequest {
        invoice_id,
        kind: EntryKind::Void,
        amount: None,
        idempotency_key: None,
        memo: Some(required_line("reason", reason, 500)?),
        method: None,
    };
    post_once(db, principal, request, |totals| {
        if !totals.net_paid.is_zero() {
            return Err(ApiError::bad_input(
                "invoiceId",
                format!(
                    "{} has been paid on this invoice; refund it before voiding",
                    totals.net_paid
                ),
            ));
        }
        if totals.balance <= Decimal::ZERO {
            return Err(ApiError::bad_input(
                "invoiceId",
                "nothing is owed on this invoice, so there is nothing to void",
            ));
        }
        Ok(totals.balance)
    })
    .await
}

/// Billing's part of completing an appointment, in the same transaction: one invoice for the
/// price agreed at booking, and its charge. A retry that finds the invoice does nothing.
pub async fn bill_completed_appointment(
    db: &TenantTransaction,
    principal: &Principal,
    appointment_id: Uuid,
    price: Decimal,
) -> Result<(), ApiError> {
    if store::invoice_for_appointment(db, db.tenant_id(), appointment_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let free = price.is_zero();
    let status = if free {
        InvoiceStatus::Paid
    } else {
        InvoiceStatus::Open
    };
    let tenant_id = db.tenant_id();
    let invoice_id = store::insert_invoice(
        db,
        tenant_id,
        appointment_id,
        (price, InvoiceKind::Visit),
        status,
    )
    .await?;
    if !free {
        store::post(
            db,
            Posting {
                tenant_id,
                invoice_id,
                kind: EntryKind::Charge,
                amount: price,
                idempotency_key: None,
                memo: None,
                method: None,
                created_by: principal.user_id()?,
            },
        )
        .await?;
    }
    Ok(())
}

/// Billing's part of a late cancellation or a no-show, in the same transaction: an invoice of
/// the fee's kind for the appointment, and its charge on the ledger, as for a visit. Posted once:
/// a retry that finds the appointment's invoice does nothing, and the database holds the line
/// (one invoice per appointment; the charge's idempotency key, one per appointment and kind).
pub async fn bill_fee(
    db: &TenantTransaction,
    principal: &Principal,
    appointment_id: Uuid,
    kind: InvoiceKind,
    fee: Decimal,
) -> Result<(), ApiError> {
    if kind == InvoiceKind::Visit || fee <= Decimal::ZERO {
        return Err(ApiError::internal());
    }
    if store::invoice_for_appointment(db, db.tenant_id(), appointment_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let tenant_id = db.tenant_id();
    let invoice_id = store::insert_invoice(
        db,
        tenant_id,
        appointment_id,
        (fee, kind),
        InvoiceStatus::Open,
    )
    .await?;
    let key = format!("{FEE_KEY_PREFIX}{}:{appointment_id}", kind.as_str());
    store::post(
        db,
        Posting {
            tenant_id,
            invoice_id,
            kind: EntryKind::Charge,
            amount: fee,
            idempotency_key: Some(&key),
            memo: None,
            method: None,
            created_by: principal.user_id()?,
        },
    )
    .await?;
    Ok(())
}

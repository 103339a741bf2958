//! Billing over GraphQL: invoices with their ledger and balance, payments, refunds, write-offs
//! and voids (each a new balanced journal entry), and the clinic's receivables by age.

use async_graphql::connection::Connection;
use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::billing::entity::invoice;
use crate::billing::model::{EntryKind, InvoiceStatus, PaymentMethod, amount};
use crate::billing::store::{self, Entry, InvoiceFilter, Posting, Totals};
use crate::identity::Permission;
use crate::patients::Patient;
use crate::platform::error::ApiError;
use crate::platform::graphql::{Session, session};
use crate::platform::input::required_line;
use crate::platform::paging::{PageRequest, connection};
use crate::scheduling::Appointment;

/// What a patient is billed for one completed appointment, and where that bill stands.
#[derive(Clone)]
pub struct Invoice {
    model: invoice::Model,
    totals: Totals,
}

impl Invoice {
    pub fn new(model: invoice::Model, totals: Totals) -> Invoice {
        Invoice { model, totals }
    }

    fn status_value(&self) -> InvoiceStatus {
        if self.totals.voided {
            InvoiceStatus::Void
        } else if self.totals.balance.is_zero() {
            InvoiceStatus::Paid
        } else {
            InvoiceStatus::Open
        }
    }
}

#[Object]
impl Invoice {
    async fn id(&self) -> Uuid {
        self.model.id
    }

    /// The appointment type's price when it was booked.
    async fn total(&self) -> Decimal {
        self.model.total_amount
    }

    /// What is still owed: the invoice's accounts-receivable balance in the ledger.
    async fn balance(&self) -> Decimal {
        self.totals.balance
    }

    /// Payments less refunds.
    async fn net_paid(&self) -> Decimal {
        self.totals.net_paid
    }

    /// Open while anything is owed, Paid at zero, Void once voided.
    async fn status(&self) -> InvoiceStatus {
        self.status_value()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at.into()
    }

    /// Every ledger line posted for this invoice, oldest first.
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<LedgerLine>, ApiError> {
        let session = session(ctx)?;
        Ok(store::lines(session.db(), self.model.id)
            .await?
            .into_iter()
            .map(
                |(entry_id, kind, account, side, amount, posted_at)| LedgerLine {
                    entry_id,
                    kind,
                    account,
                    side,
                    amount,
                    posted_at,
                },
            )
            .collect())
    }

    async fn appointment(&self, ctx: &Context<'_>) -> Result<Option<Appointment>, ApiError> {
        let session = session(ctx)?;
        Ok(session
            .loaders
            .appointments
            .load_one(self.model.appointment_id)
            .await?
            .map(Appointment::new))
    }

    /// Names and date of birth for everyone who may see invoices; contact and medical details
    /// only for the roles allowed them. Null if the patient has since been deleted.
    async fn patient(&self, ctx: &Context<'_>) -> Result<Option<Patient>, ApiError> {
        let session = session(ctx)?;
        let Some(appointment) = session
            .loaders
            .appointments
            .load_one(self.model.appointment_id)
            .await?
        else {
            return Ok(None);
        };
        Ok(session
            .loaders
            .patients
            .load_one(appointment.patient_id)
            .await?
            .map(Patient::new))
    }
}

/// One side of a journal entry.
#[derive(SimpleObject)]
pub struct LedgerLine {
    pub entry_id: Uuid,
    /// Charge, Payment, Refund, WriteOff or Void.
    pub kind: String,
    /// AccountsReceivable, Revenue, Cash or BadDebt.
    pub account: String,
    /// Debit or Credit.
    pub side: String,
    pub amount: Decimal,
    pub posted_at: DateTime<Utc>,
}

/// A posting: one debit and one credit of `amount`.
#[derive(SimpleObject)]
pub struct JournalEntry {
    pub id: Uuid,
    pub kind: EntryKind,
    pub amount: Decimal,
    pub idempotency_key: Option<String>,
    /// The reason given for a refund, write-off or void.
    pub memo: Option<String>,
    pub payment_method: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Entry> for JournalEntry {
    fn from(entry: Entry) -> Self {
        JournalEntry {
            id: entry.id,
            kind: entry.kind,
            amount: entry.amount,
            idempotency_key: entry.idempotency_key,
            memo: entry.memo,
            payment_method: entry.method,
            created_at: entry.created_at,
        }
    }
}

/// The entry a billing mutation posted (or, for a retried payment or refund, had posted) and
/// the invoice as it now stands.
#[derive(SimpleObject)]
pub struct PostingPayload {
    pub entry: JournalEntry,
    pub invoice: Invoice,
}

/// Open balances by invoice age.
#[derive(SimpleObject)]
pub struct ReceivablesAging {
    pub days_0_to_30: Decimal,
    pub days_31_to_60: Decimal,
    pub days_61_to_90: Decimal,
    pub over_90_days: Decimal,
    pub total: Decimal,
}

#[derive(InputObject)]
pub struct RecordPaymentInput {
    pub invoice_id: Uuid,
    /// More than 0, at most 2 decimal places, at most the balance.
    pub amount: Decimal,
    pub method: PaymentMethod,
    /// Chosen by the client, one per payment: sending the same payment again with the same key
    /// records it once and answers as the first time did.
    pub idempotency_key: String,
}

#[derive(InputObject)]
pub struct RefundPaymentInput {
    pub invoice_id: Uuid,
    /// At most what has been paid (less earlier refunds).
    pub amount: Decimal,
    pub reason: String,
    pub idempotency_key: String,
}

#[derive(InputObject)]
pub struct WriteOffInvoiceInput {
    pub invoice_id: Uuid,
    /// At most the balance.
    pub amount: Decimal,
    pub reason: String,
}

async fn invoice_with_totals(
    session: &Session,
    model: invoice::Model,
) -> Result<Invoice, ApiError> {
    let totals = store::totals(session.db(), &[model.id]).await?;
    let totals = totals.get(&model.id).copied().unwrap_or_default();
    Ok(Invoice::new(model, totals))
}

/// The invoice, locked for this posting, with its totals; NOT_FOUND for another clinic's.
async fn locked_invoice(session: &Session, id: Uuid) -> Result<Invoice, ApiError> {
    let model = store::lock_invoice(session.db(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("invoice"))?;
    invoice_with_totals(session, model).await
}

fn idempotency_key(raw: &str) -> Result<String, ApiError> {
    required_line("input.idempotencyKey", raw, 200)
}

/// For a retried payment or refund: the entry posted the first time, if the key was used for
/// exactly this posting; CONFLICT if it was used for another.
async fn replayed(
    session: &Session,
    key: &str,
    invoice_id: Uuid,
    kind: EntryKind,
    amount: Decimal,
) -> Result<Option<Entry>, ApiError> {
    let Some(entry) = store::entry_by_key(session.db(), key).await? else {
        return Ok(None);
    };
    if entry.invoice_id != invoice_id || entry.kind != kind || entry.amount != amount {
        return Err(ApiError::conflict(
            "this idempotency key was already used for a different posting; use a new key for a new payment or refund",
        ));
    }
    Ok(Some(entry))
}

/// Posts `kind` for `amount` on the locked invoice and answers with the entry and the invoice
/// as it now stands (its stored status follows the ledger).
async fn post_and_answer(
    session: &Session,
    invoice: Invoice,
    kind: EntryKind,
    amount: Decimal,
    details: (Option<&str>, Option<&str>, Option<PaymentMethod>),
) -> Result<PostingPayload, ApiError> {
    let (idempotency_key, memo, method) = details;
    let entry_id = store::post(
        session.db(),
        Posting {
            tenant_id: session.principal.tenant_id,
            invoice_id: invoice.model.id,
            kind,
            amount,
            idempotency_key,
            memo,
            method,
            created_by: session.principal.user_id,
        },
    )
    .await?;
    answer(session, invoice.model.id, entry_id).await
}

async fn answer(
    session: &Session,
    invoice_id: Uuid,
    entry_id: Uuid,
) -> Result<PostingPayload, ApiError> {
    let model = store::find_invoice(session.db(), invoice_id)
        .await?
        .ok_or_else(ApiError::internal)?;
    let invoice = invoice_with_totals(session, model).await?;
    store::set_invoice_status(session.db(), invoice_id, invoice.status_value()).await?;
    let entry = store::find_entry(session.db(), entry_id)
        .await?
        .ok_or_else(ApiError::internal)?;
    Ok(PostingPayload {
        entry: entry.into(),
        invoice,
    })
}

fn not_void(invoice: &Invoice) -> Result<(), ApiError> {
    if invoice.totals.voided {
        return Err(ApiError::bad_input(
            "input.invoiceId",
            "the invoice is void; nothing more can be posted to it",
        ));
    }
    Ok(())
}

#[derive(Default)]
pub struct BillingQuery;

#[Object]
impl BillingQuery {
    async fn invoice(&self, ctx: &Context<'_>, id: Uuid) -> Result<Invoice, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadBilling)?;
        let model = store::find_invoice(session.db(), id)
            .await?
            .ok_or_else(|| ApiError::not_found("invoice"))?;
        invoice_with_totals(session, model).await
    }

    /// The clinic's invoices, newest first; `from` inclusive and `to` exclusive on the date the
    /// invoice was raised.
    #[graphql(complexity = "crate::platform::paging::complexity(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // one argument per filter of the GraphQL field
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        status: Option<InvoiceStatus>,
        patient_id: Option<Uuid>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Invoice>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadBilling)?;
        let page = PageRequest::<(DateTime<Utc>, Uuid)>::new(first, after.as_deref())?;
        let filter = InvoiceFilter {
            status,
            patient_id,
            from,
            to,
        };
        let models =
            store::list_invoices(session.db(), &filter, page.after.as_ref(), page.limit()).await?;
        let ids: Vec<Uuid> = models.iter().map(|model| model.id).collect();
        let totals = store::totals(session.db(), &ids).await?;
        let rows = models
            .into_iter()
            .map(|model| {
                let key = (model.created_at.into(), model.id);
                let totals = totals.get(&model.id).copied().unwrap_or_default();
                (key, Invoice::new(model, totals))
            })
            .collect();
        Ok(connection(&page, rows))
    }

    /// The clinic's open balances by invoice age in days.
    async fn receivables_aging(&self, ctx: &Context<'_>) -> Result<ReceivablesAging, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadBilling)?;
        let [days_0_to_30, days_31_to_60, days_61_to_90, over_90_days] =
            store::aging(session.db(), Utc::now()).await?;
        Ok(ReceivablesAging {
            days_0_to_30,
            days_31_to_60,
            days_61_to_90,
            over_90_days,
            total: days_0_to_30 + days_31_to_60 + days_61_to_90 + over_90_days,
        })
    }
}

#[derive(Default)]
pub struct BillingMutation;

#[Object]
impl BillingMutation {
    /// Records a payment. BillingManager and ClinicAdmin. Retrying with the same idempotency
    /// key records nothing new and answers as the first time.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        input: RecordPaymentInput,
    ) -> Result<PostingPayload, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::PostPayments)?;
        let amount = amount("input.amount", input.amount)?;
        let key = idempotency_key(&input.idempotency_key)?;
        let invoice = locked_invoice(session, input.invoice_id).await?;
        if let Some(entry) =
            replayed(session, &key, invoice.model.id, EntryKind::Payment, amount).await?
        {
            return answer(session, invoice.model.id, entry.id).await;
        }
        not_void(&invoice)?;
        if amount > invoice.totals.balance {
            return Err(ApiError::bad_input(
                "input.amount",
                format!("is more than the balance of {}", invoice.totals.balance),
            ));
        }
        let details = (Some(key.as_str()), None, Some(input.method));
        post_and_answer(session, invoice, EntryKind::Payment, amount, details).await
    }

    /// Refunds part or all of what was paid; the refunded amount is owed again unless written
    /// off. BillingManager and ClinicAdmin. Idempotent like `recordPayment`.
    async fn refund_payment(
        &self,
        ctx: &Context<'_>,
        input: RefundPaymentInput,
    ) -> Result<PostingPayload, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::PostPayments)?;
        let amount = amount("input.amount", input.amount)?;
        let reason = required_line("input.reason", &input.reason, 500)?;
        let key = idempotency_key(&input.idempotency_key)?;
        let invoice = locked_invoice(session, input.invoice_id).await?;
        if let Some(entry) =
            replayed(session, &key, invoice.model.id, EntryKind::Refund, amount).await?
        {
            return answer(session, invoice.model.id, entry.id).await;
        }
        not_void(&invoice)?;
        if amount > invoice.totals.net_paid {
            return Err(ApiError::bad_input(
                "input.amount",
                format!("is more than was paid ({})", invoice.totals.net_paid),
            ));
        }
        let details = (Some(key.as_str()), Some(reason.as_str()), None);
        post_and_answer(session, invoice, EntryKind::Refund, amount, details).await
    }

    /// Forgives part or all of the balance. BillingManager and ClinicAdmin.
    async fn write_off_invoice(
        &self,
        ctx: &Context<'_>,
        input: WriteOffInvoiceInput,
    ) -> Result<PostingPayload, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::PostPayments)?;
        let amount = amount("input.amount", input.amount)?;
        let reason = required_line("input.reason", &input.reason, 500)?;
        let invoice = locked_invoice(session, input.invoice_id).await?;
        not_void(&invoice)?;
        if amount > invoice.totals.balance {
            return Err(ApiError::bad_input(
                "input.amount",
                format!("is more than the balance of {}", invoice.totals.balance),
            ));
        }
        let details = (None, Some(reason.as_str()), None);
        post_and_answer(session, invoice, EntryKind::WriteOff, amount, details).await
    }

    /// Voids an invoice nothing has been paid on (refund payments first), posting the entry
    /// that reverses what is still owed. BillingManager and ClinicAdmin.
    async fn void_invoice(
        &self,
        ctx: &Context<'_>,
        invoice_id: Uuid,
        reason: String,
    ) -> Result<PostingPayload, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::PostPayments)?;
        let reason = required_line("reason", &reason, 500)?;
        let invoice = locked_invoice(session, invoice_id).await?;
        if invoice.totals.voided {
            return Err(ApiError::bad_input(
                "invoiceId",
                "the invoice is already void",
            ));
        }
        if !invoice.totals.net_paid.is_zero() {
            return Err(ApiError::bad_input(
                "invoiceId",
                format!(
                    "{} has been paid on this invoice; refund it before voiding",
                    invoice.totals.net_paid
                ),
            ));
        }
        if invoice.totals.balance <= Decimal::ZERO {
            return Err(ApiError::bad_input(
                "invoiceId",
                "nothing is owed on this invoice, so there is nothing to void",
            ));
        }
        let balance = invoice.totals.balance;
        let details = (None, Some(reason.as_str()), None);
        post_and_answer(session, invoice, EntryKind::Void, balance, details).await
    }
}

/// Billing's part of completing an appointment, in the same transaction: one invoice for the
/// price agreed at booking, and its charge. A retry that finds the invoice does nothing.
pub async fn bill_completed_appointment(
    session: &Session,
    appointment_id: Uuid,
    price: Decimal,
) -> Result<(), ApiError> {
    if store::invoice_for_appointment(session.db(), appointment_id)
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
    let tenant_id = session.principal.tenant_id;
    let invoice_id =
        store::insert_invoice(session.db(), tenant_id, appointment_id, price, status).await?;
    if !free {
        store::post(
            session.db(),
            Posting {
                tenant_id,
                invoice_id,
                kind: EntryKind::Charge,
                amount: price,
                idempotency_key: None,
                memo: None,
                method: None,
                created_by: session.principal.user_id,
            },
        )
        .await?;
    }
    Ok(())
}

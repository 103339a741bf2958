//! Billing over GraphQL: invoices with their ledger and balance, payments, refunds, write-offs
//! and voids (each a new balanced journal entry), and the clinic's receivables by age.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::billing::entity::invoice;
use crate::billing::ledger::{self, AmountPosting, Posted};
use crate::billing::loader;
use crate::billing::model::{Account, EntryKind, InvoiceKind, InvoiceStatus, PaymentMethod, Side};
use crate::billing::store::{self, Entry, InvoiceFilter, Totals};
use crate::foundation::access::Permission;
use crate::foundation::error::ApiError;
use crate::foundation::global_id::node_id;
use crate::foundation::loader::prime;
use crate::foundation::money::Money;
use crate::foundation::paging::{PageRequest, connection};
use crate::foundation::session::{Session, session};
use crate::patients::Patient;
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
}

/// What a patient is billed for one appointment, and where that bill stands: a completed visit,
/// raised when it is completed, or a late-cancellation or no-show fee, raised when that happens
/// (`kind`); amounts are `Money` strings. FrontDesk, BillingManager and
/// ClinicAdmin.
#[Object]
impl Invoice {
    /// The invoice's id.
    async fn id(&self) -> Uuid {
        self.model.id
    }

    /// The invoice's global id, for `node(id:)` (Relay's object identification); opaque.
    pub async fn node_id(&self) -> ID {
        node_id::<Invoice>(self.model.id)
    }

    /// The appointment type's price when it was booked, or the fee of its cancellation policy.
    async fn total(&self) -> Money {
        Money(self.model.total_amount)
    }

    /// What it bills: a visit, or a late-cancellation or no-show fee.
    async fn kind(&self) -> Result<InvoiceKind, ApiError> {
        InvoiceKind::parse(&self.model.kind).ok_or_else(ApiError::internal)
    }

    /// What is still owed: the invoice's accounts-receivable balance in the ledger.
    async fn balance(&self) -> Money {
        Money(self.totals.balance)
    }

    /// Payments less refunds.
    async fn net_paid(&self) -> Money {
        Money(self.totals.net_paid)
    }

    /// Open while anything is owed, Paid at zero, Void once voided.
    async fn status(&self) -> InvoiceStatus {
        self.totals.status()
    }

    /// When the invoice was raised, i.e. when its appointment was completed (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at.into()
    }

    /// Every ledger line posted for this invoice, oldest first.
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<LedgerLine>, ApiError> {
        let session = session(ctx)?;
        loader::invoice_lines(session)
            .load_one(self.model.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|line| {
                Ok(LedgerLine {
                    entry_id: line.entry_id,
                    kind: EntryKind::parse(&line.kind).ok_or_else(ApiError::internal)?,
                    account: Account::parse(&line.account).ok_or_else(ApiError::internal)?,
                    side: Side::parse(&line.side).ok_or_else(ApiError::internal)?,
                    amount: Money(line.amount),
                    posted_at: line.posted_at,
                })
            })
            .collect()
    }

    /// The completed appointment this invoice bills; null if it has since been deleted.
    async fn appointment(&self, ctx: &Context<'_>) -> Result<Option<Appointment>, ApiError> {
        let session = session(ctx)?;
        Ok(crate::scheduling::loader::appointments(session)
            .load_one(self.model.appointment_id)
            .await?
            .map(Appointment::new))
    }

    /// Names and date of birth for everyone who may see invoices; contact and medical details
    /// only for the roles allowed them. Null if the patient has since been deleted.
    async fn patient(&self, ctx: &Context<'_>) -> Result<Option<Patient>, ApiError> {
        let session = session(ctx)?;
        let Some(appointment) = crate::scheduling::loader::appointments(session)
            .load_one(self.model.appointment_id)
            .await?
        else {
            return Ok(None);
        };
        Ok(crate::patients::loader::patients(session)
            .load_one(appointment.patient_id)
            .await?
            .map(Patient::new))
    }
}

/// The invoice raised for `appointment_id`, batched with the page's other appointments.
pub async fn invoice_of_appointment(
    session: &Session,
    appointment_id: Uuid,
) -> Result<Option<Invoice>, ApiError> {
    Ok(loader::invoices(session)
        .load_one(appointment_id)
        .await?
        .map(|(model, totals)| Invoice::new(model, totals)))
}

/// One side of a journal entry.
#[derive(SimpleObject)]
pub struct LedgerLine {
    /// The journal entry this line belongs to; each entry has exactly one debit and one credit
    /// line.
    pub entry_id: Uuid,
    /// What the line's entry records (the same on both of its lines).
    pub kind: EntryKind,
    /// The account the line posts to.
    pub account: Account,
    /// Whether the line debits or credits its account.
    pub side: Side,
    /// The amount posted, always positive; the same on both lines of an entry.
    pub amount: Money,
    /// When the line was posted (UTC).
    pub posted_at: DateTime<Utc>,
}

/// A posting: one debit and one credit of `amount`.
#[derive(SimpleObject)]
pub struct JournalEntry {
    /// The entry's id; its two lines in `Invoice.lines` carry it as `entryId`.
    pub id: Uuid,
    /// What the entry records, which fixes the accounts it debits and credits.
    pub kind: EntryKind,
    /// The amount debited and credited, always positive.
    pub amount: Money,
    /// The key the client sent with a payment, refund or write-off; null for charges and voids.
    pub idempotency_key: Option<String>,
    /// The reason given for a refund, write-off or void.
    pub memo: Option<String>,
    /// How a payment was made; null for every other kind of entry.
    pub payment_method: Option<PaymentMethod>,
    /// When the entry was posted (UTC).
    pub created_at: DateTime<Utc>,
}

impl From<Entry> for JournalEntry {
    fn from(entry: Entry) -> Self {
        JournalEntry {
            id: entry.id,
            kind: entry.kind,
            amount: Money(entry.amount),
            idempotency_key: entry.idempotency_key,
            memo: entry.memo,
            payment_method: entry.method,
            created_at: entry.created_at,
        }
    }
}

/// The entry a billing mutation posted (or, for a retry, had posted the first time) and the
/// invoice as it stands now.
#[derive(SimpleObject)]
pub struct PostingPayload {
    /// The journal entry posted, or for a retry the one posted the first time.
    pub entry: JournalEntry,
    /// The invoice with its balance and status after the posting.
    pub invoice: Invoice,
}

impl From<Posted> for PostingPayload {
    fn from(posted: Posted) -> Self {
        PostingPayload {
            entry: posted.entry.into(),
            invoice: Invoice::new(posted.invoice, posted.totals),
        }
    }
}

/// Open balances by invoice age.
#[derive(SimpleObject)]
pub struct ReceivablesAging {
    /// Owed on open invoices raised 0 to 30 days ago (calendar days in the clinic's time zone).
    pub days_0_to_30: Money,
    /// Owed on open invoices raised 31 to 60 days ago.
    pub days_31_to_60: Money,
    /// Owed on open invoices raised 61 to 90 days ago.
    pub days_61_to_90: Money,
    /// Owed on open invoices raised more than 90 days ago.
    pub over_90_days: Money,
    /// Everything owed on open invoices: the sum of the four age groups.
    pub total: Money,
}

/// A payment received against one invoice.
#[derive(InputObject)]
pub struct RecordPaymentInput {
    /// The invoice paid; NOT_FOUND if unknown or another clinic's.
    pub invoice_id: Uuid,
    /// More than 0, at most 2 decimal places, at most the balance.
    pub amount: Money,
    /// How the payment was made.
    pub method: PaymentMethod,
    /// Chosen by the client, one per payment: sending the same payment again with the same key
    /// records it once and answers as the first time did.
    pub idempotency_key: String,
}

/// Money given back to the patient from what was paid on one invoice.
#[derive(InputObject)]
pub struct RefundPaymentInput {
    /// The invoice refunded; NOT_FOUND if unknown or another clinic's.
    pub invoice_id: Uuid,
    /// At most what has been paid (less earlier refunds).
    pub amount: Money,
    /// Why the money is given back: one line, at most 500 characters; kept as the entry's memo.
    pub reason: String,
    /// As for payments, one per refund (at most 200 characters): a retried refund is posted
    /// once; a key already used for a different posting is a CONFLICT.
    pub idempotency_key: String,
}

/// Part or all of one invoice's balance forgiven, posted to bad debt.
#[derive(InputObject)]
pub struct WriteOffInvoiceInput {
    /// The invoice written off; NOT_FOUND if unknown or another clinic's.
    pub invoice_id: Uuid,
    /// At most the balance.
    pub amount: Money,
    /// Why the amount is forgiven: one line, at most 500 characters; kept as the entry's memo.
    pub reason: String,
    /// As for payments: a retried write-off is posted once.
    pub idempotency_key: String,
}

/// Posts a payment, refund or write-off of `(invoice, amount, idempotency key)` once, as
/// `ledger::post_amount` describes.
async fn post_amount(
    ctx: &Context<'_>,
    kind: EntryKind,
    (invoice_id, amount, key): (Uuid, Money, String),
    reason: Option<String>,
    method: Option<PaymentMethod>,
) -> Result<PostingPayload, ApiError> {
    let session = session(ctx)?;
    let posting = AmountPosting {
        invoice_id,
        kind,
        amount: amount.0,
        idempotency_key: key,
        reason,
        method,
    };
    ledger::post_amount(session.db(), &session.principal, posting)
        .await
        .map(PostingPayload::from)
}

/// Loads what a page of invoices shows (lines, appointments, patients) in one query each, so
/// the fields resolve from the loaders' cache (see `foundation::loader`).
async fn prime_references(
    ctx: &Context<'_>,
    session: &Session,
    models: &[invoice::Model],
) -> Result<(), ApiError> {
    let node = ctx.look_ahead().field("edges").field("node");
    if node.field("lines").exists() {
        let ids = models.iter().map(|model| model.id);
        prime(&loader::invoice_lines(session), ids).await?;
    }
    if node.field("appointment").exists() || node.field("patient").exists() {
        let ids = models.iter().map(|model| model.appointment_id);
        let appointments = prime(&crate::scheduling::loader::appointments(session), ids).await?;
        if node.field("patient").exists() {
            let ids = appointments
                .values()
                .map(|appointment| appointment.patient_id);
            prime(&crate::patients::loader::patients(session), ids).await?;
        }
    }
    Ok(())
}

/// The clinic's invoice `id` with its ledger totals, for those who read billing (`invoice(id:)`,
/// `node`).
pub async fn find_invoice(session: &Session, id: Uuid) -> Result<Option<Invoice>, ApiError> {
    session.require(Permission::ReadBilling)?;
    let Some(model) = store::find_invoice(session.db(), session.tenant_id(), id).await? else {
        return Ok(None);
    };
    let totals = ledger::invoice_totals(session.db(), model.id).await?;
    Ok(Some(Invoice::new(model, totals)))
}

#[derive(Default)]
pub struct BillingQuery;

#[Object]
impl BillingQuery {
    /// One invoice of the clinic; NOT_FOUND for unknown and other clinics' ids. FrontDesk,
    /// BillingManager and ClinicAdmin.
    async fn invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invoice's id.")] id: Uuid,
    ) -> Result<Invoice, ApiError> {
        find_invoice(session(ctx)?, id)
            .await?
            .ok_or_else(|| ApiError::not_found("invoice"))
    }

    /// The clinic's invoices, newest first; `from` inclusive and `to` exclusive on the date the
    /// invoice was raised. FrontDesk, BillingManager and ClinicAdmin.
    #[graphql(complexity = "crate::foundation::paging::complexity(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // one argument per filter of the GraphQL field
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only invoices with this status; null for all.")] status: Option<
            InvoiceStatus,
        >,
        #[graphql(desc = "Only invoices for this patient's appointments.")] patient_id: Option<
            Uuid,
        >,
        #[graphql(desc = "Only invoices raised at or after this instant (UTC).")] from: Option<
            DateTime<Utc>,
        >,
        #[graphql(desc = "Only invoices raised before this instant (UTC).")] to: Option<
            DateTime<Utc>,
        >,
        #[graphql(desc = "How many invoices to return: 1 to 100; 20 if null.")] first: Option<i32>,
        #[graphql(
            desc = "The opaque `endCursor` of the previous page, for the page after it; null for the first page."
        )]
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
        let models = store::list_invoices(
            session.db(),
            session.tenant_id(),
            &filter,
            page.after.as_ref(),
            page.limit(),
        )
        .await?;
        let ids: Vec<Uuid> = models.iter().map(|model| model.id).collect();
        let totals = store::totals(session.db(), session.tenant_id(), &ids).await?;
        prime_references(ctx, session, &models).await?;
        let rows = models
            .into_iter()
            .map(|model| {
                let key = (model.created_at.into(), model.id);
                let totals = totals
                    .get(&model.id)
                    .copied()
                    .ok_or_else(ApiError::internal)?;
                Ok((key, Invoice::new(model, totals)))
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(connection(&page, rows))
    }

    /// The clinic's open balances by invoice age in days. FrontDesk, BillingManager and
    /// ClinicAdmin.
    async fn receivables_aging(&self, ctx: &Context<'_>) -> Result<ReceivablesAging, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadBilling)?;
        let [days_0_to_30, days_31_to_60, days_61_to_90, over_90_days] =
            store::aging(session.db(), session.tenant_id(), Utc::now()).await?;
        Ok(ReceivablesAging {
            days_0_to_30: Money(days_0_to_30),
            days_31_to_60: Money(days_31_to_60),
            days_61_to_90: Money(days_61_to_90),
            over_90_days: Money(over_90_days),
            total: Money(days_0_to_30 + days_31_to_60 + days_61_to_90 + over_90_days),
        })
    }
}

#[derive(Default)]
pub struct BillingMutation;

#[Object]
impl BillingMutation {
    /// Records a payment. BillingManager and ClinicAdmin. Retrying with the same idempotency
    /// key records nothing new and answers with the payment posted the first time.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The payment to record.")] input: RecordPaymentInput,
    ) -> Result<PostingPayload, ApiError> {
        let posting = (input.invoice_id, input.amount, input.idempotency_key);
        post_amount(ctx, EntryKind::Payment, posting, None, Some(input.method)).await
    }

    /// Refunds part or all of what was paid; the refunded amount is owed again unless written
    /// off. BillingManager and ClinicAdmin. Idempotent like `recordPayment`.
    async fn refund_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refund to post.")] input: RefundPaymentInput,
    ) -> Result<PostingPayload, ApiError> {
        let posting = (input.invoice_id, input.amount, input.idempotency_key);
        post_amount(ctx, EntryKind::Refund, posting, Some(input.reason), None).await
    }

    /// Forgives part or all of the balance. BillingManager and ClinicAdmin. Idempotent like
    /// `recordPayment`.
    async fn write_off_invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The write-off to post.")] input: WriteOffInvoiceInput,
    ) -> Result<PostingPayload, ApiError> {
        let posting = (input.invoice_id, input.amount, input.idempotency_key);
        post_amount(ctx, EntryKind::WriteOff, posting, Some(input.reason), None).await
    }

    /// Voids an invoice nothing has been paid on (refund payments first), posting the entry
    /// that reverses what is still owed. BillingManager and ClinicAdmin. Voiding again answers
    /// with the void already posted.
    async fn void_invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invoice to void; NOT_FOUND if unknown or another clinic's.")]
        invoice_id: Uuid,
        #[graphql(
            desc = "Why the invoice is voided: one line, at most 500 characters, kept as the entry's memo. A retry must give the same reason; a different one is a CONFLICT."
        )]
        reason: String,
    ) -> Result<PostingPayload, ApiError> {
        let session = session(ctx)?;
        ledger::void(session.db(), &session.principal, invoice_id, &reason)
            .await
            .map(PostingPayload::from)
    }
}

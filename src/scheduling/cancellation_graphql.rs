//! Cancellation reasons, policies and the cancellation report over GraphQL. Thin: the rules are
//! in `cancellation.rs`; the fees a cancellation or a no-show owes appear as invoices.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::foundation::error::ApiError;
use crate::foundation::money::Money;
use crate::foundation::session::session;
use crate::scheduling::cancellation::{self, PolicyRequest, ReportRow};
use crate::scheduling::entity::{cancellation_policy, cancellation_reason};
use crate::scheduling::model::CancellationCategory;

/// One of the clinic's reasons for cancelling, offered to whoever cancels (`reasonId`).
#[derive(SimpleObject)]
pub struct CancellationReason {
    /// The reason's id, for `reasonId` of the cancel operations.
    pub id: Uuid,
    /// Who or what the cancellation is down to; a cancellation for this reason takes it.
    pub category: CancellationCategory,
    /// What the clinic calls it, e.g. "Patient unwell".
    pub label: String,
    /// When a ClinicAdmin retired it (no longer offered); null while it is live.
    pub retired_at: Option<DateTime<Utc>>,
}

impl TryFrom<cancellation_reason::Model> for CancellationReason {
    type Error = ApiError;

    fn try_from(model: cancellation_reason::Model) -> Result<Self, ApiError> {
        Ok(CancellationReason {
            id: model.id,
            category: CancellationCategory::parse(&model.category)
                .ok_or_else(ApiError::internal)?,
            label: model.label,
            retired_at: model.retired_at.map(Into::into),
        })
    }
}

/// An appointment type's cancellation policy. A patient's cancellation (PATIENT_REQUEST) from
/// `windowHours` before the start, on the clinic's clock in its time zone, owes
/// `lateCancellationFee`; a NO_SHOW owes `noShowFee`. Each is invoiced once, when it happens.
#[derive(SimpleObject)]
pub struct CancellationPolicy {
    /// The appointment type it applies to.
    pub appointment_type_id: Uuid,
    /// How many hours before the start a patient's cancellation becomes late: 0 to 720.
    pub window_hours: i32,
    /// What a late cancellation costs; "0.00" charges nothing.
    pub late_cancellation_fee: Money,
    /// What a no-show costs; "0.00" charges nothing.
    pub no_show_fee: Money,
    /// When it was last set (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<cancellation_policy::Model> for CancellationPolicy {
    fn from(model: cancellation_policy::Model) -> Self {
        CancellationPolicy {
            appointment_type_id: model.appointment_type_id,
            window_hours: model.window_hours,
            late_cancellation_fee: Money(model.late_cancellation_fee),
            no_show_fee: Money(model.no_show_fee),
            updated_at: model.updated_at.into(),
        }
    }
}

/// How many appointments were cancelled for one category and reason.
#[derive(SimpleObject)]
pub struct CancellationCount {
    /// The category; null for appointments cancelled before categories were recorded.
    pub category: Option<CancellationCategory>,
    /// The clinic's reason they were cancelled for; null where none was named.
    pub reason: Option<CancellationReason>,
    /// How many.
    pub count: i64,
}

impl TryFrom<ReportRow> for CancellationCount {
    type Error = ApiError;

    fn try_from(row: ReportRow) -> Result<Self, ApiError> {
        Ok(CancellationCount {
            category: row.category,
            reason: row.reason.map(TryInto::try_into).transpose()?,
            count: row.count,
        })
    }
}

#[derive(Default)]
pub struct CancellationQuery;

#[Object]
impl CancellationQuery {
    /// The clinic's cancellation reasons, live ones by label (then, with `includeRetired`, the
    /// retired ones). Everyone in the clinic.
    async fn cancellation_reasons(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false, desc = "Also list retired reasons.")] include_retired: bool,
    ) -> Result<Vec<CancellationReason>, ApiError> {
        let session = session(ctx)?;
        cancellation::reasons(session.db(), &session.principal, include_retired)
            .await?
            .into_iter()
            .map(TryInto::try_into)
            .collect()
    }

    /// The appointment types' cancellation policies (a type without one charges no fees).
    /// Everyone in the clinic.
    async fn cancellation_policies(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<CancellationPolicy>, ApiError> {
        let session = session(ctx)?;
        Ok(cancellation::policies(session.db(), &session.principal)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The cancelled appointments that were to start in [from, to), counted by category and
    /// reason, most first; at most 366 days. ClinicAdmin and BillingManager.
    async fn cancellation_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first instant counted (an appointment's start).")] from: DateTime<
            Utc,
        >,
        #[graphql(desc = "The instant after the last counted; after `from`.")] to: DateTime<Utc>,
    ) -> Result<Vec<CancellationCount>, ApiError> {
        let session = session(ctx)?;
        cancellation::report(session.db(), &session.principal, (from, to))
            .await?
            .into_iter()
            .map(TryInto::try_into)
            .collect()
    }
}

#[derive(Default)]
pub struct CancellationMutation;

#[Object]
impl CancellationMutation {
    /// Adds a reason to the clinic's list. ClinicAdmin; CONFLICT if a live reason has the label.
    async fn add_cancellation_reason(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who or what a cancellation for it is down to.")]
        category: CancellationCategory,
        #[graphql(desc = "What the clinic calls it: one line, at most 100 characters.")]
        label: String,
    ) -> Result<CancellationReason, ApiError> {
        let session = session(ctx)?;
        cancellation::add_reason(session.db(), &session.principal, category, &label)
            .await?
            .try_into()
    }

    /// Retires a reason: no longer offered; the cancellations made for it keep naming it, and
    /// the report counts them. ClinicAdmin.
    async fn retire_cancellation_reason(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reason to retire.")] id: Uuid,
    ) -> Result<CancellationReason, ApiError> {
        let session = session(ctx)?;
        cancellation::retire_reason(session.db(), &session.principal, id)
            .await?
            .try_into()
    }

    /// Sets an appointment type's cancellation policy, replacing the one it had. Applies to
    /// cancellations and no-shows from now on. ClinicAdmin.
    async fn set_cancellation_policy(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment type it applies to.")] appointment_type_id: Uuid,
        #[graphql(
            desc = "How many hours before the start, on the clinic's clock, a patient's cancellation becomes late: 0 to 720."
        )]
        window_hours: i32,
        #[graphql(desc = "What a late cancellation costs: 0 to 999999.99, at most 2 decimals.")]
        late_cancellation_fee: Money,
        #[graphql(desc = "What a no-show costs: 0 to 999999.99, at most 2 decimals.")]
        no_show_fee: Money,
    ) -> Result<CancellationPolicy, ApiError> {
        let session = session(ctx)?;
        let request = PolicyRequest {
            type_id: appointment_type_id,
            window_hours,
            late_cancellation_fee: late_cancellation_fee.0,
            no_show_fee: no_show_fee.0,
        };
        cancellation::set_policy(session.db(), &session.principal, request)
            .await
            .map(Into::into)
    }
}

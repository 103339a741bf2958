//! Care teams and break-glass over GraphQL: a Provider breaks glass, a ClinicAdmin assigns
//! providers to patients and reviews every grant. The rules are `care_team.rs`'s.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::foundation::error::ApiError;
use crate::foundation::paging::{PageRequest, connection};
use crate::foundation::session::session;
use crate::patients::care_team::{self, CarePolicy};
use crate::patients::entity::{break_glass_grant, care_assignment};

/// Time-boxed access to one patient's medical data that a Provider outside the patient's care
/// took, with a reason. Every grant is audited and listed in `breakGlassEvents`.
#[derive(SimpleObject)]
pub struct BreakGlassGrant {
    /// The grant's id.
    pub id: Uuid,
    /// The patient whose medical data it opens.
    pub patient_id: Uuid,
    /// The user it was granted to (who asked for it).
    pub user_id: Uuid,
    /// Why, as the user gave it.
    pub reason: String,
    /// When it was granted (UTC).
    pub granted_at: DateTime<Utc>,
    /// When it ends (UTC); reads after that are FORBIDDEN again.
    pub expires_at: DateTime<Utc>,
}

impl From<break_glass_grant::Model> for BreakGlassGrant {
    fn from(model: break_glass_grant::Model) -> Self {
        BreakGlassGrant {
            id: model.id,
            patient_id: model.patient_id,
            user_id: model.user_id,
            reason: model.reason,
            granted_at: model.granted_at.into(),
            expires_at: model.expires_at.into(),
        }
    }
}

/// A provider assigned to a patient's care: they read the patient's medical data without
/// breaking glass.
#[derive(SimpleObject)]
pub struct CareAssignment {
    /// The assignment's id.
    pub id: Uuid,
    /// The patient.
    pub patient_id: Uuid,
    /// The provider assigned.
    pub provider_id: Uuid,
    /// The ClinicAdmin who assigned them.
    pub assigned_by: Option<Uuid>,
    /// Since when (UTC).
    pub assigned_at: DateTime<Utc>,
}

impl From<care_assignment::Model> for CareAssignment {
    fn from(model: care_assignment::Model) -> Self {
        CareAssignment {
            id: model.id,
            patient_id: model.patient_id,
            provider_id: model.provider_id,
            assigned_by: model.assigned_by,
            assigned_at: model.created_at.into(),
        }
    }
}

pub(crate) fn care_policy<'a>(ctx: &Context<'a>) -> Result<&'a CarePolicy, ApiError> {
    ctx.data::<CarePolicy>().map_err(|_| ApiError::internal())
}

/// The reason of a break-glass grant: trimmed, 10 to 500 characters, line breaks allowed.
fn break_glass_reason(raw: &str) -> Result<String, ApiError> {
    let reason = crate::foundation::input::optional_text("reason", Some(raw), 500)?
        .ok_or_else(|| ApiError::bad_input("reason", "must say why you need access"))?;
    if reason.chars().count() < 10 {
        return Err(ApiError::bad_input(
            "reason",
            "must say why you need access, in at least 10 characters",
        ));
    }
    Ok(reason)
}

#[derive(Default)]
pub struct CareTeamQuery;

#[Object]
impl CareTeamQuery {
    /// Every break-glass grant of the clinic, newest first, for review. ClinicAdmin only.
    #[graphql(complexity = "crate::foundation::paging::complexity(first, child_complexity)")]
    async fn break_glass_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only grants to this patient's medical data.")] patient_id: Option<Uuid>,
        #[graphql(desc = "Page size, 1 to 100; 20 if left out.")] first: Option<i32>,
        #[graphql(
            desc = "An opaque cursor: the `pageInfo.endCursor` of the previous page; leave out for the first page."
        )]
        after: Option<String>,
    ) -> Result<Connection<String, BreakGlassGrant>, ApiError> {
        let session = session(ctx)?;
        let page = PageRequest::<(DateTime<Utc>, Uuid)>::new(first, after.as_deref())?;
        let rows = care_team::grants(session, patient_id, page.after, page.limit())
            .await?
            .into_iter()
            .map(|model| {
                (
                    (model.granted_at.into(), model.id),
                    BreakGlassGrant::from(model),
                )
            })
            .collect();
        Ok(connection(&page, rows))
    }
}

#[derive(Default)]
pub struct CareTeamMutation;

#[Object]
impl CareTeamMutation {
    /// Grants you, a Provider, the medical data (`medical`, `history`) of a patient outside your
    /// care for the break-glass period (60 minutes unless the clinic's server says otherwise),
    /// recording your reason for the ClinicAdmin's review. Provider only.
    async fn break_glass(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The patient; NOT_FOUND if unknown, deleted or another clinic's.")]
        patient_id: Uuid,
        #[graphql(
            desc = "Why you need access now: 10 to 500 characters, line breaks allowed; reviewed."
        )]
        reason: String,
    ) -> Result<BreakGlassGrant, ApiError> {
        let session = session(ctx)?;
        session.require(crate::foundation::access::Permission::BreakGlass)?;
        let reason = break_glass_reason(&reason)?;
        Ok(
            care_team::break_glass(session, care_policy(ctx)?, patient_id, reason)
                .await?
                .into(),
        )
    }

    /// Assigns a provider to a patient's care, so they read the patient's medical data without
    /// breaking glass; assigning again changes nothing. ClinicAdmin only.
    async fn assign_care_provider(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The patient; NOT_FOUND if unknown, deleted or another clinic's.")]
        patient_id: Uuid,
        #[graphql(desc = "An active Provider of the clinic (see `providers`).")] provider_id: Uuid,
    ) -> Result<CareAssignment, ApiError> {
        Ok(care_team::assign(session(ctx)?, patient_id, provider_id)
            .await?
            .into())
    }

    /// Ends a provider's assignment to a patient's care; false when there was none.
    /// ClinicAdmin only.
    async fn unassign_care_provider(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The patient.")] patient_id: Uuid,
        #[graphql(desc = "The provider whose assignment ends.")] provider_id: Uuid,
    ) -> Result<bool, ApiError> {
        care_team::unassign(session(ctx)?, patient_id, provider_id).await
    }
}

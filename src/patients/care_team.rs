//! Minimum necessary: who may read a patient's medical data (the `medical` section and the
//! history). A ClinicAdmin may, and every read is audited. A Provider may for the patients in
//! their care: those with an appointment with them (not cancelled) starting within the care
//! window before or after now, or assigned to them by a ClinicAdmin. For anyone else a Provider
//! breaks glass: `breakGlass(patientId, reason)` grants them that patient for the break-glass
//! period, recorded with its reason (audited, and listed for the ClinicAdmin's review).

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::foundation::access::{Actor, Permission};
use crate::foundation::db::{TenantTransaction, statement};
use crate::foundation::error::ApiError;
use crate::foundation::loader::{LoaderScope, prime as prime_loader};
use crate::foundation::role::Role;
use crate::foundation::session::Session;
use crate::identity::store as identity_store;
use crate::patients::entity::{break_glass_grant, care_assignment};
use crate::patients::store;

/// The configured windows (`HPMS_CARE_WINDOW_DAYS`, `HPMS_BREAK_GLASS_MINUTES`).
#[derive(Clone, Copy, Debug)]
pub struct CarePolicy {
    /// How far before or after now an appointment's start puts its patient in the provider's care.
    pub care_window: Duration,
    /// How long a break-glass grant lasts.
    pub break_glass_for: Duration,
}

/// What the database knows of one provider's relationship with one patient.
#[derive(Clone, Debug, Default)]
pub struct CareFacts {
    last_visit: Option<DateTime<Utc>>,
    next_visit: Option<DateTime<Utc>>,
    assigned: bool,
    glass_until: Option<DateTime<Utc>>,
}

impl CareFacts {
    fn in_care(&self, policy: &CarePolicy, now: DateTime<Utc>) -> bool {
        self.assigned
            || self
                .last_visit
                .is_some_and(|at| at >= now - policy.care_window)
            || self
                .next_visit
                .is_some_and(|at| at <= now + policy.care_window)
    }

    fn glass_broken(&self, now: DateTime<Utc>) -> bool {
        self.glass_until.is_some_and(|until| until > now)
    }
}

/// The acting user's `CareFacts` for the patients a request shows, one statement per batch.
pub struct CareFactsById {
    transaction: Weak<TenantTransaction>,
    tenant: Uuid,
    user: Option<Uuid>,
}

pub type CareFactsLoader = DataLoader<CareFactsById, HashMapCache>;

fn care_facts(session: &Session) -> Arc<CareFactsLoader> {
    session.loaders.get(|scope: &LoaderScope| {
        DataLoader::with_cache(
            CareFactsById {
                transaction: scope.transaction.clone(),
                tenant: scope.tenant,
                user: scope.user,
            },
            scope.spawner(),
            HashMapCache::default(),
        )
    })
}

/// One statement of four router-plannable parts, each naming the clinic (Citus keeps it on the
/// clinic's node): the last and next appointment with the user, a live assignment, the latest
/// grant's end.
const CARE_FACTS: &str = "
  select patient_id, 'last_visit' as fact, max(start_time) as at, false as assigned
    from appointments
   where tenant_id = $1 and provider_id = $2 and patient_id = any($3) and not is_deleted
     and status <> 'Cancelled' and start_time <= now()
   group by patient_id
  union all
  select patient_id, 'next_visit', min(start_time), false
    from appointments
   where tenant_id = $1 and provider_id = $2 and patient_id = any($3) and not is_deleted
     and status <> 'Cancelled' and start_time > now()
   group by patient_id
  union all
  select patient_id, 'assigned', null, true
    from care_assignments
   where tenant_id = $1 and provider_id = $2 and patient_id = any($3) and not is_deleted
  union all
  select patient_id, 'glass_until', max(expires_at), false
    from break_glass_grants
   where tenant_id = $1 and user_id = $2 and patient_id = any($3)
   group by patient_id";

impl Loader<Uuid> for CareFactsById {
    type Value = CareFacts;
    type Error = ApiError;

    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, CareFacts>, ApiError> {
        let mut facts: HashMap<Uuid, CareFacts> =
            ids.iter().map(|id| (*id, CareFacts::default())).collect();
        let Some(user) = self.user else {
            return Ok(facts);
        };
        let transaction = self.transaction.upgrade().ok_or_else(ApiError::internal)?;
        let rows = transaction
            .query_all_raw(statement(
                CARE_FACTS,
                [self.tenant.into(), user.into(), ids.to_vec().into()],
            ))
            .await?;
        for row in rows {
            let patient: Uuid = row.try_get("", "patient_id")?;
            let at: Option<DateTime<Utc>> = row.try_get("", "at")?;
            let entry = facts.entry(patient).or_default();
            match row.try_get::<String>("", "fact")?.as_str() {
                "last_visit" => entry.last_visit = at,
                "next_visit" => entry.next_visit = at,
                "assigned" => entry.assigned = true,
                _ => entry.glass_until = at,
            }
        }
        Ok(facts)
    }
}

/// Loads the care facts of a page's patients now, in one statement, for the `medical` and
/// `history` fields that follow (DataLoader's batching delay could split a page in two on a busy
/// machine: `foundation::loader::prime`). Only a Provider's reads need them.
pub async fn prime(
    session: &Session,
    patient_ids: impl IntoIterator<Item = Uuid>,
) -> Result<(), ApiError> {
    if let Actor::User {
        role: Role::Provider,
        ..
    } = session.principal.actor
    {
        prime_loader(&care_facts(session), patient_ids).await?;
    }
    Ok(())
}

/// FORBIDDEN unless the principal may read `patient_id`'s medical data (`permission`: the
/// section's or the history's): by role, and for a Provider by care relationship or an unexpired
/// break-glass grant.
pub async fn require_medical_access(
    session: &Session,
    policy: &CarePolicy,
    permission: Permission,
    patient_id: Uuid,
) -> Result<(), ApiError> {
    session.require(permission)?;
    let Actor::User {
        role: Role::Provider,
        ..
    } = session.principal.actor
    else {
        return Ok(());
    };
    let facts = care_facts(session)
        .load_one(patient_id)
        .await?
        .unwrap_or_default();
    let now = Utc::now();
    if facts.in_care(policy, now) || facts.glass_broken(now) {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "this patient is not in your care (no appointment with you within {} days, no \
         assignment to you): to read their medical data in an emergency, break glass with \
         `breakGlass(patientId, reason)`, which grants you {} minutes and is reviewed",
        policy.care_window.num_days(),
        policy.break_glass_for.num_minutes()
    )))
}

/// Grants the signed-in Provider `patient_id`'s medical data for the break-glass period, with
/// `reason` (checked by the caller).
pub async fn break_glass(
    session: &Session,
    policy: &CarePolicy,
    patient_id: Uuid,
    reason: String,
) -> Result<break_glass_grant::Model, ApiError> {
    session.require(Permission::BreakGlass)?;
    let user_id = session.principal.user_id()?;
    require_live_patient(session, patient_id).await?;
    Ok(break_glass_grant::ActiveModel {
        tenant_id: Set(session.tenant_id()),
        id: Set(Uuid::new_v4()),
        patient_id: Set(patient_id),
        user_id: Set(user_id),
        reason: Set(reason),
        expires_at: Set((Utc::now() + policy.break_glass_for).into()),
        ..Default::default()
    }
    .insert(session.db())
    .await?)
}

async fn require_live_patient(session: &Session, patient_id: Uuid) -> Result<(), ApiError> {
    match store::find(session.db(), session.tenant_id(), patient_id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("patient")),
    }
}

/// Assigns `provider_id` to `patient_id`'s care; assigning again changes nothing. The provider
/// must be an active Provider of the clinic.
pub async fn assign(
    session: &Session,
    patient_id: Uuid,
    provider_id: Uuid,
) -> Result<care_assignment::Model, ApiError> {
    session.require(Permission::ManageCareTeams)?;
    require_live_patient(session, patient_id).await?;
    let provider =
        identity_store::find_user(session.db(), session.tenant_id(), provider_id).await?;
    if !provider.is_some_and(|user| user.is_active && user.role_id == Role::Provider.id()) {
        return Err(ApiError::bad_input(
            "providerId",
            "is not an active Provider of your clinic; see `providers`",
        ));
    }
    if let Some(existing) = live_assignment(session, patient_id, provider_id).await? {
        return Ok(existing);
    }
    Ok(care_assignment::ActiveModel {
        tenant_id: Set(session.tenant_id()),
        id: Set(Uuid::new_v4()),
        patient_id: Set(patient_id),
        provider_id: Set(provider_id),
        ..Default::default()
    }
    .insert(session.db())
    .await?)
}

/// Ends `provider_id`'s assignment to `patient_id`; false when there was none.
pub async fn unassign(
    session: &Session,
    patient_id: Uuid,
    provider_id: Uuid,
) -> Result<bool, ApiError> {
    session.require(Permission::ManageCareTeams)?;
    let ended = care_assignment::Entity::update_many()
        .col_expr(care_assignment::Column::IsDeleted, Expr::value(true))
        .col_expr(care_assignment::Column::UpdatedAt, Expr::cust("now()"))
        .filter(care_assignment::Column::TenantId.eq(session.tenant_id()))
        .filter(care_assignment::Column::PatientId.eq(patient_id))
        .filter(care_assignment::Column::ProviderId.eq(provider_id))
        .filter(care_assignment::Column::IsDeleted.eq(false))
        .exec(session.db())
        .await?;
    Ok(ended.rows_affected > 0)
}

async fn live_assignment(
    session: &Session,
    patient_id: Uuid,
    provider_id: Uuid,
) -> Result<Option<care_assignment::Model>, ApiError> {
    Ok(care_assignment::Entity::find()
        .filter(care_assignment::Column::TenantId.eq(session.tenant_id()))
        .filter(care_assignment::Column::PatientId.eq(patient_id))
        .filter(care_assignment::Column::ProviderId.eq(provider_id))
        .filter(care_assignment::Column::IsDeleted.eq(false))
        .one(session.db())
        .await?)
}

/// A page of the clinic's break-glass grants for review, newest first, after `before` (a
/// grant's time and id).
pub async fn grants(
    session: &Session,
    patient_id: Option<Uuid>,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<break_glass_grant::Model>, ApiError> {
    session.require(Permission::ReviewBreakGlass)?;
    let mut query = break_glass_grant::Entity::find()
        .filter(break_glass_grant::Column::TenantId.eq(session.tenant_id()));
    if let Some(patient_id) = patient_id {
        query = query.filter(break_glass_grant::Column::PatientId.eq(patient_id));
    }
    if let Some((at, id)) = before {
        query = query.filter(
            Condition::any()
                .add(break_glass_grant::Column::GrantedAt.lt(at))
                .add(
                    Condition::all()
                        .add(break_glass_grant::Column::GrantedAt.eq(at))
                        .add(break_glass_grant::Column::Id.lt(id)),
                ),
        );
    }
    Ok(query
        .order_by_desc(break_glass_grant::Column::GrantedAt)
        .order_by_desc(break_glass_grant::Column::Id)
        .limit(limit)
        .all(session.db())
        .await?)
}

//! Identity over GraphQL: sign-in, the current user, clinic onboarding (SystemAdmin) and user
//! management (ClinicAdmin).

use async_graphql::connection::Connection;
use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::foundation::access::Permission;
use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;
use crate::foundation::paging::{PageRequest, connection};
use crate::foundation::role::Role;
use crate::foundation::session::{Session, session};
use crate::identity::entity::{tenant, user};
use crate::identity::login::{ClientAddress, SignInBudget};
use crate::identity::model::{ClinicSlug, NewPassword, Username, clinic_name, clinic_role};
use crate::identity::working_hours::{WorkingHours, read_stored_week};
use crate::identity::{LoginService, password, store};

/// A user of a clinic (or, for SystemAdmins, of the platform).
#[derive(SimpleObject, Clone)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    /// Deactivated users cannot sign in, and their tokens stop working at once.
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    /// A provider's weekly working hours, in the clinic's time zone; empty for other roles.
    pub working_hours: Vec<WorkingHours>,
}

impl TryFrom<user::Model> for User {
    type Error = ApiError;

    fn try_from(model: user::Model) -> Result<Self, ApiError> {
        Ok(User {
            id: model.id,
            username: model.username,
            role: Role::from_id(model.role_id).ok_or_else(ApiError::internal)?,
            is_active: model.is_active,
            created_at: model.created_at.into(),
            working_hours: read_stored_week(model.working_hours)?,
        })
    }
}

/// A clinic: one tenant of HPMS.
#[derive(SimpleObject, Clone)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    /// What users type as `tenant` when signing in.
    pub slug: String,
    /// A deactivated clinic's users cannot sign in, and their tokens stop working at once.
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<tenant::Model> for Tenant {
    fn from(model: tenant::Model) -> Self {
        Tenant {
            id: model.id,
            name: model.name,
            slug: model.slug,
            is_active: model.is_active,
            created_at: model.created_at.into(),
        }
    }
}

#[derive(SimpleObject)]
pub struct LoginPayload {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

#[derive(InputObject)]
pub struct CreateTenantInput {
    pub name: String,
    pub slug: String,
    /// The clinic's first ClinicAdmin, who then creates everyone else.
    pub admin_username: String,
    pub admin_password: String,
}

#[derive(SimpleObject)]
pub struct CreateTenantPayload {
    pub tenant: Tenant,
    pub admin: User,
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub username: String,
    pub password: String,
    pub role: Role,
}

#[derive(InputObject)]
pub struct UpdateUserInput {
    pub id: Uuid,
    /// Leave out to keep the current role.
    pub role: Option<Role>,
    /// Leave out to keep the current password.
    pub password: Option<String>,
}

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User, ApiError> {
        let session = session(ctx)?;
        store::find_user(
            session.db(),
            session.tenant_id(),
            session.principal.user_id()?,
        )
        .await?
        .ok_or_else(crate::identity::rejected_token)?
        .try_into()
    }

    /// The clinic's users, by username. ClinicAdmin only.
    #[graphql(complexity = "crate::foundation::paging::complexity(first, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        role: Option<Role>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, User>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageUsers)?;
        users_page(session, role, false, first, after).await
    }

    /// The clinic's active providers, by username, with their working hours: whom appointments
    /// can be booked with. Everyone who reads the schedule.
    #[graphql(complexity = "crate::foundation::paging::complexity(first, child_complexity)")]
    async fn providers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, User>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadSchedule)?;
        users_page(session, Some(Role::Provider), true, first, after).await
    }

    /// All clinics, by slug. SystemAdmin only.
    #[graphql(complexity = "crate::foundation::paging::complexity(first, child_complexity)")]
    async fn tenants(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Tenant>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageClinics)?;
        let page = PageRequest::<String>::new(first, after.as_deref())?;
        let rows = store::list_clinics(session.db(), page.after.as_deref(), page.limit())
            .await?
            .into_iter()
            .map(|model| (model.slug.clone(), Tenant::from(model)))
            .collect();
        Ok(connection(&page, rows))
    }
}

#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// Signs in. `tenant` is the clinic's slug or id. Every kind of failure gets the same
    /// UNAUTHENTICATED answer; repeated failures lock the account for a while.
    async fn login(
        &self,
        ctx: &Context<'_>,
        tenant: String,
        username: String,
        password: String,
    ) -> Result<LoginPayload, ApiError> {
        let budget = ctx
            .data::<SignInBudget>()
            .map_err(|_| ApiError::internal())?;
        if !budget.take() {
            return Err(ApiError::bad_input(
                "login",
                "sign in once per request; send each login separately",
            ));
        }
        let signed_in = ctx
            .data::<LoginService>()
            .map_err(|_| ApiError::internal())?
            .login(
                &tenant,
                &username,
                &password,
                ctx.data_opt::<ClientAddress>().copied(),
            )
            .await?;
        let account = signed_in.account;
        Ok(LoginPayload {
            token: signed_in.token,
            expires_at: signed_in.expires_at,
            user: User {
                id: account.user_id,
                username: account.username,
                role: account.role,
                is_active: true,
                created_at: account.created_at.into(),
                working_hours: Vec::new(),
            },
        })
    }

    /// Onboards a clinic with its first ClinicAdmin. SystemAdmin only.
    async fn create_tenant(
        &self,
        ctx: &Context<'_>,
        input: CreateTenantInput,
    ) -> Result<CreateTenantPayload, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageClinics)?;
        let name = clinic_name("input.name", &input.name)?;
        let slug = ClinicSlug::parse("input.slug", &input.slug)?;
        let username = Username::parse("input.adminUsername", &input.admin_username)?;
        let password = NewPassword::parse("input.adminPassword", &input.admin_password)?;

        let tenant_id = Uuid::new_v4();
        let admin_id = Uuid::new_v4();
        let hash = password::hash(password.into_inner()).await?;
        store::onboard_clinic(
            session.db(),
            (tenant_id, &name, slug.as_str()),
            (admin_id, username.as_str(), hash),
        )
        .await?;
        let tenant = store::find_tenant(session.db(), tenant_id)
            .await?
            .map(Tenant::from)
            .ok_or_else(ApiError::internal)?;
        Ok(CreateTenantPayload {
            admin: User {
                id: admin_id,
                username: username.as_str().to_owned(),
                role: Role::ClinicAdmin,
                is_active: true,
                created_at: tenant.created_at,
                working_hours: Vec::new(),
            },
            tenant,
        })
    }

    /// Activates or deactivates a clinic; its users lose access at once. SystemAdmin only.
    async fn set_tenant_active(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        active: bool,
    ) -> Result<Tenant, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageClinics)?;
        if !store::set_clinic_active(session.db(), id, active).await? {
            return Err(ApiError::not_found("clinic"));
        }
        store::find_tenant(session.db(), id)
            .await?
            .map(Tenant::from)
            .ok_or_else(|| ApiError::not_found("clinic"))
    }

    /// Adds a user to the clinic. ClinicAdmin only.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> Result<User, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageUsers)?;
        let username = Username::parse("input.username", &input.username)?;
        let password = NewPassword::parse("input.password", &input.password)?;
        let role = clinic_role("input.role", input.role)?;
        let id = Uuid::new_v4();
        let hash = password::hash(password.into_inner()).await?;
        store::insert_user(
            session.db(),
            session.principal.tenant_id,
            id,
            username.as_str(),
            hash,
            role,
        )
        .await?;
        found_user(session.db(), session.tenant_id(), id).await
    }

    /// Changes a user's role and/or password. ClinicAdmin only; not one's own role.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        input: UpdateUserInput,
    ) -> Result<User, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageUsers)?;
        let role = input
            .role
            .map(|role| clinic_role("input.role", role))
            .transpose()?;
        if input.id == session.principal.user_id()? && role.is_some_and(|r| r != Role::ClinicAdmin)
        {
            return Err(ApiError::bad_input(
                "input.role",
                "you cannot change your own role; ask another ClinicAdmin",
            ));
        }
        let password = input
            .password
            .map(|raw| NewPassword::parse("input.password", &raw))
            .transpose()?;
        let hash = match password {
            Some(password) => Some(password::hash(password.into_inner()).await?),
            None => None,
        };
        if !store::update_user(session.db(), session.tenant_id(), input.id, role, hash).await? {
            return Err(ApiError::not_found("user"));
        }
        found_user(session.db(), session.tenant_id(), input.id).await
    }

    /// Deactivates a user: they cannot sign in and their tokens stop working at once.
    /// ClinicAdmin only; not oneself.
    async fn deactivate_user(&self, ctx: &Context<'_>, id: Uuid) -> Result<User, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageUsers)?;
        if id == session.principal.user_id()? {
            return Err(ApiError::bad_input(
                "id",
                "you cannot deactivate your own account; ask another ClinicAdmin",
            ));
        }
        if !store::deactivate_user(session.db(), session.tenant_id(), id).await? {
            return Err(ApiError::not_found("user"));
        }
        found_user(session.db(), session.tenant_id(), id).await
    }
}

async fn found_user(db: &TenantTransaction, tenant_id: Uuid, id: Uuid) -> Result<User, ApiError> {
    store::find_user(db, tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?
        .try_into()
}

/// A page of the clinic's users by username, of one role or all, active ones only or all.
async fn users_page(
    session: &Session,
    role: Option<Role>,
    active_only: bool,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Connection<String, User>, ApiError> {
    let page = PageRequest::<String>::new(first, after.as_deref())?;
    let rows = store::list_users(
        session.db(),
        session.tenant_id(),
        role,
        active_only,
        page.after.as_deref(),
        page.limit(),
    )
    .await?
    .into_iter()
    .map(|model| Ok((model.username.clone(), User::try_from(model)?)))
    .collect::<Result<_, ApiError>>()?;
    Ok(connection(&page, rows))
}

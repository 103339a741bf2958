//! Identity over GraphQL: sign-in, the current user, clinic onboarding (SystemAdmin) and user
//! management (ClinicAdmin).

use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::foundation::access::Permission;
use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;
use crate::foundation::global_id::node_id;
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
#[graphql(complex)]
pub struct User {
    /// The user's id.
    pub id: Uuid,
    /// The sign-in name, lower-case and unique within the clinic.
    pub username: String,
    /// What the user may do in the clinic.
    pub role: Role,
    /// Deactivated users cannot sign in, and their tokens stop working at once.
    pub is_active: bool,
    /// When the user was created (UTC).
    pub created_at: DateTime<Utc>,
    /// A provider's weekly working hours, in the clinic's time zone; empty for other roles.
    pub working_hours: Vec<WorkingHours>,
}

#[ComplexObject]
impl User {
    /// The user's global id, for `node(id:)` (Relay's object identification); opaque.
    pub async fn node_id(&self) -> ID {
        node_id::<User>(self.id)
    }
}

/// The clinic's user `id`, to whom `node` may show it: the user themselves, a ClinicAdmin (who
/// manages users), and, for a provider, everyone who reads the schedule (as `providers` does).
pub async fn find_user(session: &Session, id: Uuid) -> Result<Option<User>, ApiError> {
    let is_self = session.principal.user_id().ok() == Some(id);
    if !is_self && !session.principal.may(Permission::ReadSchedule) {
        session.require(Permission::ManageUsers)?;
    }
    let Some(model) = store::find_user(session.db(), session.tenant_id(), id).await? else {
        return Ok(None);
    };
    let user = User::try_from(model)?;
    let visible =
        is_self || session.principal.may(Permission::ManageUsers) || user.role == Role::Provider;
    Ok(visible.then_some(user))
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
    /// The clinic's id; also accepted as `tenant` when signing in.
    pub id: Uuid,
    /// The clinic's display name.
    pub name: String,
    /// What users type as `tenant` when signing in.
    pub slug: String,
    /// A deactivated clinic's users cannot sign in, and their tokens stop working at once.
    pub is_active: bool,
    /// When the clinic was onboarded (UTC).
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

/// A successful sign-in: a bearer token and whom it is for.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When the token stops working (UTC); sign in again after it. Deactivating the user or the
    /// clinic, or changing the user's role or password, ends it sooner.
    pub expires_at: DateTime<Utc>,
    /// The signed-in user. `workingHours` is always empty here; read it from `me`.
    pub user: User,
}

/// A new clinic and its first ClinicAdmin, for `createTenant`.
#[derive(InputObject)]
pub struct CreateTenantInput {
    /// The clinic's display name: one line of at most 255 characters.
    pub name: String,
    /// What users will type as `tenant` when signing in: 2 to 63 letters, digits and hyphens, not
    /// starting with a hyphen, stored lower-case; unique across clinics.
    pub slug: String,
    /// The clinic's first ClinicAdmin, who then creates everyone else.
    pub admin_username: String,
    /// The first ClinicAdmin's password: 12 to 128 characters, no control characters.
    pub admin_password: String,
}

/// A clinic just onboarded by `createTenant`.
#[derive(SimpleObject)]
pub struct CreateTenantPayload {
    /// The new clinic, active.
    pub tenant: Tenant,
    /// The clinic's first ClinicAdmin, who can sign in at once.
    pub admin: User,
}

/// A new user of the clinic, for `createUser`.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// The sign-in name: 3 to 100 letters, digits and `. _ @ -`, stored lower-case; unique within
    /// the clinic.
    pub username: String,
    /// 12 to 128 characters, no control characters.
    pub password: String,
    /// Any role but SystemAdmin, which belongs to the platform.
    pub role: Role,
}

/// Changes to a user of the clinic, for `updateUser`; fields left out keep their value.
#[derive(InputObject)]
pub struct UpdateUserInput {
    /// The user to change.
    pub id: Uuid,
    /// The new role (not SystemAdmin); leave out to keep the current role. A different role ends
    /// the user's tokens at once.
    pub role: Option<Role>,
    /// The new password, 12 to 128 characters; leave out to keep the current password. Giving one
    /// ends the user's tokens at once.
    pub password: Option<String>,
}

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The signed-in user, with their working hours. Any signed-in user; FORBIDDEN for an API
    /// key, which acts for no user.
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

    /// The clinic's users by username, deactivated ones included. ClinicAdmin only.
    #[graphql(complexity = "crate::foundation::paging::complexity(first, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only users with this role; all if left out.")] role: Option<Role>,
        #[graphql(desc = "Page size, 1 to 100; 20 if left out.")] first: Option<i32>,
        #[graphql(
            desc = "An opaque cursor: the `pageInfo.endCursor` of the previous page; leave out for the first page."
        )]
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
        #[graphql(desc = "Page size, 1 to 100; 20 if left out.")] first: Option<i32>,
        #[graphql(
            desc = "An opaque cursor: the `pageInfo.endCursor` of the previous page; leave out for the first page."
        )]
        after: Option<String>,
    ) -> Result<Connection<String, User>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadSchedule)?;
        users_page(session, Some(Role::Provider), true, first, after).await
    }

    /// All clinics by slug, deactivated ones included. SystemAdmin only.
    #[graphql(complexity = "crate::foundation::paging::complexity(first, child_complexity)")]
    async fn tenants(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100; 20 if left out.")] first: Option<i32>,
        #[graphql(
            desc = "An opaque cursor: the `pageInfo.endCursor` of the previous page; leave out for the first page."
        )]
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
    /// Signs in; needs no token. `tenant` is the clinic's slug or id. Every kind of failure gets
    /// the same UNAUTHENTICATED answer; repeated failures lock the account, or the client's
    /// address, for a while. One `login` per request.
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The clinic's slug or id, in any case.")] tenant: String,
        #[graphql(desc = "The user's sign-in name, in any case.")] username: String,
        #[graphql(desc = "The user's password.")] password: String,
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
        #[graphql(desc = "The clinic and its first ClinicAdmin.")] input: CreateTenantInput,
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
        #[graphql(desc = "The clinic's id.")] id: Uuid,
        #[graphql(desc = "True to activate the clinic, false to deactivate it.")] active: bool,
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

    /// Adds an active user to the clinic. ClinicAdmin only.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new user's sign-in name, password and role.")] input: CreateUserInput,
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

    /// Changes a user's role and/or password; a new role or password ends their tokens at once.
    /// ClinicAdmin only; not one's own role.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user and what to change.")] input: UpdateUserInput,
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
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's id.")] id: Uuid,
    ) -> Result<User, ApiError> {
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

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
use crate::foundation::telemetry::RequestId;
use crate::identity::credentials::Authenticated;
use crate::identity::entity::{tenant, user};
use crate::identity::login::{ClientAddress, SignInBudget, SignInRequest};
use crate::identity::model::{ClinicSlug, NewPassword, Username, clinic_name, clinic_role};
use crate::identity::sessions::{IssuedSession, Origin};
use crate::identity::working_hours::{WorkingHours, read_stored_week};
use crate::identity::{LoginService, accounts, password, store};

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

/// A successful sign-in: a session's first tokens and whom they are for.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// The access token: send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When the access token stops working (UTC, 15 minutes by default); get a new one with
    /// `refreshSession` before or after. Signing out, deactivating the user or the clinic, or
    /// changing the user's role or password, ends it sooner.
    pub expires_at: DateTime<Utc>,
    /// Renews the session with `refreshSession`, once: each renewal hands out a new one. Keep it
    /// out of reach of scripts (it outlives the access token); a refresh token used twice ends
    /// the session.
    pub refresh_token: String,
    /// When the session ends whatever its renewals (UTC): sign in again after it. Unrenewed for
    /// the idle timeout (30 minutes by default), it ends sooner.
    pub session_expires_at: DateTime<Utc>,
    /// True when an administrator set the password: the token then allows only `changePassword`
    /// (and `me`, `logout`), whose new tokens allow everything the role may.
    pub password_change_required: bool,
    /// True when the clinic requires a second factor the user has not set up: the token then
    /// allows only `beginMfaEnrollment`, `confirmMfaEnrollment` and `mfaStatus` (and `me`,
    /// `logout`); the confirmation's new tokens allow everything the role may.
    pub mfa_enrollment_required: bool,
    /// The signed-in user. `workingHours` is always empty here; read it from `me`.
    pub user: User,
}

/// A session's new tokens, from `refreshSession` or `changePassword`.
#[derive(SimpleObject)]
pub struct SessionPayload {
    /// The new access token: send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When the access token stops working (UTC).
    pub expires_at: DateTime<Utc>,
    /// The refresh token for the next renewal; the one presented no longer works.
    pub refresh_token: String,
    /// When the session ends whatever its renewals (UTC).
    pub session_expires_at: DateTime<Utc>,
    /// True while the password must still be changed (see `LoginPayload`).
    pub password_change_required: bool,
    /// True while a second factor must still be set up (see `LoginPayload`).
    pub mfa_enrollment_required: bool,
}

impl From<IssuedSession> for SessionPayload {
    fn from(session: IssuedSession) -> Self {
        SessionPayload {
            token: session.access_token,
            expires_at: session.access_expires_at,
            refresh_token: session.refresh_token,
            session_expires_at: session.session_expires_at,
            password_change_required: session.subject.password_change_required,
            mfa_enrollment_required: session.subject.mfa_enrollment_required,
        }
    }
}

/// A clinic's ClinicAdmin as `resetClinicAdmin` left them.
#[derive(SimpleObject)]
pub struct ResetClinicAdminPayload {
    /// The ClinicAdmin's id in the clinic.
    pub user_id: Uuid,
    /// Their sign-in name; their password must be changed at sign-in.
    pub username: String,
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
    /// A new password for another user, 12 to 128 characters and not easily guessed; leave out
    /// to keep theirs. Giving one ends the user's sessions at once, and they must change it at
    /// their next sign-in. Not for your own password: that is `changePassword`.
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
    /// the same UNAUTHENTICATED answer; repeated failures slow down and then lock the account
    /// from the client's address, or the address, for a while. An account with a second factor
    /// answers MFA_REQUIRED to the right password without `mfaCode`: send the sign-in again
    /// with it. One `login` per request.
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The clinic's slug or id, in any case.")] tenant: String,
        #[graphql(desc = "The user's sign-in name, in any case.")] username: String,
        #[graphql(desc = "The user's password.")] password: String,
        #[graphql(
            desc = "For an account with a second factor: the 6-digit code its authenticator app shows now, or one of its unused recovery codes. Each code signs in once."
        )]
        mfa_code: Option<String>,
    ) -> Result<LoginPayload, ApiError> {
        take_sign_in_budget(ctx, "login")?;
        let request = SignInRequest {
            clinic: &tenant,
            username: &username,
            password: &password,
            mfa_code: mfa_code.as_deref(),
        };
        let signed_in = login_service(ctx)?.login(request, origin(ctx)).await?;
        let (session, account) = (signed_in.session, signed_in.account);
        Ok(LoginPayload {
            token: session.access_token,
            expires_at: session.access_expires_at,
            refresh_token: session.refresh_token,
            session_expires_at: session.session_expires_at,
            password_change_required: session.subject.password_change_required,
            mfa_enrollment_required: session.subject.mfa_enrollment_required,
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

    /// Renews a session: a new access token and a new refresh token for the one presented,
    /// which stops working. Needs no access token (the old one may have expired). A refresh
    /// token presented again after it was renewed ends the session (whoever holds it, the owner
    /// or a thief, must sign in again). UNAUTHENTICATED for any token that does not work.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token from `login` or the previous `refreshSession`.")]
        refresh_token: String,
    ) -> Result<SessionPayload, ApiError> {
        take_sign_in_budget(ctx, "refreshSession")?;
        Ok(login_service(ctx)?
            .refresh(&refresh_token, origin(ctx))
            .await?
            .into())
    }

    /// Ends this session: its access and refresh tokens stop working at once, and its open
    /// subscriptions end. Any signed-in user. True when the session was still open.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool, ApiError> {
        let session = session(ctx)?;
        let ended = accounts::sign_out(
            session.db(),
            &session.principal,
            current_session(ctx)?,
            false,
            origin(ctx),
        )
        .await?;
        Ok(ended > 0)
    }

    /// Ends every session of the signed-in user, on every device, this one included. Any
    /// signed-in user. How many sessions ended.
    async fn sign_out_everywhere(&self, ctx: &Context<'_>) -> Result<i32, ApiError> {
        let session = session(ctx)?;
        let ended = accounts::sign_out(
            session.db(),
            &session.principal,
            current_session(ctx)?,
            true,
            origin(ctx),
        )
        .await?;
        Ok(i32::try_from(ended).unwrap_or(i32::MAX))
    }

    /// Changes the signed-in user's own password, given the current one (a wrong one counts as a
    /// failed sign-in). Every session of the user ends, this one too; the answer holds the new
    /// session's tokens. Any signed-in user, also while `passwordChangeRequired`.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The password the user signs in with now.")] current_password: String,
        #[graphql(
            desc = "The new password: 12 to 128 characters, not easily guessed (a strength estimate checks it), different from the current one."
        )]
        new_password: String,
    ) -> Result<SessionPayload, ApiError> {
        let session = session(ctx)?;
        Ok(accounts::change_password(
            session.db(),
            &session.principal,
            login_service(ctx)?,
            (&current_password, &new_password),
            origin(ctx),
        )
        .await?
        .into())
    }

    /// Gives a clinic a working ClinicAdmin again (its last one locked out or deactivated, say):
    /// the clinic's user `username` (created if there is none) becomes an active ClinicAdmin with
    /// the given password, which they must change at sign-in; their sessions end. Audited in the
    /// clinic and the platform. SystemAdmin only.
    async fn reset_clinic_admin(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The clinic's id.")] tenant_id: Uuid,
        #[graphql(desc = "The ClinicAdmin's sign-in name.")] username: String,
        #[graphql(
            desc = "A one-time password for them: 12 to 128 characters, not easily guessed."
        )]
        password: String,
    ) -> Result<ResetClinicAdminPayload, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageClinics)?;
        let (user_id, username) = accounts::reset_clinic_admin(
            session.db(),
            tenant_id,
            (&username, &password),
            origin(ctx),
        )
        .await?
        .ok_or_else(|| ApiError::not_found("clinic"))?;
        Ok(ResetClinicAdminPayload {
            user_id,
            username: username.as_str().to_owned(),
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
        let password = NewPassword::parse(
            "input.adminPassword",
            &input.admin_password,
            &[username.as_str(), slug.as_str(), &name],
        )?;

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
        let password = NewPassword::parse("input.password", &input.password, &[username.as_str()])?;
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

    /// Changes a user's role and/or sets their password; either ends their sessions at once,
    /// and a password set here must be changed at their next sign-in. ClinicAdmin only; not
    /// one's own role or password, and not the role of the clinic's last active ClinicAdmin.
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
        let mut found = true;
        if let Some(role) = role {
            found &= accounts::set_role(session.db(), &session.principal, input.id, role).await?;
        }
        if let Some(password) = &input.password {
            found &= accounts::reset_password(
                session.db(),
                &session.principal,
                input.id,
                password,
                origin(ctx),
            )
            .await?;
        }
        if !found {
            return Err(ApiError::not_found("user"));
        }
        found_user(session.db(), session.tenant_id(), input.id).await
    }

    /// Deactivates a user: they cannot sign in and their sessions end at once, for good.
    /// ClinicAdmin only; not oneself, and not the clinic's last active ClinicAdmin.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's id.")] id: Uuid,
    ) -> Result<User, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageUsers)?;
        if !accounts::deactivate(session.db(), &session.principal, id).await? {
            return Err(ApiError::not_found("user"));
        }
        found_user(session.db(), session.tenant_id(), id).await
    }
}

/// Allows one sign-in or refresh per request: aliases could otherwise repeat them hundreds of
/// times in one request and turn it into a password-spraying tool.
fn take_sign_in_budget(ctx: &Context<'_>, field: &str) -> Result<(), ApiError> {
    let budget = ctx
        .data::<SignInBudget>()
        .map_err(|_| ApiError::internal())?;
    if !budget.take() {
        return Err(ApiError::bad_input(
            field,
            "sign in or refresh once per request; send each separately",
        ));
    }
    Ok(())
}

pub(super) fn login_service<'a>(ctx: &Context<'a>) -> Result<&'a LoginService, ApiError> {
    ctx.data::<LoginService>().map_err(|_| ApiError::internal())
}

/// Where the request came from, for its security events.
pub(super) fn origin<'a>(ctx: &Context<'a>) -> Origin<'a> {
    Origin {
        client_address: ctx.data_opt::<ClientAddress>().map(|address| address.0),
        request_id: ctx.data_opt::<RequestId>().map(|id| id.0.as_str()),
    }
}

/// The session of the signed-in user's token; FORBIDDEN for an API key, which has none.
fn current_session(ctx: &Context<'_>) -> Result<Uuid, ApiError> {
    ctx.data_opt::<Authenticated>()
        .and_then(Authenticated::session_id)
        .ok_or_else(|| {
            ApiError::forbidden("an API key acts for no user; sign in as a user for this")
        })
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

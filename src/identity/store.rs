//! Identity queries. Everything but `sign_in_account` takes the request's tenant transaction, so
//! row-level security scopes it to the caller's clinic (or, for a SystemAdmin, to all clinics'
//! `tenants` rows and nothing else).

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::foundation::access::Actor;
use crate::foundation::access::Principal;
use crate::foundation::db::{PreAuthentication, TenantTransaction, TokenClaims, statement};
use crate::foundation::role::Role;
use crate::identity::entity::{api_key, tenant, user};
use crate::identity::sessions::Origin;

/// Whether the principal's user is still active, undeleted, in an active clinic, in the role the
/// token claims, at the credential version it was issued under and in a live session
/// (`user_session_stands()`, schema.sql, which every request's first statement also asks), so
/// deactivation, role and password changes and sign-out act at once.
pub async fn user_is_current(
    db: &TenantTransaction,
    principal: &Principal,
    claims: TokenClaims,
) -> Result<bool, DbErr> {
    let Actor::User { id, role } = principal.actor else {
        return Ok(false);
    };
    let row = db
        .query_one_raw(statement(
            "select user_session_stands($1, $2, $3, $4, $5) as stands",
            [
                principal.tenant_id.into(),
                id.into(),
                role.id().into(),
                claims.credential_version.into(),
                claims.session_id.into(),
            ],
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<bool>("", "stands")?,
        None => false,
    })
}

/// An account that may sign in, as `sign_in_account()` in schema.sql returns it.
pub struct LoginAccount {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub username: String,
    pub password_hash: String,
    pub credential_version: i32,
    pub created_at: DateTime<FixedOffset>,
    pub password_change_required: bool,
}

/// What a sign-in names: an active clinic, and its active account of that username if any.
pub struct SignInLookup {
    pub tenant_id: Uuid,
    pub account: Option<LoginAccount>,
}

/// The active clinic `clinic` (slug or id) and its active account `username`, if there are
/// these. The only identity query that runs outside a tenant transaction: before sign-in there
/// is no clinic to scope by, so it goes through the narrow SECURITY DEFINER function.
pub async fn sign_in_account(
    pool: &PreAuthentication,
    clinic: &str,
    username: &str,
) -> Result<Option<SignInLookup>, DbErr> {
    let Some(row) = pool
        .query_one_raw(statement(
            "select tenant_id, user_id, username, role_id, password_hash, credential_version,
                    created_at, password_change_required
             from sign_in_account($1, $2)",
            [clinic.into(), username.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let tenant_id: Uuid = row.try_get_by_index(0)?;
    let user_id: Option<Uuid> = row.try_get_by_index(1)?;
    let role = row
        .try_get_by_index::<Option<i16>>(3)?
        .and_then(Role::from_id);
    let account = match (user_id, role) {
        (Some(user_id), Some(role)) => Some(LoginAccount {
            tenant_id,
            user_id,
            role,
            username: row.try_get_by_index(2)?,
            password_hash: row.try_get_by_index(4)?,
            credential_version: row.try_get_by_index(5)?,
            created_at: row.try_get_by_index(6)?,
            password_change_required: row.try_get_by_index(7)?,
        }),
        _ => None,
    };
    Ok(Some(SignInLookup { tenant_id, account }))
}

pub async fn find_user(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant_id))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::IsDeleted.eq(false))
        .one(db)
        .await
}

/// A page of the clinic's users ordered by username, after `after_username`.
pub async fn list_users(
    db: &TenantTransaction,
    tenant_id: Uuid,
    role: Option<Role>,
    active_only: bool,
    after_username: Option<&str>,
    limit: u64,
) -> Result<Vec<user::Model>, DbErr> {
    let mut query = user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant_id))
        .filter(user::Column::IsDeleted.eq(false));
    if let Some(role) = role {
        query = query.filter(user::Column::RoleId.eq(role.id()));
    }
    if active_only {
        query = query.filter(user::Column::IsActive.eq(true));
    }
    if let Some(after) = after_username {
        query = query.filter(user::Column::Username.gt(after));
    }
    query
        .order_by_asc(user::Column::Username)
        .limit(limit)
        .all(db)
        .await
}

/// Inserts a user without reading it back (bootstrap inserts before any read policy applies).
pub async fn insert_user(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
    username: &str,
    password_hash: String,
    role: Role,
) -> Result<(), DbErr> {
    user::Entity::insert(user::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(id),
        username: Set(username.to_owned()),
        password_hash: Set(password_hash),
        role_id: Set(role.id()),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Changes a user's role, which ends their sessions (a new credential version); false when no
/// such user is in the clinic.
pub async fn set_role(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
    role: Role,
) -> Result<bool, DbErr> {
    let result = user::Entity::update_many()
        .col_expr(user::Column::UpdatedAt, Expr::cust("now()"))
        .col_expr(user::Column::RoleId, Expr::value(role.id()))
        .col_expr(
            user::Column::CredentialVersion,
            Expr::col(user::Column::CredentialVersion).add(1),
        )
        .filter(user::Column::TenantId.eq(tenant_id))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::IsDeleted.eq(false))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Deactivates a user, which ends their sessions for good (a new credential version); false
/// when no such user is in the clinic.
pub async fn deactivate_user(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<bool, DbErr> {
    let result = user::Entity::update_many()
        .col_expr(user::Column::IsActive, Expr::value(false))
        .col_expr(
            user::Column::CredentialVersion,
            Expr::col(user::Column::CredentialVersion).add(1),
        )
        .col_expr(user::Column::UpdatedAt, Expr::cust("now()"))
        .filter(user::Column::TenantId.eq(tenant_id))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::IsDeleted.eq(false))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn find_tenant(db: &TenantTransaction, id: Uuid) -> Result<Option<tenant::Model>, DbErr> {
    tenant::Entity::find_by_id(id).one(db).await
}

/// A page of clinics ordered by slug, after `after_slug` (the platform's own tenant excluded).
pub async fn list_clinics(
    db: &TenantTransaction,
    after_slug: Option<&str>,
    limit: u64,
) -> Result<Vec<tenant::Model>, DbErr> {
    let mut query = tenant::Entity::find().filter(tenant::Column::IsPlatform.eq(false));
    if let Some(after) = after_slug {
        query = query.filter(tenant::Column::Slug.gt(after));
    }
    query
        .order_by_asc(tenant::Column::Slug)
        .limit(limit)
        .all(db)
        .await
}

/// Creates a clinic and its first ClinicAdmin through `onboard_clinic()` (schema.sql), the
/// one write across clinics; the transaction must carry the SystemAdmin role.
pub async fn onboard_clinic(
    db: &TenantTransaction,
    clinic: (Uuid, &str, &str),
    admin: (Uuid, &str, String),
) -> Result<(), DbErr> {
    let (clinic_id, name, slug) = clinic;
    let (admin_id, username, password_hash) = admin;
    db.execute_raw(statement(
        "select onboard_clinic($1, $2, $3, $4, $5, $6)",
        [
            clinic_id.into(),
            name.into(),
            slug.into(),
            admin_id.into(),
            username.into(),
            password_hash.into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn insert_tenant(
    db: &TenantTransaction,
    id: Uuid,
    name: &str,
    slug: &str,
    is_platform: bool,
) -> Result<(), DbErr> {
    tenant::Entity::insert(tenant::ActiveModel {
        id: Set(id),
        name: Set(name.to_owned()),
        slug: Set(slug.to_owned()),
        is_platform: Set(is_platform),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Activates or deactivates a clinic (never the platform itself); false when there is none.
pub async fn set_clinic_active(
    db: &TenantTransaction,
    id: Uuid,
    active: bool,
) -> Result<bool, DbErr> {
    let result = tenant::Entity::update_many()
        .col_expr(tenant::Column::IsActive, Expr::value(active))
        .filter(tenant::Column::Id.eq(id))
        .filter(tenant::Column::IsPlatform.eq(false))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The platform's own tenant, if bootstrapped.
pub async fn platform_tenant(db: &TenantTransaction) -> Result<Option<tenant::Model>, DbErr> {
    tenant::Entity::find()
        .filter(tenant::Column::IsPlatform.eq(true))
        .one(db)
        .await
}

pub async fn find_user_by_username(
    db: &TenantTransaction,
    tenant_id: Uuid,
    username: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant_id))
        .filter(user::Column::Username.eq(username))
        .filter(user::Column::IsDeleted.eq(false))
        .one(db)
        .await
}

pub async fn find_tenant_by_slug(
    db: &TenantTransaction,
    slug: &str,
) -> Result<Option<tenant::Model>, DbErr> {
    tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(db)
        .await
}

/// Replaces an active provider's working hours (validated by the scheduling module); false when
/// there is no such provider in the clinic.
pub async fn set_working_hours(
    db: &TenantTransaction,
    tenant_id: Uuid,
    provider_id: Uuid,
    hours: serde_json::Value,
) -> Result<bool, DbErr> {
    let result = user::Entity::update_many()
        .col_expr(user::Column::WorkingHours, Expr::value(hours))
        .col_expr(user::Column::UpdatedAt, Expr::cust("now()"))
        .filter(user::Column::TenantId.eq(tenant_id))
        .filter(user::Column::Id.eq(provider_id))
        .filter(user::Column::RoleId.eq(Role::Provider.id()))
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::IsDeleted.eq(false))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// A live key as `find_api_key()` in schema.sql returns it.
pub struct StoredApiKey {
    pub sealed_secret: Vec<u8>,
    pub scopes: Vec<String>,
}

/// The live key `id` of the active clinic `tenant_id`: like `sign_in_account`, this runs before the
/// server has a clinic's transaction, through a narrow SECURITY DEFINER function.
pub async fn find_api_key(
    db: &PreAuthentication,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<StoredApiKey>, DbErr> {
    let Some(row) = db
        .query_one_raw(statement(
            "select secret_ciphertext, scopes from find_api_key($1, $2)",
            [tenant_id.into(), id.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(StoredApiKey {
        sealed_secret: row.try_get_by_index(0)?,
        scopes: row.try_get_by_index(1)?,
    }))
}

/// Whether key `id` of the transaction's clinic is still live: `find_api_key`'s question, asked
/// inside the clinic's transaction (its SECURITY DEFINER function answers there just the same).
pub async fn api_key_is_live(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<bool, DbErr> {
    Ok(db
        .query_one_raw(statement(
            "select 1 from find_api_key($1, $2)",
            [tenant_id.into(), id.into()],
        ))
        .await?
        .is_some())
}

/// Notes that key `id` was used. At most once a minute per key: `lastUsedAt` says whether a
/// partner still uses a key (before revoking it), and every write is an audit row.
pub async fn record_api_key_use(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<(), DbErr> {
    db.execute_raw(statement(
        "update tenant_api_keys set last_used_at = now()
         where tenant_id = $1 and id = $2
           and (last_used_at is null or last_used_at < now() - interval '1 minute')",
        [tenant_id.into(), id.into()],
    ))
    .await?;
    Ok(())
}

pub async fn insert_api_key(
    db: &TenantTransaction,
    key: api_key::ActiveModel,
) -> Result<api_key::Model, DbErr> {
    api_key::Entity::insert(key).exec_with_returning(db).await
}

/// The clinic's keys, newest first, revoked ones included (an administrator rotating keys wants
/// to see both).
pub async fn list_api_keys(
    db: &TenantTransaction,
    tenant_id: Uuid,
) -> Result<Vec<api_key::Model>, DbErr> {
    api_key::Entity::find()
        .filter(api_key::Column::TenantId.eq(tenant_id))
        .order_by_desc(api_key::Column::CreatedAt)
        .order_by_desc(api_key::Column::Id)
        .all(db)
        .await
}

/// Revokes key `id`; the key as it now stands, or `None` when the clinic has no such key. An
/// already revoked key keeps its first revocation time.
pub async fn revoke_api_key(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<api_key::Model>, DbErr> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::cust("now()"))
        .filter(api_key::Column::TenantId.eq(tenant_id))
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    api_key::Entity::find()
        .filter(api_key::Column::TenantId.eq(tenant_id))
        .filter(api_key::Column::Id.eq(id))
        .one(db)
        .await
}

/// A new session's row: its refresh secret's hash and when it ends (idle and absolute).
pub struct NewSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub credential_version: i32,
    pub refresh_token_hash: Vec<u8>,
    pub idle_expires_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_session(
    db: &TenantTransaction,
    tenant_id: Uuid,
    session: NewSession,
) -> Result<(), DbErr> {
    db.execute_raw(statement(
        "insert into user_sessions (tenant_id, id, user_id, credential_version,
                                    refresh_token_hash, idle_expires_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
        [
            tenant_id.into(),
            session.id.into(),
            session.user_id.into(),
            session.credential_version.into(),
            session.refresh_token_hash.into(),
            session.idle_expires_at.into(),
            session.expires_at.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// A session as a refresh finds it, locked until the transaction ends, so two refreshes with
/// the same token take turns and the second sees the first's rotation.
pub struct StoredSession {
    pub credential_version: i32,
    pub refresh_token_hash: Vec<u8>,
    pub retired_refresh_hashes: Vec<Vec<u8>>,
    pub is_revoked: bool,
    pub expires_at: DateTime<Utc>,
}

pub async fn lock_session(
    db: &TenantTransaction,
    tenant_id: Uuid,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<StoredSession>, DbErr> {
    let Some(row) = db
        .query_one_raw(statement(
            "select refresh_token_hash, retired_refresh_hashes, revoked_at is not null, expires_at,
                    credential_version
               from user_sessions
              where tenant_id = $1 and id = $2 and user_id = $3
              for update",
            [tenant_id.into(), id.into(), user_id.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(StoredSession {
        refresh_token_hash: row.try_get_by_index(0)?,
        retired_refresh_hashes: row.try_get_by_index(1)?,
        is_revoked: row.try_get_by_index(2)?,
        expires_at: row.try_get_by_index::<DateTime<FixedOffset>>(3)?.into(),
        credential_version: row.try_get_by_index(4)?,
    }))
}

/// Replaces a session's refresh secret, keeping the replaced one's hash to recognise its reuse,
/// and moves its idle deadline on.
pub async fn rotate_session(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
    (replaced_hash, new_hash): (Vec<u8>, Vec<u8>),
    idle_expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    db.execute_raw(statement(
        "update user_sessions
            set refresh_token_hash = $3,
                retired_refresh_hashes = array_append(retired_refresh_hashes, $4),
                refreshed_at = now(), idle_expires_at = $5
          where tenant_id = $1 and id = $2",
        [
            tenant_id.into(),
            id.into(),
            new_hash.into(),
            replaced_hash.into(),
            idle_expires_at.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Why a session ended early (`user_sessions.revoked_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevokedBecause {
    SignedOut,
    SignedOutEverywhere,
    RefreshTokenReused,
    PasswordChanged,
    PasswordReset,
    /// The user's second factor was confirmed, removed or reset.
    MfaChanged,
}

impl RevokedBecause {
    fn name(self) -> &'static str {
        match self {
            RevokedBecause::SignedOut => "SignedOut",
            RevokedBecause::SignedOutEverywhere => "SignedOutEverywhere",
            RevokedBecause::RefreshTokenReused => "RefreshTokenReused",
            RevokedBecause::PasswordChanged => "PasswordChanged",
            RevokedBecause::PasswordReset => "PasswordReset",
            RevokedBecause::MfaChanged => "MfaChanged",
        }
    }
}

/// Ends the live sessions of `user_id` (only session `only` when given); how many it ended.
pub async fn revoke_sessions(
    db: &TenantTransaction,
    tenant_id: Uuid,
    user_id: Uuid,
    only: Option<Uuid>,
    because: RevokedBecause,
) -> Result<u64, DbErr> {
    let result = db
        .execute_raw(statement(
            "update user_sessions set revoked_at = now(), revoked_reason = $4
              where tenant_id = $1 and user_id = $2 and revoked_at is null
                and ($3::uuid is null or id = $3)",
            [
                tenant_id.into(),
                user_id.into(),
                only.into(),
                because.name().into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// What a signed-in account's refresh needs of its user row.
pub struct AccountStanding {
    pub role: Role,
    pub password_change_required: bool,
}

/// The role and password state of user `id`, if their session `session`, opened at
/// `credential_version`, still stands for them (`user_session_stands()`, schema.sql). Two
/// statements: on Citus the function cannot run inside a query of a distributed table.
pub async fn standing_account(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
    (session, credential_version): (Uuid, i32),
) -> Result<Option<AccountStanding>, DbErr> {
    let Some(row) = db
        .query_one_raw(statement(
            "select role_id, password_change_required from users where tenant_id = $1 and id = $2",
            [tenant_id.into(), id.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let Some(role) = Role::from_id(row.try_get_by_index(0)?) else {
        return Ok(None);
    };
    let claims = TokenClaims {
        credential_version,
        session_id: session,
    };
    if !user_is_current(db, &Principal::user(tenant_id, id, role), claims).await? {
        return Ok(None);
    }
    Ok(Some(AccountStanding {
        role,
        password_change_required: row.try_get_by_index(1)?,
    }))
}

/// Sets a user's password (a new credential version, which ends every token of theirs), and
/// whether it must be changed at the next sign-in; false when no such user is in the clinic.
pub async fn set_password(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
    password_hash: String,
    change_required: bool,
) -> Result<Option<i32>, DbErr> {
    let row = db
        .query_one_raw(statement(
            "update users
                set password_hash = $3, credential_version = credential_version + 1,
                    password_change_required = $4, updated_at = now()
              where tenant_id = $1 and id = $2 and not is_deleted
             returning credential_version",
            [
                tenant_id.into(),
                id.into(),
                password_hash.into(),
                change_required.into(),
            ],
        ))
        .await?;
    row.map(|row| row.try_get_by_index(0)).transpose()
}

/// A security event for the audit trail (`record_security_event()`, schema.sql): its action name
/// and what it adds to the user, role, address and request id every event carries.
pub struct SecurityEvent<'a> {
    pub action: &'static str,
    pub role: Option<Role>,
    pub client_address: Option<String>,
    pub request_id: Option<&'a str>,
    pub details: serde_json::Value,
}

/// Records `event` about the transaction's user (`app.user_id`) in its clinic.
pub async fn record_security_event(
    db: &TenantTransaction,
    event: SecurityEvent<'_>,
) -> Result<(), DbErr> {
    db.execute_raw(statement(
        "select record_security_event($1, $2, $3, $4, $5)",
        [
            event.action.into(),
            event.role.map(Role::name).into(),
            event.client_address.into(),
            event.request_id.map(str::to_owned).into(),
            event.details.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Locks the clinic's active ClinicAdmins and returns their ids, so that of two changes that
/// would each leave one of them, the second sees the first's outcome.
pub async fn lock_active_clinic_admins(
    db: &TenantTransaction,
    tenant_id: Uuid,
) -> Result<Vec<Uuid>, DbErr> {
    db.query_all_raw(statement(
        "select id from users
          where tenant_id = $1 and role_id = $2 and is_active and not is_deleted
          for update",
        [tenant_id.into(), Role::ClinicAdmin.id().into()],
    ))
    .await?
    .into_iter()
    .map(|row| row.try_get_by_index(0))
    .collect()
}

/// Makes `username` of clinic `clinic_id` an active ClinicAdmin with a password to change at
/// sign-in, creating them as `new_id` when the clinic has no such user, and records the
/// `ClinicAdminReset` security event from `origin` in that clinic's trail (`reset_clinic_admin()`,
/// schema.sql: SystemAdmin only); their id, or `None` when there is no such clinic.
pub async fn reset_clinic_admin(
    db: &TenantTransaction,
    clinic_id: Uuid,
    new_id: Uuid,
    (username, password_hash): (&str, String),
    origin: &Origin<'_>,
) -> Result<Option<Uuid>, DbErr> {
    let row = db
        .query_one_raw(statement(
            "select reset_clinic_admin($1, $2, $3, $4, $5, $6)",
            [
                clinic_id.into(),
                new_id.into(),
                username.into(),
                password_hash.into(),
                origin
                    .client_address
                    .map(|address| address.to_string())
                    .into(),
                origin.request_id.map(str::to_owned).into(),
            ],
        ))
        .await?;
    Ok(row
        .map(|row| row.try_get_by_index::<Option<Uuid>>(0))
        .transpose()?
        .flatten())
}

/// A user's live second factor (`mfa_factors`): pending until confirmed with a code.
pub struct StoredFactor {
    pub id: Uuid,
    pub secret_ciphertext: Vec<u8>,
    pub confirmed: bool,
    /// The RFC 6238 time step of the last code accepted (0 before any).
    pub last_used_step: i64,
}

pub async fn live_factor(
    db: &TenantTransaction,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Option<StoredFactor>, DbErr> {
    let Some(row) = db
        .query_one_raw(statement(
            "select id, secret_ciphertext, confirmed_at is not null, last_used_step
               from mfa_factors
              where tenant_id = $1 and user_id = $2 and not is_deleted",
            [tenant_id.into(), user_id.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(StoredFactor {
        id: row.try_get_by_index(0)?,
        secret_ciphertext: row.try_get_by_index(1)?,
        confirmed: row.try_get_by_index(2)?,
        last_used_step: row.try_get_by_index(3)?,
    }))
}

pub async fn insert_factor(
    db: &TenantTransaction,
    tenant_id: Uuid,
    user_id: Uuid,
    id: Uuid,
    secret_ciphertext: Vec<u8>,
) -> Result<(), DbErr> {
    db.execute_raw(statement(
        "insert into mfa_factors (tenant_id, id, user_id, secret_ciphertext)
         values ($1, $2, $3, $4)",
        [
            tenant_id.into(),
            id.into(),
            user_id.into(),
            secret_ciphertext.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Confirms a pending factor with the step of the code that proved it; false when it was no
/// longer pending (a concurrent confirmation won).
pub async fn confirm_factor(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
    step: i64,
) -> Result<bool, DbErr> {
    let result = db
        .execute_raw(statement(
            "update mfa_factors set confirmed_at = now(), last_used_step = $3, updated_at = now()
              where tenant_id = $1 and id = $2 and confirmed_at is null and not is_deleted",
            [tenant_id.into(), id.into(), step.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Accepts a code of time step `step` for a confirmed factor, only if no code of that step or a
/// later one was accepted before (so each code signs in once, however many race with it).
pub async fn accept_step(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
    step: i64,
) -> Result<bool, DbErr> {
    let result = db
        .execute_raw(statement(
            "update mfa_factors set last_used_step = $3, updated_at = now()
              where tenant_id = $1 and id = $2 and last_used_step < $3
                and confirmed_at is not null and not is_deleted",
            [tenant_id.into(), id.into(), step.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Soft-deletes a factor (its recovery codes die with it); false when it was gone already.
pub async fn remove_factor(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<bool, DbErr> {
    let result = db
        .execute_raw(statement(
            "update mfa_factors set is_deleted = true, updated_at = now()
              where tenant_id = $1 and id = $2 and not is_deleted",
            [tenant_id.into(), id.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn insert_recovery_codes(
    db: &TenantTransaction,
    tenant_id: Uuid,
    factor_id: Uuid,
    hashes: Vec<Vec<u8>>,
) -> Result<(), DbErr> {
    // One VALUES row per code: on Citus an INSERT ... SELECT becomes a COPY, which row-level
    // security refuses.
    let rows: Vec<String> = (0..hashes.len())
        .map(|index| format!("($1, $2, ${})", index + 3))
        .collect();
    let mut values: Vec<sea_orm::Value> = vec![tenant_id.into(), factor_id.into()];
    values.extend(hashes.into_iter().map(sea_orm::Value::from));
    db.execute_raw(statement(
        &format!(
            "insert into mfa_recovery_codes (tenant_id, factor_id, code_hash) values {}",
            rows.join(", ")
        ),
        values,
    ))
    .await?;
    Ok(())
}

/// Spends the factor's unspent recovery code of hash `hash`; false when there is none.
pub async fn spend_recovery_code(
    db: &TenantTransaction,
    tenant_id: Uuid,
    factor_id: Uuid,
    hash: Vec<u8>,
) -> Result<bool, DbErr> {
    let result = db
        .execute_raw(statement(
            "update mfa_recovery_codes set used_at = now()
              where tenant_id = $1 and factor_id = $2 and code_hash = $3 and used_at is null",
            [tenant_id.into(), factor_id.into(), hash.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn recovery_codes_left(
    db: &TenantTransaction,
    tenant_id: Uuid,
    factor_id: Uuid,
) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(statement(
            "select count(*) from mfa_recovery_codes
              where tenant_id = $1 and factor_id = $2 and used_at is null",
            [tenant_id.into(), factor_id.into()],
        ))
        .await?;
    row.map_or(Ok(0), |row| row.try_get_by_index(0))
}

/// The clinic's stored two-factor policy (`mfa_policies.required_for`), if it set one.
pub async fn mfa_policy(db: &TenantTransaction, tenant_id: Uuid) -> Result<Option<String>, DbErr> {
    let row = db
        .query_one_raw(statement(
            "select required_for from mfa_policies where tenant_id = $1",
            [tenant_id.into()],
        ))
        .await?;
    row.map(|row| row.try_get_by_index(0)).transpose()
}

/// (The update takes the inserted row's `updated_at`: Citus refuses functions that are not
/// IMMUTABLE, `now()` among them, in DO UPDATE.)
pub async fn set_mfa_policy(
    db: &TenantTransaction,
    tenant_id: Uuid,
    required_for: &str,
) -> Result<(), DbErr> {
    db.execute_raw(statement(
        "insert into mfa_policies (tenant_id, required_for) values ($1, $2)
         on conflict (tenant_id) do update
           set required_for = excluded.required_for, updated_at = excluded.updated_at",
        [tenant_id.into(), required_for.into()],
    ))
    .await?;
    Ok(())
}

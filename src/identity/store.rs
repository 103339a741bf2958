//! Identity queries. Everything but `login_account` takes the request's tenant transaction, so
//! row-level security scopes it to the caller's clinic (or, for a SystemAdmin, to all clinics'
//! `tenants` rows and nothing else).

use chrono::{DateTime, FixedOffset};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::foundation::access::Actor;
use crate::foundation::access::Principal;
use crate::foundation::db::{PreAuthentication, TenantTransaction, statement};
use crate::foundation::role::Role;
use crate::identity::entity::{api_key, tenant, user};

/// Whether the principal's user is still active, undeleted, in an active clinic, in the role the
/// token claims and at the credential version it was issued under (`user_credential_stands()`,
/// schema.sql, which every request's first statement also asks), so deactivation,
/// role and password changes act at once.
pub async fn user_is_current(
    db: &TenantTransaction,
    principal: &Principal,
    credential_version: i32,
) -> Result<bool, DbErr> {
    let Actor::User { id, role } = principal.actor else {
        return Ok(false);
    };
    let row = db
        .query_one_raw(statement(
            "select user_credential_stands($1, $2, $3, $4) as stands",
            [
                principal.tenant_id.into(),
                id.into(),
                role.id().into(),
                credential_version.into(),
            ],
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<bool>("", "stands")?,
        None => false,
    })
}

/// An account that may sign in, as `login_account()` in schema.sql returns it.
pub struct LoginAccount {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub username: String,
    pub password_hash: String,
    pub credential_version: i32,
    pub created_at: DateTime<FixedOffset>,
}

/// The active account `username` of the active clinic `clinic` (slug or id), if there is one.
/// The only identity query that runs outside a tenant transaction: before sign-in there is no
/// clinic to scope by, so it goes through the narrow SECURITY DEFINER function.
pub async fn login_account(
    pool: &PreAuthentication,
    clinic: &str,
    username: &str,
) -> Result<Option<LoginAccount>, DbErr> {
    let Some(row) = pool
        .query_one_raw(statement(
            "select tenant_id, user_id, username, role_id, password_hash, credential_version,
                    created_at
             from login_account($1, $2)",
            [clinic.into(), username.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let role_id: i16 = row.try_get_by_index(3)?;
    let Some(role) = Role::from_id(role_id) else {
        return Ok(None);
    };
    Ok(Some(LoginAccount {
        tenant_id: row.try_get_by_index(0)?,
        user_id: row.try_get_by_index(1)?,
        role,
        username: row.try_get_by_index(2)?,
        password_hash: row.try_get_by_index(4)?,
        credential_version: row.try_get_by_index(5)?,
        created_at: row.try_get_by_index(6)?,
    }))
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

/// Changes a user's role and/or password (a new password ends the user's sessions); false when
/// no such user is in the clinic.
pub async fn update_user(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
    role: Option<Role>,
    password_hash: Option<String>,
) -> Result<bool, DbErr> {
    let mut update = user::Entity::update_many()
        .col_expr(user::Column::UpdatedAt, Expr::cust("now()"))
        .filter(user::Column::TenantId.eq(tenant_id))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::IsDeleted.eq(false));
    if let Some(role) = role {
        update = update.col_expr(user::Column::RoleId, Expr::value(role.id()));
    }
    if let Some(hash) = password_hash {
        update = update
            .col_expr(user::Column::PasswordHash, Expr::value(hash))
            .col_expr(
                user::Column::CredentialVersion,
                Expr::col(user::Column::CredentialVersion).add(1),
            );
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Deactivates a user; false when no such user is in the clinic.
pub async fn deactivate_user(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<bool, DbErr> {
    let result = user::Entity::update_many()
        .col_expr(user::Column::IsActive, Expr::value(false))
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

/// The live key `id` of the active clinic `tenant_id`: like `login_account`, this runs before the
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

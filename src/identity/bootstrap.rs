//! `hpms create-system-admin`: the platform's own tenant and its first SystemAdmin, created
//! once. Running it again changes nothing, except to set the given password if it differs, so
//! the command always leaves an account that signs in with what it was given.

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::foundation::db::{self, TenantScope};
use crate::foundation::role::Role;
use crate::identity::{NewPassword, Username, password, store};

/// What the command did, for its report.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    PasswordReset,
    Unchanged,
}

/// Slug of the platform's tenant: what SystemAdmins type as `tenant` when signing in.
pub const PLATFORM_SLUG: &str = "platform";

pub async fn create_system_admin(
    pool: &DatabaseConnection,
    username: &str,
    new_password: &str,
) -> anyhow::Result<Outcome> {
    let username = Username::parse("--username", username)?;
    let new_password =
        NewPassword::parse("--password", new_password, &[username.as_str()])?.into_inner();

    // Listing tenants needs the SystemAdmin role but no particular tenant.
    let lookup =
        db::begin_tenant_transaction(pool, &TenantScope::platform_work(Uuid::nil())).await?;
    let existing_platform = store::platform_tenant(&lookup).await?;
    lookup.rollback().await?;

    let platform_id = existing_platform
        .as_ref()
        .map_or_else(Uuid::new_v4, |t| t.id);
    let tx = db::begin_tenant_transaction(pool, &TenantScope::platform_work(platform_id)).await?;
    if existing_platform.is_none() {
        store::insert_tenant(&tx, platform_id, "HPMS platform", PLATFORM_SLUG, true).await?;
    }
    let outcome = match store::find_user_by_username(&tx, platform_id, username.as_str()).await? {
        None => {
            let hash = password::hash(new_password).await?;
            store::insert_user(
                &tx,
                platform_id,
                Uuid::new_v4(),
                username.as_str(),
                hash,
                Role::SystemAdmin,
            )
            .await?;
            Outcome::Created
        }
        Some(user)
            if password::verify(new_password.clone(), Some(user.password_hash.clone())).await =>
        {
            Outcome::Unchanged
        }
        Some(user) => {
            let hash = password::hash(new_password).await?;
            store::set_password(&tx, platform_id, user.id, hash, false).await?;
            Outcome::PasswordReset
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

//! The rules of accounts, for the resolvers to call: changing one's own password (which needs the
//! current one), an administrator's reset (which forces a change at the next sign-in and ends the
//! user's sessions), signing out, role changes and deactivation (never of a clinic's last active
//! ClinicAdmin), and a SystemAdmin's reset of a clinic's ClinicAdmin. Each takes the request's
//! tenant transaction and principal, and records its security event in the same transaction.

use serde_json::json;
use uuid::Uuid;

use crate::foundation::access::{Actor, Principal};
use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;
use crate::foundation::role::Role;
use crate::identity::login::LoginService;
use crate::identity::mfa;
use crate::identity::model::{NewPassword, Username};
use crate::identity::password;
use crate::identity::sessions::{IssuedSession, Origin};
use crate::identity::store::{self, RevokedBecause};
use crate::identity::token::TokenSubject;

/// Changes the signed-in user's password, given the current one: every session of theirs ends
/// (this one too) and a new session starts, whose tokens the caller hands back.
pub async fn change_password(
    db: &TenantTransaction,
    principal: &Principal,
    login: &LoginService,
    (current, new): (&str, &str),
    origin: Origin<'_>,
) -> Result<IssuedSession, ApiError> {
    let user_id = principal.user_id()?;
    let user = store::find_user(db, principal.tenant_id, user_id)
        .await?
        .ok_or_else(crate::identity::rejected_token)?;
    let role = Role::from_id(user.role_id).ok_or_else(ApiError::internal)?;
    // The new password first: refusing it costs no hashing and counts no attempt.
    let new = NewPassword::parse("newPassword", new, &[&user.username])?.into_inner();
    if !login
        .verify_current_password(user_id, user.password_hash.clone(), current, origin)
        .await?
    {
        return Err(ApiError::bad_input(
            "currentPassword",
            "is not your current password",
        ));
    }
    if new == current {
        return Err(ApiError::bad_input(
            "newPassword",
            "must differ from your current password",
        ));
    }
    let hash = password::hash(new).await?;
    let credential_version = store::set_password(db, principal.tenant_id, user_id, hash, false)
        .await?
        .ok_or_else(crate::identity::rejected_token)?;
    let ended = store::revoke_sessions(
        db,
        principal.tenant_id,
        user_id,
        None,
        RevokedBecause::PasswordChanged,
    )
    .await?;
    let mfa_enrollment_required =
        mfa::enrollment_required(db, principal.tenant_id, user_id, role).await?;
    let session = login
        .open_session(
            db,
            TokenSubject {
                tenant_id: principal.tenant_id,
                user_id,
                role,
                credential_version,
                session_id: Uuid::nil(),
                password_change_required: false,
                mfa_enrollment_required,
            },
        )
        .await?;
    store::record_security_event(
        db,
        origin.event(
            "PasswordChanged",
            Some(role),
            json!({ "sessions_ended": ended, "session_id": session.subject.session_id }),
        ),
    )
    .await?;
    Ok(session)
}

/// A ClinicAdmin sets another user's password: the user must change it at their next sign-in,
/// and their sessions end now. Not one's own (that is `change_password`, which needs the current
/// one); false when the clinic has no such user.
pub async fn reset_password(
    db: &TenantTransaction,
    principal: &Principal,
    user_id: Uuid,
    new_password: &str,
    origin: Origin<'_>,
) -> Result<bool, ApiError> {
    if user_id == principal.user_id()? {
        return Err(ApiError::bad_input(
            "input.password",
            "change your own password with changePassword, which needs the current one",
        ));
    }
    let Some(user) = store::find_user(db, principal.tenant_id, user_id).await? else {
        return Ok(false);
    };
    let new = NewPassword::parse("input.password", new_password, &[&user.username])?;
    let hash = password::hash(new.into_inner()).await?;
    if store::set_password(db, principal.tenant_id, user_id, hash, true)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    let ended = store::revoke_sessions(
        db,
        principal.tenant_id,
        user_id,
        None,
        RevokedBecause::PasswordReset,
    )
    .await?;
    store::record_security_event(
        db,
        origin.event(
            "PasswordReset",
            acting_role(principal),
            json!({ "target_user_id": user_id, "sessions_ended": ended }),
        ),
    )
    .await?;
    Ok(true)
}

/// The acting user's role, for the audit of what they did.
fn acting_role(principal: &Principal) -> Option<Role> {
    match principal.actor {
        Actor::User { role, .. } => Some(role),
        Actor::ApiKey { .. } => None,
    }
}

/// Refuses a change that would leave the clinic without an active ClinicAdmin: `leaving` is
/// about to stop being one. The clinic's admins stay locked until the transaction ends, so two
/// admins removing each other at once cannot both succeed.
pub async fn keep_a_clinic_admin(
    db: &TenantTransaction,
    tenant_id: Uuid,
    leaving: Uuid,
) -> Result<(), ApiError> {
    let admins = store::lock_active_clinic_admins(db, tenant_id).await?;
    if admins.contains(&leaving) && admins.len() == 1 {
        return Err(ApiError::conflict(
            "this is the clinic's last active ClinicAdmin: make another user ClinicAdmin first \
             (or ask the platform's SystemAdmin to reset one)",
        ));
    }
    Ok(())
}

/// Changes a user's role (ending their sessions); false when the clinic has no such user.
pub async fn set_role(
    db: &TenantTransaction,
    principal: &Principal,
    user_id: Uuid,
    role: Role,
) -> Result<bool, ApiError> {
    if role != Role::ClinicAdmin {
        keep_a_clinic_admin(db, principal.tenant_id, user_id).await?;
    }
    Ok(store::set_role(db, principal.tenant_id, user_id, role).await?)
}

/// Deactivates a user (never oneself, never the last active ClinicAdmin); false when the clinic
/// has no such user.
pub async fn deactivate(
    db: &TenantTransaction,
    principal: &Principal,
    user_id: Uuid,
) -> Result<bool, ApiError> {
    if user_id == principal.user_id()? {
        return Err(ApiError::bad_input(
            "id",
            "you cannot deactivate your own account; ask another ClinicAdmin",
        ));
    }
    keep_a_clinic_admin(db, principal.tenant_id, user_id).await?;
    Ok(store::deactivate_user(db, principal.tenant_id, user_id).await?)
}

/// Ends the signed-in user's session `session_id` (`everywhere`: all of theirs); how many ended.
pub async fn sign_out(
    db: &TenantTransaction,
    principal: &Principal,
    session_id: Uuid,
    everywhere: bool,
    origin: Origin<'_>,
) -> Result<u64, ApiError> {
    let user_id = principal.user_id()?;
    let (only, because, action) = if everywhere {
        (
            None,
            RevokedBecause::SignedOutEverywhere,
            "SignOutEverywhere",
        )
    } else {
        (Some(session_id), RevokedBecause::SignedOut, "SignOut")
    };
    let ended = store::revoke_sessions(db, principal.tenant_id, user_id, only, because).await?;
    store::record_security_event(
        db,
        origin.event(
            action,
            acting_role(principal),
            json!({ "session_id": session_id, "sessions_ended": ended }),
        ),
    )
    .await?;
    Ok(ended)
}

/// A SystemAdmin gives clinic `clinic_id` a working ClinicAdmin: `username` (created when the
/// clinic has no such user) becomes an active ClinicAdmin whose password, `new_password`, must be
/// changed at sign-in. Audited in the clinic's trail, under the SystemAdmin (see the migration
/// `m20261203_000054_clinic_admin_reset_in_the_clinic` for why not the platform's). The user's
/// id and username as stored, or `None` when there is no such clinic.
pub async fn reset_clinic_admin(
    db: &TenantTransaction,
    clinic_id: Uuid,
    (username, new_password): (&str, &str),
    origin: Origin<'_>,
) -> Result<Option<(Uuid, Username)>, ApiError> {
    let username = Username::parse("username", username)?;
    let new = NewPassword::parse("password", new_password, &[username.as_str()])?;
    let hash = password::hash(new.into_inner()).await?;
    let admin_id = store::reset_clinic_admin(
        db,
        clinic_id,
        Uuid::new_v4(),
        (username.as_str(), hash),
        &origin,
    )
    .await?;
    Ok(admin_id.map(|admin_id| (admin_id, username)))
}

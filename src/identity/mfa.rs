//! Two-factor sign-in: a TOTP factor (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step
//! of clock skew either way, which every authenticator app speaks) with ten one-time recovery
//! codes, and each clinic's policy of whose accounts must have one.
//!
//! - Enrolment re-authenticates: `begin_enrollment` needs the current password and hands out a
//!   new secret once (as the `otpauth://` URI apps scan); the factor stays pending, and changes
//!   nothing at sign-in, until `confirm_enrollment` proves the app with a code. Confirming ends
//!   the user's other sessions (signed in with one factor) and opens a new one.
//! - Removal needs the password and a code; a ClinicAdmin's reset (a lost phone and lost codes)
//!   needs neither. Both end the user's sessions. Every change is a security event.
//! - A code is accepted once (RFC 6238 section 5.2): a factor keeps the last step it accepted,
//!   and a conditional update accepts a later one only, so two requests racing with one code get
//!   one sign-in. A recovery code is spent the same way.
//! - Codes are counted against the account's sign-in limits like passwords (`LoginService`), so
//!   a stolen password cannot be turned into a code oracle.
//! - A clinic whose policy requires a factor of a user who has none lets them sign in to a
//!   session that may only enrol (the token's `mfa_enrollment_required`), the way an
//!   administrator's password reset lets a session only change the password.
//!
//! The secret is sealed at rest with the API-key encryption keys under this purpose's own label,
//! bound to the clinic and the factor's id. Recovery codes are 80 random bits, stored as their
//! SHA-256 only.

use std::time::{SystemTime, UNIX_EPOCH};

use async_graphql::Enum;
use serde_json::json;
use sha2::{Digest, Sha256};
use totp_rs::{Builder, Secret as TotpSecret, Totp};
use uuid::Uuid;

use crate::foundation::access::{Permission, Principal};
use crate::foundation::config::Secret;
use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;
use crate::foundation::keyring::{Keyring, KeyringError};
use crate::foundation::role::Role;
use crate::identity::login::LoginService;
use crate::identity::sessions::{IssuedSession, Origin};
use crate::identity::store::{self, RevokedBecause, StoredFactor};
use crate::identity::token::TokenSubject;

const PURPOSE: &[u8] = b"hpms/mfa_factors.secret/v1";
/// 160 bits, RFC 4226's recommended secret length.
const SECRET_BYTES: usize = 20;
const RECOVERY_CODES: usize = 10;
/// 80 bits: 16 base32 characters, shown in groups of four.
const RECOVERY_CODE_BYTES: usize = 10;
/// What authenticator apps show the account under.
const ISSUER: &str = "HPMS";
const CODE_DIGITS: usize = 6;

/// Seals and opens TOTP secrets.
pub struct MfaVault(Keyring);

impl MfaVault {
    pub fn from_config(config: &Secret) -> Result<MfaVault, KeyringError> {
        Keyring::from_config("HPMS_API_KEY_ENCRYPTION_KEYS", PURPOSE, config).map(MfaVault)
    }

    fn seal(&self, tenant_id: Uuid, factor_id: Uuid, secret: &[u8]) -> Result<Vec<u8>, ApiError> {
        self.0
            .seal(&[tenant_id.as_bytes(), factor_id.as_bytes()], secret)
            .map_err(|error| ApiError::internal_from(&error))
    }

    fn open(&self, tenant_id: Uuid, factor: &StoredFactor) -> Result<Vec<u8>, ApiError> {
        self.0
            .open(
                &[tenant_id.as_bytes(), factor.id.as_bytes()],
                &factor.secret_ciphertext,
            )
            .map_err(|error| ApiError::internal_from(&error))
    }
}

/// Whose accounts in a clinic must sign in with a second factor.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaPolicy {
    /// Each user decides.
    Nobody,
    /// ClinicAdmins and Providers, who manage the clinic and reach medical data.
    PrivilegedRoles,
    /// Every user of the clinic.
    Everyone,
}

impl MfaPolicy {
    /// The name `mfa_policies.required_for` stores.
    fn stored_name(self) -> &'static str {
        match self {
            MfaPolicy::Nobody => "Nobody",
            MfaPolicy::PrivilegedRoles => "PrivilegedRoles",
            MfaPolicy::Everyone => "Everyone",
        }
    }

    fn from_stored(name: Option<&str>) -> MfaPolicy {
        match name {
            Some("PrivilegedRoles") => MfaPolicy::PrivilegedRoles,
            Some("Everyone") => MfaPolicy::Everyone,
            _ => MfaPolicy::Nobody,
        }
    }

    pub fn requires(self, role: Role) -> bool {
        match self {
            MfaPolicy::Nobody => false,
            MfaPolicy::PrivilegedRoles => matches!(role, Role::ClinicAdmin | Role::Provider),
            MfaPolicy::Everyone => true,
        }
    }
}

/// The clinic's policy.
pub async fn policy(db: &TenantTransaction, tenant_id: Uuid) -> Result<MfaPolicy, ApiError> {
    let stored = store::mfa_policy(db, tenant_id).await?;
    Ok(MfaPolicy::from_stored(stored.as_deref()))
}

/// Whether `user_id` (in `role`) must set up a second factor before anything else: the clinic
/// requires one of the role and the user has none confirmed.
pub async fn enrollment_required(
    db: &TenantTransaction,
    tenant_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> Result<bool, ApiError> {
    if !policy(db, tenant_id).await?.requires(role) {
        return Ok(false);
    }
    let factor = store::live_factor(db, tenant_id, user_id).await?;
    Ok(!factor.is_some_and(|factor| factor.confirmed))
}

/// What a sign-in with the right password still needs.
pub enum SecondFactor {
    /// A confirmed factor: the request must carry one of its codes.
    Enrolled(StoredFactor),
    /// None, and whether the clinic requires one (the session may then only enrol).
    Missing { required: bool },
}

pub async fn at_sign_in(
    db: &TenantTransaction,
    tenant_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> Result<SecondFactor, ApiError> {
    match store::live_factor(db, tenant_id, user_id).await? {
        Some(factor) if factor.confirmed => Ok(SecondFactor::Enrolled(factor)),
        _ => Ok(SecondFactor::Missing {
            required: policy(db, tenant_id).await?.requires(role),
        }),
    }
}

/// Which kind of code a user presented and it accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptedCode {
    Totp,
    RecoveryCode,
}

/// Accepts `code` for the confirmed `factor` once: a TOTP code of a step later than the last
/// accepted, or an unspent recovery code. `None` when it is neither.
pub async fn accept_code(
    db: &TenantTransaction,
    vault: &MfaVault,
    tenant_id: Uuid,
    factor: &StoredFactor,
    code: &str,
) -> Result<Option<AcceptedCode>, ApiError> {
    if let Some(digits) = totp_code(code) {
        let Some(step) = matching_step(vault, tenant_id, factor, &digits)? else {
            return Ok(None);
        };
        let accepted = step > factor.last_used_step
            && store::accept_step(db, tenant_id, factor.id, step).await?;
        return Ok(accepted.then_some(AcceptedCode::Totp));
    }
    let Some(hash) = recovery_code_hash(code) else {
        return Ok(None);
    };
    let spent = store::spend_recovery_code(db, tenant_id, factor.id, hash).await?;
    Ok(spent.then_some(AcceptedCode::RecoveryCode))
}

/// A code as typed (spaces allowed) when it can be an app's: six digits.
fn totp_code(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == CODE_DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The time step whose code `digits` is, within a step of now either way.
fn matching_step(
    vault: &MfaVault,
    tenant_id: Uuid,
    factor: &StoredFactor,
    digits: &str,
) -> Result<Option<i64>, ApiError> {
    let totp = totp(vault.open(tenant_id, factor)?, String::new())?;
    let Some(step) = totp.check(digits, unix_seconds()?) else {
        return Ok(None);
    };
    Ok(Some(
        i64::try_from(step).map_err(|error| ApiError::internal_from(&error))?,
    ))
}

fn totp(secret: Vec<u8>, account_name: String) -> Result<Totp, ApiError> {
    Builder::new()
        .with_secret(secret)
        .with_account_name(account_name)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|error| ApiError::internal_with(format!("TOTP parameters: {error:?}")))
}

fn unix_seconds() -> Result<u64, ApiError> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .map_err(|error| ApiError::internal_from(&error))
}

/// A recovery code as the user typed it (any case, with or without the dashes and spaces) to its
/// stored hash; `None` when it cannot be one.
fn recovery_code_hash(typed: &str) -> Option<Vec<u8>> {
    let normalised: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let is_code = normalised.len() == RECOVERY_CODE_BYTES * 8 / 5
        && normalised
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    is_code.then(|| Sha256::digest(normalised.as_bytes()).to_vec())
}

/// A fresh recovery code as shown to the user, `XXXX-XXXX-XXXX-XXXX` in RFC 4648 base32.
fn fresh_recovery_code() -> Result<String, ApiError> {
    let mut bytes = [0u8; RECOVERY_CODE_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| ApiError::internal_from(&error))?;
    let encoded = TotpSecret::from(bytes.to_vec()).to_base32();
    let groups: Vec<&str> = (0..encoded.len())
        .step_by(4)
        .map(|at| &encoded[at..at + 4])
        .collect();
    Ok(groups.join("-"))
}

/// A new, pending factor, as the user's authenticator app takes it.
pub struct PendingEnrollment {
    /// The secret in base32, for typing into an app by hand.
    pub secret: String,
    /// The `otpauth://totp/…` URI, for a QR code.
    pub otpauth_uri: String,
}

/// Starts setting up a factor for the signed-in user, given their current password: a new
/// secret, replacing any pending one. CONFLICT when a confirmed factor exists (remove it first).
pub async fn begin_enrollment(
    db: &TenantTransaction,
    principal: &Principal,
    login: &LoginService,
    current_password: &str,
    origin: Origin<'_>,
) -> Result<PendingEnrollment, ApiError> {
    let (tenant_id, user_id) = (principal.tenant_id, principal.user_id()?);
    let user = signed_in_user(db, login, principal, current_password, origin).await?;
    let existing = store::live_factor(db, tenant_id, user_id).await?;
    match existing {
        Some(factor) if factor.confirmed => {
            return Err(ApiError::conflict(
                "two-factor sign-in is already set up: remove it with removeMfa first",
            ));
        }
        Some(pending) => store::remove_factor(db, tenant_id, pending.id).await?,
        None => false,
    };
    let clinic = store::find_tenant(db, tenant_id)
        .await?
        .ok_or_else(crate::identity::rejected_token)?;
    let mut secret = [0u8; SECRET_BYTES];
    getrandom::fill(&mut secret).map_err(|error| ApiError::internal_from(&error))?;
    let factor_id = Uuid::new_v4();
    let sealed = login.mfa_vault().seal(tenant_id, factor_id, &secret)?;
    store::insert_factor(db, tenant_id, user_id, factor_id, sealed).await?;
    let totp = totp(
        secret.to_vec(),
        format!("{}@{}", user.username, clinic.slug),
    )?;
    Ok(PendingEnrollment {
        secret: totp.secret().to_base32(),
        otpauth_uri: totp
            .to_url()
            .map_err(|error| ApiError::internal_with(format!("otpauth URI: {error:?}")))?,
    })
}

/// A confirmed factor: its recovery codes (shown this once) and the new session.
pub struct ConfirmedEnrollment {
    pub recovery_codes: Vec<String>,
    pub session: IssuedSession,
}

/// Confirms the signed-in user's pending factor with a code from their app (counted against
/// their sign-in limits), issues its recovery codes, ends their sessions and opens a new one.
pub async fn confirm_enrollment(
    db: &TenantTransaction,
    principal: &Principal,
    login: &LoginService,
    code: &str,
    origin: Origin<'_>,
) -> Result<ConfirmedEnrollment, ApiError> {
    let (tenant_id, user_id) = (principal.tenant_id, principal.user_id()?);
    let Some(factor) = store::live_factor(db, tenant_id, user_id)
        .await?
        .filter(|factor| !factor.confirmed)
    else {
        return Err(ApiError::conflict(
            "no two-factor set-up is pending: start one with beginMfaEnrollment",
        ));
    };
    let step = login
        .counted(user_id, origin, async {
            match totp_code(code) {
                Some(digits) => matching_step(login.mfa_vault(), tenant_id, &factor, &digits),
                None => Ok(None),
            }
        })
        .await?
        .ok_or_else(wrong_code)?;
    if !store::confirm_factor(db, tenant_id, factor.id, step).await? {
        return Err(wrong_code());
    }
    let mut recovery_codes = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let code = fresh_recovery_code()?;
        hashes.push(recovery_code_hash(&code).ok_or_else(ApiError::internal)?);
        recovery_codes.push(code);
    }
    store::insert_recovery_codes(db, tenant_id, factor.id, hashes).await?;
    let session = restart_sessions(db, login, principal, RevokedBecause::MfaChanged).await?;
    store::record_security_event(
        db,
        origin.event(
            "MfaEnrolled",
            principal.role(),
            json!({ "factor_id": factor.id, "session_id": session.subject.session_id }),
        ),
    )
    .await?;
    Ok(ConfirmedEnrollment {
        recovery_codes,
        session,
    })
}

/// Removes the signed-in user's confirmed factor, given their password and one of its codes;
/// every session of theirs ends (they sign in again, with one factor or, if their clinic
/// requires one, to set up a new one).
pub async fn remove(
    db: &TenantTransaction,
    principal: &Principal,
    login: &LoginService,
    (current_password, code): (&str, &str),
    origin: Origin<'_>,
) -> Result<bool, ApiError> {
    let (tenant_id, user_id) = (principal.tenant_id, principal.user_id()?);
    signed_in_user(db, login, principal, current_password, origin).await?;
    let Some(factor) = store::live_factor(db, tenant_id, user_id)
        .await?
        .filter(|factor| factor.confirmed)
    else {
        return Ok(false);
    };
    let accepted = login
        .counted(
            user_id,
            origin,
            accept_code(db, login.mfa_vault(), tenant_id, &factor, code),
        )
        .await?;
    if accepted.is_none() {
        return Err(wrong_code());
    }
    store::remove_factor(db, tenant_id, factor.id).await?;
    store::revoke_sessions(db, tenant_id, user_id, None, RevokedBecause::MfaChanged).await?;
    store::record_security_event(
        db,
        origin.event(
            "MfaRemoved",
            principal.role(),
            json!({ "factor_id": factor.id }),
        ),
    )
    .await?;
    Ok(true)
}

/// A ClinicAdmin removes user `user_id`'s factor (pending or confirmed), who lost it: their
/// sessions end. False when they had none. NOT_FOUND for no such user in the clinic.
pub async fn reset(
    db: &TenantTransaction,
    principal: &Principal,
    user_id: Uuid,
    origin: Origin<'_>,
) -> Result<bool, ApiError> {
    principal.require(Permission::ManageUsers)?;
    let tenant_id = principal.tenant_id;
    if store::find_user(db, tenant_id, user_id).await?.is_none() {
        return Err(ApiError::not_found("user"));
    }
    let Some(factor) = store::live_factor(db, tenant_id, user_id).await? else {
        return Ok(false);
    };
    store::remove_factor(db, tenant_id, factor.id).await?;
    store::revoke_sessions(db, tenant_id, user_id, None, RevokedBecause::MfaChanged).await?;
    store::record_security_event(
        db,
        origin.event(
            "MfaReset",
            principal.role(),
            json!({ "user_id": user_id, "factor_id": factor.id }),
        ),
    )
    .await?;
    Ok(true)
}

/// A ClinicAdmin sets whose accounts must have a second factor. Users it newly covers who have
/// none keep their sessions until they next sign in, which then lets them only enrol.
pub async fn set_policy(
    db: &TenantTransaction,
    principal: &Principal,
    required_for: MfaPolicy,
    origin: Origin<'_>,
) -> Result<MfaPolicy, ApiError> {
    principal.require(Permission::ManageUsers)?;
    store::set_mfa_policy(db, principal.tenant_id, required_for.stored_name()).await?;
    store::record_security_event(
        db,
        origin.event(
            "MfaPolicyChanged",
            principal.role(),
            json!({ "required_for": required_for.stored_name() }),
        ),
    )
    .await?;
    Ok(required_for)
}

/// The signed-in user's second factor, as they may see it.
pub struct MfaStatus {
    pub enabled: bool,
    pub pending: bool,
    pub recovery_codes_left: i64,
    pub policy: MfaPolicy,
    pub required: bool,
}

pub async fn status(db: &TenantTransaction, principal: &Principal) -> Result<MfaStatus, ApiError> {
    let (tenant_id, user_id) = (principal.tenant_id, principal.user_id()?);
    let role = principal.role().ok_or_else(ApiError::internal)?;
    let factor = store::live_factor(db, tenant_id, user_id).await?;
    let policy = policy(db, tenant_id).await?;
    let recovery_codes_left = match &factor {
        Some(factor) if factor.confirmed => {
            store::recovery_codes_left(db, tenant_id, factor.id).await?
        }
        _ => 0,
    };
    Ok(MfaStatus {
        enabled: factor.as_ref().is_some_and(|factor| factor.confirmed),
        pending: factor.as_ref().is_some_and(|factor| !factor.confirmed),
        recovery_codes_left,
        policy,
        required: policy.requires(role),
    })
}

/// Ends every session of the principal's user and opens a new one for this client.
async fn restart_sessions(
    db: &TenantTransaction,
    login: &LoginService,
    principal: &Principal,
    because: RevokedBecause,
) -> Result<IssuedSession, ApiError> {
    let (tenant_id, user_id) = (principal.tenant_id, principal.user_id()?);
    let user = store::find_user(db, tenant_id, user_id)
        .await?
        .ok_or_else(crate::identity::rejected_token)?;
    let role = Role::from_id(user.role_id).ok_or_else(ApiError::internal)?;
    store::revoke_sessions(db, tenant_id, user_id, None, because).await?;
    login
        .open_session(
            db,
            TokenSubject {
                tenant_id,
                user_id,
                role,
                credential_version: user.credential_version,
                session_id: Uuid::nil(),
                // Confirming is refused until a required password change is made.
                password_change_required: false,
                mfa_enrollment_required: false,
            },
        )
        .await
}

/// The signed-in user's row, once `current_password` is theirs (checked against their sign-in
/// limits): what changing one's own second factor needs first.
async fn signed_in_user(
    db: &TenantTransaction,
    login: &LoginService,
    principal: &Principal,
    current_password: &str,
    origin: Origin<'_>,
) -> Result<crate::identity::entity::user::Model, ApiError> {
    let user_id = principal.user_id()?;
    let user = store::find_user(db, principal.tenant_id, user_id)
        .await?
        .ok_or_else(crate::identity::rejected_token)?;
    if !login
        .verify_current_password(
            user_id,
            user.password_hash.clone(),
            current_password,
            origin,
        )
        .await?
    {
        return Err(wrong_password());
    }
    Ok(user)
}

fn wrong_password() -> ApiError {
    ApiError::bad_input("currentPassword", "is not your current password")
}

fn wrong_code() -> ApiError {
    ApiError::bad_input(
        "code",
        "is not a current code of your authenticator app, or was used already",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_code_reads_back_however_it_is_typed_and_nothing_else_does() {
        let code = fresh_recovery_code().unwrap();
        assert_eq!(code.len(), 19, "{code}");
        let hash = recovery_code_hash(&code).unwrap();
        assert_eq!(
            recovery_code_hash(&code.to_lowercase().replace('-', " ")),
            Some(hash.clone())
        );
        assert_eq!(recovery_code_hash(&code.replace('-', "")), Some(hash));
        assert_eq!(recovery_code_hash("123456"), None);
        assert_eq!(recovery_code_hash(&code[..18]), None);
        assert_eq!(recovery_code_hash("AAAA-AAAA-AAAA-AAA1"), None);
        assert_ne!(fresh_recovery_code().unwrap(), code);
    }

    #[test]
    fn the_policies_cover_the_roles_they_name() {
        use Role::*;
        let covered = |policy: MfaPolicy| {
            [ClinicAdmin, Provider, BillingManager, FrontDesk]
                .into_iter()
                .filter(|role| policy.requires(*role))
                .collect::<Vec<_>>()
        };
        assert_eq!(covered(MfaPolicy::Nobody), []);
        assert_eq!(covered(MfaPolicy::PrivilegedRoles), [ClinicAdmin, Provider]);
        assert_eq!(
            covered(MfaPolicy::Everyone),
            [ClinicAdmin, Provider, BillingManager, FrontDesk]
        );
        for policy in [
            MfaPolicy::Nobody,
            MfaPolicy::PrivilegedRoles,
            MfaPolicy::Everyone,
        ] {
            assert_eq!(MfaPolicy::from_stored(Some(policy.stored_name())), policy);
        }
    }
}

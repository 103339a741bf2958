//! Sign-in: clinic + username + password in, a session out (a short access token and a refresh
//! token: `sessions`). Every outcome in a clinic that exists is a security event of its audit
//! trail: the sign-in, its failure, the lock it ran into.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use crate::foundation::db::{PreAuthentication, TenantScope, TenantTransaction};
use crate::foundation::error::ApiError;
use crate::identity::mfa::{self, AcceptedCode, MfaVault, SecondFactor};
use crate::identity::password;
use crate::identity::sessions::{self, IssuedSession, Origin, SessionPolicy};
use crate::identity::store::{self, LoginAccount, SecurityEvent};
use crate::identity::throttle::{KnownSignIns, LoginThrottle, MAX_FAILURES, ProgressiveDelay};
use crate::identity::token::{TokenKeys, TokenSubject};

/// Inputs longer than these cannot belong to an account (a clinic is named by a slug of at most
/// 63 characters or a 36-character id; usernames have at most 100), so they are refused before
/// any lookup, hashing or lockout bookkeeping.
const MAX_CLINIC_BYTES: usize = 64;
const MAX_USERNAME_BYTES: usize = 100;
const MAX_PASSWORD_BYTES: usize = 1024;
/// Longer than any TOTP or recovery code, however spaced.
const MAX_MFA_CODE_BYTES: usize = 64;

/// The sign-in capability, in the schema's data. It holds the pool privately and uses it for
/// the narrow `sign_in_account()` lookup, which needs no clinic context, and then for the named
/// clinic's own transaction, where the session opens and the attempt is audited.
#[derive(Clone)]
pub struct LoginService {
    pool: PreAuthentication,
    tokens: Arc<TokenKeys>,
    limits: SignInLimits,
    sessions: SessionPolicy,
    mfa: Arc<MfaVault>,
}

/// The sign-in throttles (`throttle`'s header says how they fit together).
#[derive(Clone)]
pub struct SignInLimits {
    per_account_and_address: Arc<LoginThrottle>,
    per_account: Arc<ProgressiveDelay>,
    per_address: Arc<LoginThrottle>,
    known: Arc<KnownSignIns>,
}

impl SignInLimits {
    /// `lockout`: how long a locked account and address stay locked, and the window over which
    /// an address may fail `attempts_per_address` times.
    pub fn new(lockout: Duration, attempts_per_address: u32) -> SignInLimits {
        SignInLimits {
            per_account_and_address: Arc::new(LoginThrottle::new(MAX_FAILURES, lockout)),
            per_account: Arc::new(ProgressiveDelay::new(lockout)),
            per_address: Arc::new(LoginThrottle::new(attempts_per_address, lockout)),
            known: Arc::new(KnownSignIns::default()),
        }
    }
}

/// The address a request came from, in the request's data (`server::http` decides it: the
/// peer, or what a trusted proxy reports).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    /// What the per-address limit counts by: an IPv4 address, or an IPv6 address's /64 (one
    /// subscriber's network, in which a client can take any number of addresses).
    fn throttle_key(self) -> String {
        match self.0.to_canonical() {
            IpAddr::V4(address) => address.to_string(),
            IpAddr::V6(address) => {
                let segments = address.segments();
                format!(
                    "{:x}:{:x}:{:x}:{:x}::/64",
                    segments[0], segments[1], segments[2], segments[3]
                )
            }
        }
    }
}

/// A successful sign-in.
pub struct SignedIn {
    pub session: IssuedSession,
    pub account: LoginAccount,
}

fn failed() -> ApiError {
    ApiError::unauthenticated("sign-in failed: check the clinic, username and password")
}

fn code_refused() -> ApiError {
    ApiError::unauthenticated(
        "sign-in failed: the two-factor code is not current, or was used already",
    )
}

/// What a sign-in may present besides the password: a code of the account's second factor (from
/// the authenticator app, or one of its recovery codes).
pub struct SignInRequest<'a> {
    pub clinic: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub mfa_code: Option<&'a str>,
}

/// A throttle's refusal: what the client is told, and the audit's name for it.
struct Locked {
    whom: &'static str,
    retry_after: u64,
    /// Whether the audit trail records it (once per lock, not once per hammering request).
    recorded: bool,
}

impl Locked {
    fn error(&self) -> ApiError {
        ApiError::unauthenticated(format!(
            "too many failed sign-in attempts {}; try again in {} seconds",
            self.whom, self.retry_after
        ))
        .with_retry_after(self.retry_after)
    }
}

impl LoginService {
    pub fn new(
        pool: PreAuthentication,
        tokens: Arc<TokenKeys>,
        limits: SignInLimits,
        sessions: SessionPolicy,
        mfa: Arc<MfaVault>,
    ) -> LoginService {
        LoginService {
            pool,
            tokens,
            limits,
            sessions,
            mfa,
        }
    }

    /// Seals and opens the secrets of second factors.
    pub fn mfa_vault(&self) -> &MfaVault {
        &self.mfa
    }

    /// Every failure (unknown clinic or user, deactivated clinic or user, wrong password) gets
    /// the same error after the same work, so a caller cannot tell which it was. An account with
    /// a second factor then needs one of its codes: MFA_REQUIRED without one, UNAUTHENTICATED for
    /// a wrong one (counted like a wrong password).
    pub async fn login(
        &self,
        request: SignInRequest<'_>,
        origin: Origin<'_>,
    ) -> Result<SignedIn, ApiError> {
        let address = origin
            .client_address
            .map(|address| ClientAddress(address).throttle_key());
        let (clinic, username) = (request.clinic.trim(), request.username.trim());
        let password = request.password;
        if clinic.len() > MAX_CLINIC_BYTES
            || username.len() > MAX_USERNAME_BYTES
            || password.len() > MAX_PASSWORD_BYTES
            || request
                .mfa_code
                .is_some_and(|code| code.len() > MAX_MFA_CODE_BYTES)
        {
            return Err(failed());
        }
        let lookup = store::sign_in_account(&self.pool, clinic, username).await?;
        let (tenant_id, account) = match lookup {
            Some(lookup) => (Some(lookup.tenant_id), lookup.account),
            None => (None, None),
        };
        // One count per account however it is named (slug or id, any case); names that match
        // no account are counted by name.
        let account_key = match &account {
            Some(account) => account.user_id.to_string(),
            None => format!("{}\u{0}{}", clinic.to_lowercase(), username.to_lowercase()),
        };
        let pair_key = format!("{account_key}|{}", address.as_deref().unwrap_or_default());
        if let Err(locked) = self.count_attempt(&account_key, &pair_key, address.as_deref()) {
            if let (Some(tenant_id), true) = (tenant_id, locked.recorded) {
                let event = origin.event(
                    "SignInLocked",
                    account.as_ref().map(|a| a.role),
                    json!({ "locked": locked.whom, "retry_after_seconds": locked.retry_after }),
                );
                self.record(tenant_id, account.as_ref(), event).await?;
            }
            return Err(locked.error());
        }
        let stored_hash = account.as_ref().map(|a| a.password_hash.clone());
        let matches = password::verify(password.to_owned(), stored_hash).await;
        let account = match account {
            Some(account) if matches => account,
            account => {
                if let Some(tenant_id) = tenant_id {
                    let event = origin.event(
                        "SignInFailed",
                        account.as_ref().map(|a| a.role),
                        json!({ "known_account": account.is_some() }),
                    );
                    self.record(tenant_id, account.as_ref(), event).await?;
                }
                return Err(failed());
            }
        };
        let db = self
            .account_transaction(account.tenant_id, Some(&account))
            .await?;
        let (mfa_enrollment_required, second_factor) =
            match mfa::at_sign_in(&db, account.tenant_id, account.user_id, account.role).await? {
                SecondFactor::Missing { required } => (required, None),
                SecondFactor::Enrolled(factor) => {
                    // The attempt stays counted until the code is right: a password alone
                    // never clears the account's failures.
                    let Some(code) = request.mfa_code else {
                        return Err(ApiError::mfa_required());
                    };
                    let accepted =
                        mfa::accept_code(&db, &self.mfa, account.tenant_id, &factor, code).await?;
                    let Some(accepted) = accepted else {
                        store::record_security_event(
                            &db,
                            origin.event(
                                "SignInFailed",
                                Some(account.role),
                                json!({ "known_account": true, "second_factor": "refused" }),
                            ),
                        )
                        .await?;
                        db.commit().await?;
                        return Err(code_refused());
                    };
                    (false, Some(accepted))
                }
            };
        self.limits.per_account_and_address.succeeded(&pair_key);
        self.limits.per_account.succeeded(&account_key);
        self.limits.known.remember(&pair_key);
        if let Some(address) = &address {
            self.limits.per_address.forgive_one(address);
        }
        let session = sessions::open(
            &db,
            &self.tokens,
            self.sessions,
            TokenSubject {
                tenant_id: account.tenant_id,
                user_id: account.user_id,
                role: account.role,
                credential_version: account.credential_version,
                session_id: Uuid::nil(),
                password_change_required: account.password_change_required,
                mfa_enrollment_required,
            },
        )
        .await?;
        if second_factor == Some(AcceptedCode::RecoveryCode) {
            store::record_security_event(
                &db,
                origin.event("RecoveryCodeUsed", Some(account.role), json!({})),
            )
            .await?;
        }
        let details = json!({
            "session_id": session.subject.session_id,
            "password_change_required": account.password_change_required,
            "second_factor": match second_factor {
                Some(AcceptedCode::Totp) => "totp",
                Some(AcceptedCode::RecoveryCode) => "recovery_code",
                None => "none",
            },
            "mfa_enrollment_required": mfa_enrollment_required,
        });
        store::record_security_event(&db, origin.event("SignIn", Some(account.role), details))
            .await?;
        db.commit().await?;
        Ok(SignedIn { session, account })
    }

    /// Counts the attempt against every limit that applies, before any password is checked.
    fn count_attempt(
        &self,
        account_key: &str,
        pair_key: &str,
        address: Option<&str>,
    ) -> Result<(), Locked> {
        if let Some(address) = address
            && !self.limits.known.knows(pair_key)
        {
            self.limits
                .per_address
                .try_attempt(address)
                .map_err(|refusal| Locked {
                    whom: "from this address",
                    retry_after: refusal.retry_after,
                    recorded: refusal.first,
                })?;
        }
        self.limits
            .per_account_and_address
            .try_attempt(pair_key)
            .map_err(|refusal| Locked {
                whom: "for this account from this address",
                retry_after: refusal.retry_after,
                recorded: refusal.first,
            })?;
        self.limits
            .per_account
            .try_attempt(account_key)
            .map_err(|retry_after| Locked {
                whom: "for this account",
                retry_after,
                recorded: false,
            })
    }

    /// The transaction of `tenant_id` acting as `account` (none: a name that matches no
    /// account), where a sign-in's session and security events are written.
    async fn account_transaction(
        &self,
        tenant_id: Uuid,
        account: Option<&LoginAccount>,
    ) -> Result<TenantTransaction, ApiError> {
        Ok(self
            .pool
            .begin_for_account(&TenantScope {
                tenant_id,
                user_id: account.map(|account| account.user_id),
                role: None,
                api_key_id: None,
            })
            .await?)
    }

    /// Records a failed attempt's event in the clinic it named, committed on its own (the
    /// request itself fails).
    async fn record(
        &self,
        tenant_id: Uuid,
        account: Option<&LoginAccount>,
        event: SecurityEvent<'_>,
    ) -> Result<(), ApiError> {
        let db = self.account_transaction(tenant_id, account).await?;
        store::record_security_event(&db, event).await?;
        db.commit().await?;
        Ok(())
    }

    /// Renews a session's tokens with its refresh token (`sessions::refresh`).
    pub async fn refresh(
        &self,
        refresh_token: &str,
        origin: Origin<'_>,
    ) -> Result<IssuedSession, ApiError> {
        sessions::refresh(
            &self.pool,
            &self.tokens,
            self.sessions,
            refresh_token,
            origin,
        )
        .await
    }

    /// Whether `password` is the signed-in `user_id`'s, given the stored hash, counted against
    /// the account's limits like a sign-in (a stolen token must not become a password oracle).
    pub async fn verify_current_password(
        &self,
        user_id: Uuid,
        stored_hash: String,
        password: &str,
        origin: Origin<'_>,
    ) -> Result<bool, ApiError> {
        let verified = self
            .counted(user_id, origin, async {
                if password.len() > MAX_PASSWORD_BYTES {
                    return Ok(None);
                }
                let matches = password::verify(password.to_owned(), Some(stored_hash)).await;
                Ok(matches.then_some(()))
            })
            .await?;
        Ok(verified.is_some())
    }

    /// Runs `check` of one of the signed-in `user_id`'s secrets (a password, a second factor's
    /// code) as an attempt against the account's sign-in limits: refused without running when
    /// they are spent, and clearing the account's failures when it finds a match (`Some`).
    pub async fn counted<T>(
        &self,
        user_id: Uuid,
        origin: Origin<'_>,
        check: impl Future<Output = Result<Option<T>, ApiError>>,
    ) -> Result<Option<T>, ApiError> {
        let account_key = user_id.to_string();
        let address = origin
            .client_address
            .map(|address| ClientAddress(address).throttle_key());
        let pair_key = format!("{account_key}|{}", address.as_deref().unwrap_or_default());
        self.count_attempt(&account_key, &pair_key, address.as_deref())
            .map_err(|locked| locked.error())?;
        let found = check.await?;
        if found.is_some() {
            self.limits.per_account_and_address.succeeded(&pair_key);
            self.limits.per_account.succeeded(&account_key);
        }
        Ok(found)
    }

    /// Opens a new session for `subject` in `db` (after a password change, say).
    pub async fn open_session(
        &self,
        db: &TenantTransaction,
        subject: TokenSubject,
    ) -> Result<IssuedSession, ApiError> {
        sessions::open(db, &self.tokens, self.sessions, subject).await
    }
}

/// Allows one sign-in per request: aliases could otherwise repeat `login` hundreds of times in
/// one request and turn it into a password-spraying tool.
#[derive(Default)]
pub struct SignInBudget(AtomicBool);

impl SignInBudget {
    /// True the first time in a request, false after.
    pub fn take(&self) -> bool {
        !self.0.swap(true, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_ipv6_network_shares_an_allowance_and_a_mapped_ipv4_address_counts_as_itself() {
        let key = |text: &str| ClientAddress(text.parse().unwrap()).throttle_key();
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.5"), key("203.0.113.5"));
        assert_ne!(key("203.0.113.5"), key("203.0.113.6"));
    }
}

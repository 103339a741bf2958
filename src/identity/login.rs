//! Sign-in: clinic + username + password in, a short-lived token out.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::foundation::db::PreAuthentication;
use crate::foundation::error::ApiError;
use crate::identity::password;
use crate::identity::store::{self, LoginAccount};
use crate::identity::throttle::LoginThrottle;
use crate::identity::token::TokenKeys;

/// Inputs longer than these cannot belong to an account (a clinic is named by a slug of at most
/// 63 characters or a 36-character id; usernames have at most 100), so they are refused before
/// any lookup, hashing or lockout bookkeeping.
const MAX_CLINIC_BYTES: usize = 64;
const MAX_USERNAME_BYTES: usize = 100;
const MAX_PASSWORD_BYTES: usize = 1024;

/// The sign-in capability, in the schema's data. It holds the pool privately and uses it for
/// one thing: the narrow `login_account()` lookup, which needs no clinic context.
#[derive(Clone)]
pub struct LoginService {
    pool: PreAuthentication,
    tokens: Arc<TokenKeys>,
    limits: SignInLimits,
}

/// The sign-in throttles: per account, and per client address (which bounds guessing across
/// many accounts, as password spraying does).
#[derive(Clone)]
pub struct SignInLimits {
    pub per_account: Arc<LoginThrottle>,
    pub per_address: Arc<LoginThrottle>,
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
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub account: LoginAccount,
}

/// The refusal while a throttle holds `whom` ("for this account") locked, naming the wait.
fn locked_out(whom: &'static str) -> impl Fn(u64) -> ApiError {
    move |seconds| {
        ApiError::unauthenticated(format!(
            "too many failed sign-in attempts {whom}; try again in {seconds} seconds"
        ))
        .with_retry_after(seconds)
    }
}

fn failed() -> ApiError {
    ApiError::unauthenticated("sign-in failed: check the clinic, username and password")
}

impl LoginService {
    pub fn new(
        pool: PreAuthentication,
        tokens: Arc<TokenKeys>,
        limits: SignInLimits,
    ) -> LoginService {
        LoginService {
            pool,
            tokens,
            limits,
        }
    }

    /// Every failure (unknown clinic or user, deactivated clinic or user, wrong password) gets
    /// the same error after the same work, so a caller cannot tell which it was.
    pub async fn login(
        &self,
        clinic: &str,
        username: &str,
        password: &str,
        from: Option<ClientAddress>,
    ) -> Result<SignedIn, ApiError> {
        let address = from.map(ClientAddress::throttle_key);
        if let Some(address) = &address {
            self.limits
                .per_address
                .try_attempt(address)
                .map_err(locked_out("from this address"))?;
        }
        let (clinic, username) = (clinic.trim(), username.trim());
        if clinic.len() > MAX_CLINIC_BYTES
            || username.len() > MAX_USERNAME_BYTES
            || password.len() > MAX_PASSWORD_BYTES
        {
            return Err(failed());
        }
        let account = store::login_account(&self.pool, clinic, username).await?;
        // One count per account however it is named (slug or id, any case); names that match
        // no account are counted by name.
        let throttle_key = match &account {
            Some(account) => account.user_id.to_string(),
            None => format!("{}\u{0}{}", clinic.to_lowercase(), username.to_lowercase()),
        };
        self.limits
            .per_account
            .try_attempt(&throttle_key)
            .map_err(locked_out("for this account"))?;
        let stored_hash = account.as_ref().map(|a| a.password_hash.clone());
        let matches = password::verify(password.to_owned(), stored_hash).await;
        match account {
            Some(account) if matches => {
                self.limits.per_account.succeeded(&throttle_key);
                if let Some(address) = &address {
                    self.limits.per_address.forgive_one(address);
                }
                let (token, expires_at) = self.tokens.issue(
                    account.tenant_id,
                    account.user_id,
                    account.role,
                    account.credential_version,
                )?;
                Ok(SignedIn {
                    token,
                    expires_at,
                    account,
                })
            }
            _ => Err(failed()),
        }
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

//! Sign-in: clinic + username + password in, a short-lived token out.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::identity::password;
use crate::identity::store::{self, LoginAccount};
use crate::identity::throttle::LoginThrottle;
use crate::identity::token::TokenKeys;
use crate::platform::error::ApiError;

/// Longest password even looked at: anything longer is no password of ours, and hashing it
/// would only cost CPU.
const MAX_PASSWORD_BYTES: usize = 1024;

/// The sign-in capability, in the schema's data. It holds the pool privately and uses it for
/// one thing: the narrow `login_account()` lookup, which needs no clinic context.
#[derive(Clone)]
pub struct LoginService {
    pool: DatabaseConnection,
    tokens: Arc<TokenKeys>,
    throttle: Arc<LoginThrottle>,
}

/// A successful sign-in.
pub struct SignedIn {
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub account: LoginAccount,
}

impl LoginService {
    pub fn new(
        pool: DatabaseConnection,
        tokens: Arc<TokenKeys>,
        throttle: Arc<LoginThrottle>,
    ) -> LoginService {
        LoginService {
            pool,
            tokens,
            throttle,
        }
    }

    /// Every failure (unknown clinic or user, deactivated clinic or user, wrong password) gets
    /// the same error after the same work, so a caller cannot tell which it was.
    pub async fn login(
        &self,
        clinic: &str,
        username: &str,
        password: &str,
    ) -> Result<SignedIn, ApiError> {
        if let Some(seconds) = self.throttle.locked_for(clinic, username) {
            return Err(ApiError::unauthenticated(format!(
                "too many failed sign-in attempts for this account; try again in {seconds} seconds"
            ))
            .with_retry_after(seconds));
        }
        let account = if password.len() <= MAX_PASSWORD_BYTES {
            store::login_account(&self.pool, clinic.trim(), username.trim()).await?
        } else {
            None
        };
        let stored_hash = account.as_ref().map(|a| a.password_hash.clone());
        let matches = password::verify(password.to_owned(), stored_hash).await;
        match account {
            Some(account) if matches => {
                self.throttle.record_success(clinic, username);
                let (token, expires_at) = self.tokens.issue(&account.principal)?;
                Ok(SignedIn {
                    token,
                    expires_at,
                    account,
                })
            }
            _ => {
                self.throttle.record_failure(clinic, username);
                Err(ApiError::unauthenticated(
                    "sign-in failed: check the clinic, username and password",
                ))
            }
        }
    }
}

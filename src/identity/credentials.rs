//! Turning what a client presents into a principal: a user's bearer token or a partner's API key,
//! over HTTP or in a WebSocket's `connection_init`. Verifying says who it is; `is_current`, asked
//! inside a tenant transaction on every request and whenever a clinic's access changes, says
//! whether that still holds (user and clinic active, key not revoked, password and role
//! unchanged, session live). For a user's token the server asks it in the batch that opens the
//! transaction (`foundation::db::begin_user_transaction`, with `token_claims`).

use chrono::{DateTime, Utc};

use uuid::Uuid;

use crate::foundation::access::{Actor, Principal};
use crate::foundation::db::{PreAuthentication, TenantTransaction, TokenClaims};
use crate::foundation::error::ApiError;
use crate::identity::api_key::{self, ApiKeyVault};
use crate::identity::token::TokenKeys;
use crate::identity::{rejected_token, store};

/// What a client presented.
#[derive(Clone)]
pub enum Credential {
    /// `Authorization: Bearer <token>` or `{"token": …}`.
    Token(String),
    /// `X-Api-Key: <key>` or `{"apiKey": …}`.
    ApiKey(String),
}

/// A verified credential.
#[derive(Clone, Copy, Debug)]
pub struct Authenticated {
    pub principal: Principal,
    /// When a token expires; API keys live until revoked.
    pub expires_at: Option<DateTime<Utc>>,
    /// For a user's token, what it claims beyond the principal; `None` for an API key.
    claims: Option<TokenClaims>,
    /// The token was issued to an account that must change its password first.
    password_change_required: bool,
    /// The token was issued to an account that must set up a second factor first.
    mfa_enrollment_required: bool,
}

impl Authenticated {
    /// Whether the credential still stands, read in `db`, a transaction of the principal's
    /// clinic.
    pub async fn is_current(&self, db: &TenantTransaction) -> Result<bool, ApiError> {
        match (self.principal.actor, self.claims) {
            (Actor::User { .. }, Some(claims)) => {
                Ok(store::user_is_current(db, &self.principal, claims).await?)
            }
            (Actor::User { .. }, None) => Ok(false),
            (Actor::ApiKey { id, .. }, _) => {
                api_key::key_is_current(db, self.principal.tenant_id, id).await
            }
        }
    }

    /// For a user's token, what it claims (credential version, session), which the
    /// transaction's opening batch checks; `None` for an API key, checked by `ensure_current`
    /// instead.
    pub fn token_claims(&self) -> Option<TokenClaims> {
        self.claims
    }

    /// The session a user's token belongs to; `None` for an API key.
    pub fn session_id(&self) -> Option<Uuid> {
        self.claims.map(|claims| claims.session_id)
    }

    /// Whether the token allows nothing but changing the password (and signing out).
    pub fn password_change_required(&self) -> bool {
        self.password_change_required
    }

    /// Whether the token allows nothing but setting up a second factor (and signing out).
    pub fn mfa_enrollment_required(&self) -> bool {
        self.mfa_enrollment_required
    }

    /// `is_current`, as an error when it does not hold; an API key's use is recorded.
    pub async fn ensure_current(&self, db: &TenantTransaction) -> Result<(), ApiError> {
        if !self.is_current(db).await? {
            return Err(match self.principal.actor {
                Actor::User { .. } => rejected_token(),
                Actor::ApiKey { .. } => api_key::rejected_key(),
            });
        }
        if let Actor::ApiKey { id, .. } = self.principal.actor {
            store::record_api_key_use(db, self.principal.tenant_id, id).await?;
        }
        Ok(())
    }
}

/// Verifies credentials: tokens by signature, keys by their sealed secret.
pub struct Authenticator {
    pool: PreAuthentication,
    tokens: std::sync::Arc<TokenKeys>,
    vault: ApiKeyVault,
}

impl Authenticator {
    pub fn new(
        pool: PreAuthentication,
        tokens: std::sync::Arc<TokenKeys>,
        vault: ApiKeyVault,
    ) -> Authenticator {
        Authenticator {
            pool,
            tokens,
            vault,
        }
    }

    pub async fn authenticate(&self, credential: &Credential) -> Result<Authenticated, ApiError> {
        match credential {
            Credential::Token(token) => {
                let verified = self.tokens.verify(token)?;
                Ok(Authenticated {
                    principal: verified.principal,
                    expires_at: Some(verified.expires_at),
                    claims: Some(TokenClaims {
                        credential_version: verified.credential_version,
                        session_id: verified.session_id,
                    }),
                    password_change_required: verified.password_change_required,
                    mfa_enrollment_required: verified.mfa_enrollment_required,
                })
            }
            Credential::ApiKey(key) => Ok(Authenticated {
                principal: self.vault.authenticate(&self.pool, key).await?,
                expires_at: None,
                claims: None,
                password_change_required: false,
                mfa_enrollment_required: false,
            }),
        }
    }

    pub fn vault(&self) -> &ApiKeyVault {
        &self.vault
    }
}

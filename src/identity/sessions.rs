//! Sessions: what a sign-in opens and its tokens belong to. A session hands out short access
//! tokens and one refresh token at a time; each refresh replaces the refresh token (rotation),
//! and presenting a replaced one again — a copy in someone else's hands, or the owner's after the
//! copy was used — revokes the session, so neither holder keeps it (reuse detection). A session
//! ends at its absolute lifetime, when it was not refreshed for the idle timeout, or when revoked:
//! signing out, signing out everywhere, a password change or reset (schema.sql, `user_sessions`).
//!
//! A refresh token reads `hpmsr_<base64url of clinic id, user id, session id and 32 random
//! bytes>`: the ids find the row (in the clinic's own transaction) and only the SHA-256 of the
//! random part is stored, so the table holds nothing a client could present.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, DurationRound, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::foundation::db::{PreAuthentication, TenantScope, TenantTransaction};
use crate::foundation::error::ApiError;
use crate::identity::store::{self, NewSession, RevokedBecause, SecurityEvent};
use crate::identity::token::{TokenKeys, TokenSubject};

const REFRESH_TOKEN_PREFIX: &str = "hpmsr_";
const SECRET_BYTES: usize = 32;
const ENCODED_BYTES: usize = 16 * 3 + SECRET_BYTES;

/// How long sessions last: without a refresh (idle) and at most (absolute).
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    pub idle_timeout: Duration,
    pub lifetime: Duration,
}

/// A session's credentials as handed to the client.
pub struct IssuedSession {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    /// The session's absolute end: sign in again after it.
    pub session_expires_at: DateTime<Utc>,
    pub subject: TokenSubject,
}

/// What a refresh token names, and its secret.
struct RefreshToken {
    tenant_id: Uuid,
    user_id: Uuid,
    session_id: Uuid,
    secret: [u8; SECRET_BYTES],
}

impl RefreshToken {
    fn fresh(tenant_id: Uuid, user_id: Uuid, session_id: Uuid) -> Result<RefreshToken, ApiError> {
        let mut secret = [0; SECRET_BYTES];
        getrandom::fill(&mut secret).map_err(|error| ApiError::internal_from(&error))?;
        Ok(RefreshToken {
            tenant_id,
            user_id,
            session_id,
            secret,
        })
    }

    fn parse(text: &str) -> Option<RefreshToken> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.strip_prefix(REFRESH_TOKEN_PREFIX)?)
            .ok()?;
        if bytes.len() != ENCODED_BYTES {
            return None;
        }
        let id = |at: usize| Uuid::from_slice(&bytes[at..at + 16]).ok();
        Some(RefreshToken {
            tenant_id: id(0)?,
            user_id: id(16)?,
            session_id: id(32)?,
            secret: bytes[48..].try_into().ok()?,
        })
    }

    fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(ENCODED_BYTES);
        bytes.extend_from_slice(self.tenant_id.as_bytes());
        bytes.extend_from_slice(self.user_id.as_bytes());
        bytes.extend_from_slice(self.session_id.as_bytes());
        bytes.extend_from_slice(&self.secret);
        format!("{REFRESH_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.secret).to_vec()
    }
}

/// The one answer to every refused refresh token, whatever was wrong with it.
fn refused() -> ApiError {
    ApiError::unauthenticated("invalid or expired refresh token; sign in again")
}

fn duration(of: Duration) -> Result<chrono::Duration, ApiError> {
    chrono::Duration::from_std(of).map_err(|error| ApiError::internal_from(&error))
}

/// Opens a session for `subject` (its `session_id` is replaced by the new session's) in `db`, a
/// transaction of the subject's clinic, and issues its first tokens.
pub async fn open(
    db: &TenantTransaction,
    tokens: &TokenKeys,
    policy: SessionPolicy,
    subject: TokenSubject,
) -> Result<IssuedSession, ApiError> {
    let subject = TokenSubject {
        session_id: Uuid::new_v4(),
        ..subject
    };
    let refresh = RefreshToken::fresh(subject.tenant_id, subject.user_id, subject.session_id)?;
    // Whole microseconds, as PostgreSQL keeps them: the end a refresh reads back is the same.
    let now = Utc::now()
        .duration_trunc(chrono::TimeDelta::microseconds(1))
        .map_err(|error| ApiError::internal_from(&error))?;
    let expires_at = now + duration(policy.lifetime)?;
    let idle_expires_at = (now + duration(policy.idle_timeout)?).min(expires_at);
    store::insert_session(
        db,
        subject.tenant_id,
        NewSession {
            id: subject.session_id,
            user_id: subject.user_id,
            credential_version: subject.credential_version,
            refresh_token_hash: refresh.hash(),
            idle_expires_at,
            expires_at,
        },
    )
    .await?;
    let (access_token, access_expires_at) = tokens.issue(&subject, expires_at)?;
    Ok(IssuedSession {
        access_token,
        access_expires_at,
        refresh_token: refresh.encode(),
        session_expires_at: expires_at,
        subject,
    })
}

/// Where a request came from, for the audit trail's security events.
#[derive(Clone, Copy, Debug, Default)]
pub struct Origin<'a> {
    pub client_address: Option<std::net::IpAddr>,
    pub request_id: Option<&'a str>,
}

impl Origin<'_> {
    /// The security event `action` with `details`, from this origin.
    pub fn event(
        &self,
        action: &'static str,
        role: Option<crate::foundation::role::Role>,
        details: serde_json::Value,
    ) -> SecurityEvent<'_> {
        SecurityEvent {
            action,
            role,
            client_address: self.client_address.map(|address| address.to_string()),
            request_id: self.request_id,
            details,
        }
    }
}

/// Replaces a refresh token with a new one and a new access token. A token replaced before is
/// reuse: the session is revoked (and the event recorded) and the refresh refused.
pub async fn refresh(
    pool: &PreAuthentication,
    tokens: &TokenKeys,
    policy: SessionPolicy,
    presented: &str,
    origin: Origin<'_>,
) -> Result<IssuedSession, ApiError> {
    let presented = RefreshToken::parse(presented).ok_or_else(refused)?;
    let (tenant_id, user_id, session_id) =
        (presented.tenant_id, presented.user_id, presented.session_id);
    let db = pool
        .begin_for_account(&TenantScope {
            tenant_id,
            user_id: Some(user_id),
            role: None,
            api_key_id: None,
        })
        .await?;
    let stored = store::lock_session(&db, tenant_id, user_id, session_id)
        .await?
        .ok_or_else(refused)?;
    let presented_hash = presented.hash();
    let is_current = bool::from(stored.refresh_token_hash.ct_eq(&presented_hash));
    if !is_current {
        let replaced = stored
            .retired_refresh_hashes
            .iter()
            .any(|hash| bool::from(hash.ct_eq(&presented_hash)));
        if replaced && !stored.is_revoked {
            store::revoke_sessions(
                &db,
                tenant_id,
                user_id,
                Some(session_id),
                RevokedBecause::RefreshTokenReused,
            )
            .await?;
            store::record_security_event(
                &db,
                origin.event(
                    "RefreshTokenReused",
                    None,
                    serde_json::json!({ "session_id": session_id }),
                ),
            )
            .await?;
            db.commit().await?;
        }
        return Err(refused());
    }
    let standing = store::standing_account(
        &db,
        tenant_id,
        user_id,
        (session_id, stored.credential_version),
    )
    .await?
    .ok_or_else(refused)?;
    // The clinic may have come to require a second factor since the sign-in.
    let mfa_enrollment_required =
        crate::identity::mfa::enrollment_required(&db, tenant_id, user_id, standing.role).await?;
    let replacement = RefreshToken::fresh(tenant_id, user_id, session_id)?;
    let idle_expires_at = (Utc::now() + duration(policy.idle_timeout)?).min(stored.expires_at);
    store::rotate_session(
        &db,
        tenant_id,
        session_id,
        (presented_hash, replacement.hash()),
        idle_expires_at,
    )
    .await?;
    db.commit().await?;
    let subject = TokenSubject {
        tenant_id,
        user_id,
        role: standing.role,
        credential_version: stored.credential_version,
        session_id,
        password_change_required: standing.password_change_required,
        mfa_enrollment_required,
    };
    let (access_token, access_expires_at) = tokens.issue(&subject, stored.expires_at)?;
    Ok(IssuedSession {
        access_token,
        access_expires_at,
        refresh_token: replacement.encode(),
        session_expires_at: stored.expires_at,
        subject,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_token_reads_back_what_it_names_and_nothing_else_parses() {
        let token = RefreshToken::fresh(Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()).unwrap();
        let parsed = RefreshToken::parse(&token.encode()).unwrap();
        assert_eq!(
            (parsed.tenant_id, parsed.user_id, parsed.session_id),
            (token.tenant_id, token.user_id, token.session_id)
        );
        assert_eq!(parsed.hash(), token.hash());
        let encoded = token.encode();
        assert!(RefreshToken::parse(&encoded[1..]).is_none());
        assert!(RefreshToken::parse(&encoded[..encoded.len() - 2]).is_none());
        assert!(RefreshToken::parse("hpmsr_!!").is_none());
    }
}

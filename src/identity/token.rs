//! Short-lived signed access tokens (JWT, HS256). A token says who signed in, to which clinic,
//! in which role, in which session and until when; each request still checks the user and clinic
//! are active and the session live, so deactivation and sign-out take effect at once rather than
//! at expiry.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::foundation::access::Principal;
use crate::foundation::config::Secret;
use crate::foundation::error::ApiError;
use crate::foundation::role::Role;

const ISSUER: &str = "hpms";
/// Clock skew tolerated between server instances, in seconds.
const LEEWAY_SECONDS: u64 = 5;
/// The one answer to every bad token, so a client learns nothing about why.
const INVALID_TOKEN: &str = "invalid or expired token; sign in again";

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// The user's id.
    sub: String,
    /// The clinic's id.
    tid: String,
    role: String,
    /// The user's credential version when issued (see schema.sql).
    ver: i32,
    /// The session (`user_sessions`) the token belongs to.
    sid: String,
    /// The password must be changed before anything else (an administrator set it).
    #[serde(default)]
    pwc: bool,
    /// The clinic requires a second factor the user has not set up yet: only its enrolment.
    #[serde(default)]
    mfe: bool,
    iat: i64,
    nbf: i64,
    exp: i64,
}

/// What a verified token says: who, at which credential version (see schema.sql), in which
/// session, until when.
pub struct VerifiedToken {
    pub principal: Principal,
    pub credential_version: i32,
    pub session_id: Uuid,
    pub password_change_required: bool,
    pub mfa_enrollment_required: bool,
    pub expires_at: DateTime<Utc>,
}

/// Whom a token is issued to: the account, at its credential version, in one session.
#[derive(Clone, Copy, Debug)]
pub struct TokenSubject {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub credential_version: i32,
    pub session_id: Uuid,
    /// Only `changePassword` (and signing out) until the password is changed.
    pub password_change_required: bool,
    /// Only setting up a second factor (and signing out) until it is confirmed: the clinic
    /// requires one of the user's role (`mfa`).
    pub mfa_enrollment_required: bool,
}

/// Issues and verifies tokens with one secret.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
}

impl TokenKeys {
    pub fn new(secret: &Secret, lifetime: Duration) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            lifetime,
        }
    }

    /// How long the tokens it issues live.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A signed token for `subject`, and the moment it expires: its lifetime from now, but never
    /// later than `session_ends` (the token of a session cannot outlive it).
    pub fn issue(
        &self,
        subject: &TokenSubject,
        session_ends: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), ApiError> {
        let now = Utc::now();
        let expires_at = (now
            + chrono::Duration::from_std(self.lifetime)
                .map_err(|e| ApiError::internal_from(&e))?)
        .min(session_ends);
        let claims = Claims {
            iss: ISSUER.to_owned(),
            sub: subject.user_id.to_string(),
            tid: subject.tenant_id.to_string(),
            role: subject.role.name().to_owned(),
            ver: subject.credential_version,
            sid: subject.session_id.to_string(),
            pwc: subject.password_change_required,
            mfe: subject.mfa_enrollment_required,
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| ApiError::internal_from(&error))?;
        Ok((token, expires_at))
    }

    /// What a token says, if its signature, algorithm, issuer and times are right.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, ApiError> {
        let invalid = || ApiError::unauthenticated(INVALID_TOKEN);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| invalid())?
            .claims;
        Ok(VerifiedToken {
            principal: Principal::user(
                Uuid::parse_str(&claims.tid).map_err(|_| invalid())?,
                Uuid::parse_str(&claims.sub).map_err(|_| invalid())?,
                Role::from_name(&claims.role).ok_or_else(invalid)?,
            ),
            credential_version: claims.ver,
            session_id: Uuid::parse_str(&claims.sid).map_err(|_| invalid())?,
            password_change_required: claims.pwc,
            mfa_enrollment_required: claims.mfe,
            expires_at: DateTime::from_timestamp(claims.exp, 0).ok_or_else(invalid)?,
        })
    }
}

/// The answer to every rejected token, whatever was wrong with it: forged, expired, or naming a
/// user who is deactivated, changed role or password, whose session ended, or whose clinic is
/// deactivated.
pub fn rejected_token() -> ApiError {
    ApiError::unauthenticated(INVALID_TOKEN)
}

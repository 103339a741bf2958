//! Short-lived signed access tokens (JWT, HS256). A token says who signed in, to which clinic,
//! in which role and until when; each request still checks the user and clinic are active, so
//! deactivation takes effect at once rather than at expiry.

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
    iat: i64,
    nbf: i64,
    exp: i64,
}

/// What a verified token says: who, at which credential version (see schema.sql), until when.
pub struct VerifiedToken {
    pub principal: Principal,
    pub credential_version: i32,
    pub expires_at: DateTime<Utc>,
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

    /// A signed token for the user at `credential_version`, and the moment it expires.
    pub fn issue(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        role: Role,
        credential_version: i32,
    ) -> Result<(String, DateTime<Utc>), ApiError> {
        let now = Utc::now();
        let expires_at = now
            + chrono::Duration::from_std(self.lifetime).map_err(|e| ApiError::internal_from(&e))?;
        let claims = Claims {
            iss: ISSUER.to_owned(),
            sub: user_id.to_string(),
            tid: tenant_id.to_string(),
            role: role.name().to_owned(),
            ver: credential_version,
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
            expires_at: DateTime::from_timestamp(claims.exp, 0).ok_or_else(invalid)?,
        })
    }
}

/// The answer to every rejected token, whatever was wrong with it: forged, expired, or naming a
/// user who is deactivated, changed role or password, or whose clinic is deactivated.
pub fn rejected_token() -> ApiError {
    ApiError::unauthenticated(INVALID_TOKEN)
}

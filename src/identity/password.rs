//! Argon2id password hashing (the crate's defaults: the OWASP-recommended m=19 MiB, t=2, p=1).
//! Hashing is deliberately slow, so it runs on the blocking pool, never on a request's executor.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::platform::error::ApiError;

pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|error| ApiError::internal_from(&error))?
}

fn hash_now(password: &str) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| ApiError::internal_from(&error))
}

/// Whether `password` matches `stored`. With no stored hash (no such account) a hash is still
/// verified, so an unknown username takes as long to refuse as a wrong password.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let stored_hash = stored.as_deref().unwrap_or_else(|| decoy_hash());
        let matches = PasswordHash::new(stored_hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        matches && stored.is_some()
    })
    .await
    .unwrap_or(false)
}

fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_now("decoy password for unknown accounts").unwrap_or_default())
}

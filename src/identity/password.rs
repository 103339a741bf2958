//! Argon2id password hashing (the crate's defaults: the OWASP-recommended m=19 MiB, t=2, p=1).
//! Hashing is deliberately slow and memory-hungry, so it runs on the blocking pool, never on a
//! request's executor, and at most `2 × cores` hashes run at once: a flood of sign-ins queues
//! instead of taking 19 MiB per blocking thread.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::foundation::error::ApiError;

fn hashing_slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Semaphore::new(2 * cores)
    })
}

/// Runs Argon2 work on the blocking pool once a hashing slot is free.
async fn with_slot<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _slot = hashing_slots()
        .acquire()
        .await
        .map_err(|error| ApiError::internal_from(&error))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ApiError::internal_from(&error))
}

pub async fn hash(password: String) -> Result<String, ApiError> {
    with_slot(move || hash_now(&password)).await?
}

fn hash_now(password: &str) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| ApiError::internal_from(&error))
}

/// Whether `password` matches `stored`. With no stored hash (no such account) a decoy hash is
/// verified, so an unknown username takes as long to refuse as a wrong password.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    with_slot(move || {
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

/// Computes the decoy hash now, so the first unknown-user sign-in is not slower than the rest.
pub fn warm_up() {
    decoy_hash();
}

fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_now("decoy password for unknown accounts").unwrap_or_default())
}

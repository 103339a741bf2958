//! Slows password guessing: each sign-in attempt is counted, per account and per client address,
//! before its password is checked, and once a key's allowance of attempts within the window has
//! not succeeded, further attempts are refused until the window passes. Counting first means
//! parallel guesses cannot slip past the limit while earlier ones are still being verified.
//! Attempts for names that match no account are counted too, so the lockout reveals nothing
//! either. An account's count is forgotten when it signs in; an address's success takes back
//! only its own attempt, so one valid account cannot clear an address's guesses at others.
//!
//! The counts live in this server instance's memory: N instances behind a load balancer allow
//! N times as many guesses. Argon2's cost bounds the rate anyway.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::foundation::sync::lock;

/// Attempts allowed per account and window before it is locked.
pub const MAX_FAILURES: u32 = 5;
/// Beyond this many tracked accounts, expired and then unlocked entries are dropped, so an
/// attacker inventing names cannot grow the map without bound.
const MAX_TRACKED: usize = 50_000;

pub struct LoginThrottle {
    max_attempts: u32,
    lockout: Duration,
    attempts: Mutex<HashMap<String, Attempts>>,
}

struct Attempts {
    count: u32,
    first_at: Instant,
}

impl LoginThrottle {
    /// Allows `max_attempts` attempts that do not succeed per key within `lockout`.
    pub fn new(max_attempts: u32, lockout: Duration) -> LoginThrottle {
        LoginThrottle {
            max_attempts,
            lockout,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for `key`; `Err(seconds to wait)` while it is locked.
    pub fn try_attempt(&self, key: &str) -> Result<(), u64> {
        let mut attempts = lock(&self.attempts);
        if attempts.len() >= MAX_TRACKED {
            attempts.retain(|_, entry| entry.first_at.elapsed() < self.lockout);
        }
        if attempts.len() >= MAX_TRACKED {
            attempts.retain(|_, entry| entry.count >= self.max_attempts);
        }
        // Every tracked key locked at once: the oldest lock gives way, so memory stays bounded.
        if attempts.len() >= MAX_TRACKED
            && let Some(oldest) = (attempts.iter())
                .min_by_key(|(_, entry)| entry.first_at)
                .map(|(key, _)| key.clone())
        {
            attempts.remove(&oldest);
        }
        let entry = attempts.entry(key.to_owned()).or_insert(Attempts {
            count: 0,
            first_at: Instant::now(),
        });
        let elapsed = entry.first_at.elapsed();
        if elapsed >= self.lockout {
            *entry = Attempts {
                count: 0,
                first_at: Instant::now(),
            };
        } else if entry.count >= self.max_attempts {
            return Err((self.lockout - elapsed).as_secs().max(1));
        }
        entry.count += 1;
        Ok(())
    }

    /// Forgets the attempts of an account that has just signed in.
    pub fn succeeded(&self, account: &str) {
        let mut attempts = lock(&self.attempts);
        attempts.remove(account);
    }

    /// Takes back the attempt of `key` that has just succeeded.
    pub fn forgive_one(&self, key: &str) {
        let mut attempts = lock(&self.attempts);
        if let Some(entry) = attempts.get_mut(key) {
            entry.count = entry.count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_locks_after_the_allowed_attempts_and_unlocks_on_success() {
        let throttle = LoginThrottle::new(MAX_FAILURES, Duration::from_secs(60));
        for _ in 0..MAX_FAILURES {
            assert!(throttle.try_attempt("ann").is_ok());
        }
        assert!(
            throttle
                .try_attempt("ann")
                .is_err_and(|seconds| seconds <= 60)
        );
        assert!(throttle.try_attempt("bob").is_ok());
        throttle.succeeded("ann");
        assert!(throttle.try_attempt("ann").is_ok());
    }

    #[test]
    fn a_forgiven_attempt_no_longer_counts_towards_the_lock() {
        let throttle = LoginThrottle::new(2, Duration::from_secs(60));
        for _ in 0..10 {
            assert!(throttle.try_attempt("10.0.0.1").is_ok());
            throttle.forgive_one("10.0.0.1");
        }
        assert!(throttle.try_attempt("10.0.0.1").is_ok());
        assert!(throttle.try_attempt("10.0.0.1").is_ok());
        assert!(throttle.try_attempt("10.0.0.1").is_err());
    }

    #[test]
    fn a_lock_expires_with_its_window() {
        let throttle = LoginThrottle::new(MAX_FAILURES, Duration::ZERO);
        for _ in 0..MAX_FAILURES + 1 {
            assert!(throttle.try_attempt("ann").is_ok());
        }
    }
}

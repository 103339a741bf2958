//! Slows password guessing: each sign-in attempt for an account is counted before its password
//! is checked, and once `MAX_FAILURES` attempts within the lockout window have not succeeded,
//! further attempts are refused until the window passes. Counting first means parallel guesses
//! cannot slip past the limit while earlier ones are still being verified. Attempts for names
//! that match no account are counted too, so the lockout reveals nothing either.
//!
//! The counts live in this server instance's memory: N instances behind a load balancer allow
//! N times as many guesses. Argon2's cost bounds the rate anyway; a shared limiter belongs with
//! the per-address limits of the hardening work.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::platform::sync::lock;

/// Attempts allowed per account and window before it is locked.
pub const MAX_FAILURES: u32 = 5;
/// Beyond this many tracked accounts, expired and then unlocked entries are dropped, so an
/// attacker inventing names cannot grow the map without bound.
const MAX_TRACKED: usize = 50_000;

pub struct LoginThrottle {
    lockout: Duration,
    attempts: Mutex<HashMap<String, Attempts>>,
}

struct Attempts {
    count: u32,
    first_at: Instant,
}

impl LoginThrottle {
    pub fn new(lockout: Duration) -> LoginThrottle {
        LoginThrottle {
            lockout,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for `account`; `Err(seconds to wait)` while it is locked.
    pub fn try_attempt(&self, account: &str) -> Result<(), u64> {
        let mut attempts = lock(&self.attempts);
        if attempts.len() >= MAX_TRACKED {
            attempts.retain(|_, entry| entry.first_at.elapsed() < self.lockout);
        }
        if attempts.len() >= MAX_TRACKED {
            attempts.retain(|_, entry| entry.count >= MAX_FAILURES);
        }
        let entry = attempts.entry(account.to_owned()).or_insert(Attempts {
            count: 0,
            first_at: Instant::now(),
        });
        let elapsed = entry.first_at.elapsed();
        if elapsed >= self.lockout {
            *entry = Attempts {
                count: 0,
                first_at: Instant::now(),
            };
        } else if entry.count >= MAX_FAILURES {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_locks_after_the_allowed_attempts_and_unlocks_on_success() {
        let throttle = LoginThrottle::new(Duration::from_secs(60));
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
    fn a_lock_expires_with_its_window() {
        let throttle = LoginThrottle::new(Duration::ZERO);
        for _ in 0..MAX_FAILURES + 1 {
            assert!(throttle.try_attempt("ann").is_ok());
        }
    }
}

//! Slows password guessing: after `MAX_FAILURES` failed sign-ins for one clinic and username
//! within the lockout window, further attempts are refused until the window passes, whether or
//! not the account exists (so the lockout reveals nothing either).
//!
//! The counts live in this server instance's memory: N instances behind a load balancer allow
//! N times as many guesses. Argon2's cost bounds the rate anyway; a shared limiter belongs with
//! the per-address limits of the hardening work.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed attempts allowed before an account is locked.
pub const MAX_FAILURES: u32 = 5;
/// Beyond this many tracked accounts, expired entries are swept so memory stays bounded.
const SWEEP_ABOVE: usize = 10_000;

pub struct LoginThrottle {
    lockout: Duration,
    failures: Mutex<HashMap<String, Failures>>,
}

struct Failures {
    count: u32,
    first_at: Instant,
}

impl LoginThrottle {
    pub fn new(lockout: Duration) -> LoginThrottle {
        LoginThrottle {
            lockout,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn key(clinic: &str, username: &str) -> String {
        format!(
            "{}\u{0}{}",
            clinic.trim().to_lowercase(),
            username.trim().to_lowercase()
        )
    }

    /// `Some(seconds to wait)` while the account is locked.
    pub fn locked_for(&self, clinic: &str, username: &str) -> Option<u64> {
        let failures = self
            .failures
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let entry = failures.get(&Self::key(clinic, username))?;
        let elapsed = entry.first_at.elapsed();
        (entry.count >= MAX_FAILURES && elapsed < self.lockout)
            .then(|| (self.lockout - elapsed).as_secs().max(1))
    }

    pub fn record_failure(&self, clinic: &str, username: &str) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if failures.len() > SWEEP_ABOVE {
            failures.retain(|_, entry| entry.first_at.elapsed() < self.lockout);
        }
        let entry = failures
            .entry(Self::key(clinic, username))
            .or_insert(Failures {
                count: 0,
                first_at: Instant::now(),
            });
        if entry.first_at.elapsed() >= self.lockout {
            *entry = Failures {
                count: 0,
                first_at: Instant::now(),
            };
        }
        entry.count += 1;
    }

    pub fn record_success(&self, clinic: &str, username: &str) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        failures.remove(&Self::key(clinic, username));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_locks_after_the_allowed_failures_and_unlocks_on_success() {
        let throttle = LoginThrottle::new(Duration::from_secs(60));
        for _ in 0..MAX_FAILURES - 1 {
            throttle.record_failure("clinic", "Ann");
        }
        assert_eq!(throttle.locked_for("clinic", "ann"), None);
        throttle.record_failure("CLINIC", "ann");
        assert!(
            throttle
                .locked_for("clinic", "ann")
                .is_some_and(|s| s <= 60)
        );
        assert_eq!(throttle.locked_for("clinic", "bob"), None);
        throttle.record_success("clinic", "ann");
        assert_eq!(throttle.locked_for("clinic", "ann"), None);
    }

    #[test]
    fn a_lock_expires_with_its_window() {
        let throttle = LoginThrottle::new(Duration::ZERO);
        for _ in 0..MAX_FAILURES {
            throttle.record_failure("clinic", "ann");
        }
        assert_eq!(throttle.locked_for("clinic", "ann"), None);
    }
}

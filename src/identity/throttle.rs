//! Slows password guessing without handing strangers a way to lock others out. Each sign-in
//! attempt is counted before its password is checked (so parallel guesses cannot slip past a limit
//! while earlier ones are still being verified), and attempts for names that match no account are
//! counted too, so the limits reveal nothing either:
//!
//! - per account *and* client address (`LoginThrottle`): five attempts that do not succeed lock
//!   that pair for the window — a stranger elsewhere locks only themselves out;
//! - per account across addresses (`ProgressiveDelay`): beyond ten failures, each attempt must
//!   wait twice as long after the last as the one before (1 s, 2 s, 4 s … at most a minute), so
//!   guessing from many addresses stays slow while the owner waits seconds, never the window;
//! - per client address (`LoginThrottle`, whatever accounts are named, against password
//!   spraying), except for accounts that signed in from that address before (`KnownSignIns`):
//!   one sprayer behind a hospital's NAT does not lock out the staff who work there.
//!
//! An account's counts are forgotten when it signs in; an address's success takes back only its
//! own attempt, so one valid account cannot clear an address's guesses at others.
//!
//! The counts live in this server instance's memory: N instances behind a load balancer allow
//! N times as many guesses. Argon2's cost bounds the rate anyway.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::foundation::sync::lock;

/// Attempts allowed per account and address, and window, before the pair is locked; and
/// failures of an account (from anywhere) before its attempts are delayed.
pub const MAX_FAILURES: u32 = 5;
/// Failures of an account, from anywhere, before its next attempts are delayed: more than one
/// address's allowance, so a stranger at one address can lock out only themselves.
const FREE_FAILURES: u32 = 2 * MAX_FAILURES;
/// The longest the progressive delay makes an account's next attempt wait.
const MAX_DELAY: Duration = Duration::from_secs(60);
/// How long a successful sign-in from an address exempts that account there from the address's
/// limit.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
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
    /// Whether a refusal of the current lock has been answered already.
    refused: bool,
}

/// A refused attempt: how long to wait, and whether this refusal is the lock's first (what the
/// audit trail records, once per lock rather than once per hammering request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub retry_after: u64,
    pub first: bool,
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

    /// Counts an attempt for `key`; refused while it is locked.
    pub fn try_attempt(&self, key: &str) -> Result<(), Refusal> {
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
        let fresh = || Attempts {
            count: 0,
            first_at: Instant::now(),
            refused: false,
        };
        let entry = attempts.entry(key.to_owned()).or_insert_with(fresh);
        let elapsed = entry.first_at.elapsed();
        if elapsed >= self.lockout {
            *entry = fresh();
        } else if entry.count >= self.max_attempts {
            let first = !entry.refused;
            entry.refused = true;
            return Err(Refusal {
                retry_after: (self.lockout - elapsed).as_secs().max(1),
                first,
            });
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

/// Per account, from any address: after `FREE_FAILURES` failures within `window`, each attempt must
/// come at least 1 s, 2 s, 4 s … (at most `MAX_DELAY`) after the previous one.
pub struct ProgressiveDelay {
    window: Duration,
    failures: Mutex<HashMap<String, Failures>>,
}

struct Failures {
    count: u32,
    first_at: Instant,
    last_at: Instant,
}

impl ProgressiveDelay {
    pub fn new(window: Duration) -> ProgressiveDelay {
        ProgressiveDelay {
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn delay_after(count: u32) -> Duration {
        let doublings = count.saturating_sub(FREE_FAILURES).min(16);
        Duration::from_secs(1u64 << doublings).min(MAX_DELAY)
    }

    /// Counts an attempt for `account` (as a failure until it `succeeded`); `Err(seconds to wait)`
    /// while the delay since the previous attempt has not passed.
    pub fn try_attempt(&self, account: &str) -> Result<(), u64> {
        let mut failures = lock(&self.failures);
        if failures.len() >= MAX_TRACKED {
            failures.retain(|_, entry| entry.first_at.elapsed() < self.window);
        }
        if failures.len() >= MAX_TRACKED {
            return Ok(());
        }
        let now = Instant::now();
        let entry = failures.entry(account.to_owned()).or_insert(Failures {
            count: 0,
            first_at: now,
            last_at: now,
        });
        if entry.first_at.elapsed() >= self.window {
            *entry = Failures {
                count: 0,
                first_at: now,
                last_at: now,
            };
        }
        if entry.count >= FREE_FAILURES {
            let wait = Self::delay_after(entry.count);
            let since = entry.last_at.elapsed();
            if since < wait {
                return Err((wait - since).as_secs().max(1));
            }
        }
        entry.count += 1;
        entry.last_at = now;
        Ok(())
    }

    pub fn succeeded(&self, account: &str) {
        lock(&self.failures).remove(account);
    }
}

/// Accounts that signed in from an address, recently: exempt there from the address's limit.
#[derive(Default)]
pub struct KnownSignIns(Mutex<HashMap<String, Instant>>);

impl KnownSignIns {
    pub fn remember(&self, pair: &str) {
        let mut known = lock(&self.0);
        if known.len() >= MAX_TRACKED {
            known.retain(|_, at| at.elapsed() < KNOWN_FOR);
        }
        if known.len() < MAX_TRACKED || known.contains_key(pair) {
            known.insert(pair.to_owned(), Instant::now());
        }
    }

    pub fn knows(&self, pair: &str) -> bool {
        lock(&self.0)
            .get(pair)
            .is_some_and(|at| at.elapsed() < KNOWN_FOR)
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
        assert_eq!(
            throttle.try_attempt("ann").map_err(|refusal| refusal.first),
            Err(true)
        );
        assert!(
            throttle
                .try_attempt("ann")
                .is_err_and(|refusal| refusal.retry_after <= 60 && !refusal.first)
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
    fn beyond_the_free_failures_each_attempt_waits_twice_as_long_and_success_clears_it() {
        let delay = ProgressiveDelay::new(Duration::from_secs(300));
        for _ in 0..FREE_FAILURES {
            assert!(delay.try_attempt("ann").is_ok());
        }
        assert_eq!(delay.try_attempt("ann"), Err(1));
        assert_eq!(
            ProgressiveDelay::delay_after(FREE_FAILURES + 1),
            Duration::from_secs(2)
        );
        assert_eq!(ProgressiveDelay::delay_after(FREE_FAILURES + 30), MAX_DELAY);
        assert!(delay.try_attempt("bob").is_ok());
        delay.succeeded("ann");
        assert!(delay.try_attempt("ann").is_ok());
    }

    #[test]
    fn an_account_is_known_where_it_signed_in_only() {
        let known = KnownSignIns::default();
        known.remember("ann|10.0.0.1");
        assert!(known.knows("ann|10.0.0.1"));
        assert!(!known.knows("ann|10.0.0.2"));
    }

    #[test]
    fn a_lock_expires_with_its_window() {
        let throttle = LoginThrottle::new(MAX_FAILURES, Duration::ZERO);
        for _ in 0..MAX_FAILURES + 1 {
            assert!(throttle.try_attempt("ann").is_ok());
        }
    }
}

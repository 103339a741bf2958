//! Locking the server's in-memory tables (sign-in attempts, PHI reads of a request, event feeds,
//! a connection's subscriptions).

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex` even if a thread panicked while holding it: every structure guarded this way
/// stays consistent between statements, so refusing all later requests would only turn one
/// failed request into an outage.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

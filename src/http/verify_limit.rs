//! How often the Pakasir webhook may ask Pakasir about one payment.
//!
//! The webhook is unauthenticated: whoever knows an order id and its amount (the customer, or
//! anyone who saw the payment page's link) can POST the claim as often as they like, and every
//! POST for a payment not yet settled would cost one `transactiondetail` call, spending the
//! store's allowance at Pakasir and making this host an amplifier. So a webhook may have one
//! payment checked at most once per window. A claim within it waits for that check to end (so
//! Pakasir's own duplicates, sent at once, all learn that the payment settled) and is then
//! answered from the database: 200 when the payment is settled, else 429, the payment being left
//! to the reconciliation job, which checks every pending payment once a minute anyway. A settled
//! payment is never checked: the webhook answers it from the database.
//!
//! The memory is bounded: at most [`CAPACITY`] payments are remembered, each for one window,
//! and only payments that exist are ever remembered (the claim is matched against the
//! database first), so made-up claims cost nothing here.

use std::{sync::Arc, time::Duration};

use moka::sync::Cache;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::db::TenantId;

/// How long after a webhook had a payment checked another webhook may not. Shorter than the
/// reconciliation's minute, so a genuine webhook refused within it is never what delays a
/// payment the most.
pub const WINDOW: Duration = Duration::from_secs(30);
/// Payments remembered at most, across stores.
pub const CAPACITY: u64 = 10_000;

/// The payments a webhook had checked recently, by store and payment id, each with a lock held
/// while its check runs.
pub struct VerifyLimit {
    recent: Cache<(TenantId, i64), Arc<Mutex<()>>>,
    window: Duration,
}

/// What a webhook may do about a payment now.
pub enum Turn {
    /// Check it with Pakasir, holding this until the check is over.
    Check(OwnedMutexGuard<()>),
    /// It was checked moments ago, or is being checked: wait for this lock, then answer from
    /// the database.
    Wait(Arc<Mutex<()>>),
}

impl VerifyLimit {
    pub fn new(window: Duration, capacity: u64) -> Self {
        Self {
            recent: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(window)
                .build(),
            window,
        }
    }

    /// Whether a webhook may have `payment` checked now; a [`Turn::Check`] takes the turn for
    /// the whole window. Concurrent claims for one payment get one between them, the first to
    /// arrive, which holds the lock from the moment the payment is remembered.
    pub fn turn(&self, tenant: TenantId, payment: i64) -> Turn {
        let mut held = None;
        let entry = self.recent.entry((tenant, payment)).or_insert_with(|| {
            let lock = Arc::new(Mutex::new(()));
            held = Arc::clone(&lock).try_lock_owned().ok();
            lock
        });
        match held {
            Some(guard) if entry.is_fresh() => Turn::Check(guard),
            _ => Turn::Wait(entry.into_value()),
        }
    }

    /// How long a refused claim should wait before it is worth sending again.
    pub fn window(&self) -> Duration {
        self.window
    }
}

impl Default for VerifyLimit {
    fn default() -> Self {
        Self::new(WINDOW, CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(turn: Turn) -> bool {
        matches!(turn, Turn::Check(_))
    }

    #[test]
    fn one_check_per_payment_per_window_and_the_others_wait_for_it() {
        let limit = VerifyLimit::new(Duration::from_millis(200), 100);
        let store = TenantId(uuid::Uuid::new_v4());
        let Turn::Check(check) = limit.turn(store, 1) else {
            panic!("the first claim checks");
        };
        let Turn::Wait(lock) = limit.turn(store, 1) else {
            panic!("a second claim waits");
        };
        assert!(lock.try_lock().is_err(), "the check is running");
        drop(check);
        assert!(lock.try_lock().is_ok(), "the check is over");
        assert!(!checks(limit.turn(store, 1)), "still within the window");
        // Another payment, or the same id in another store, has its own turn.
        assert!(checks(limit.turn(store, 2)));
        assert!(checks(limit.turn(TenantId(uuid::Uuid::new_v4()), 1)));
        std::thread::sleep(Duration::from_millis(250));
        assert!(checks(limit.turn(store, 1)));
    }
}

//! How often the Pakasir webhook may ask Pakasir about one payment.
//!
//! The webhook is unauthenticated: whoever knows an order id and its amount (the customer, or
//! anyone who saw the payment page's link) can POST the claim as often as they like, and every
//! POST for a payment not yet settled would cost one `transactiondetail` call, spending the
//! store's allowance at Pakasir and making this host an amplifier. So a webhook may have one
//! payment checked at most once per window; within it the claim is answered 429 and the payment
//! is left to the reconciliation job, which checks every pending payment once a minute anyway.
//! A settled payment is never checked: the webhook answers it from the database.
//!
//! The memory is bounded: at most [`CAPACITY`] payments are remembered, each for one window,
//! and only payments that exist are ever remembered (the claim is matched against the
//! database first), so made-up claims cost nothing here.

use std::time::Duration;

use moka::sync::Cache;

use crate::db::TenantId;

/// How long after a webhook had a payment checked another webhook may not. Shorter than the
/// reconciliation's minute, so a genuine webhook refused within it is never what delays a
/// payment the most.
pub const WINDOW: Duration = Duration::from_secs(30);
/// Payments remembered at most, across stores.
pub const CAPACITY: u64 = 10_000;

/// The payments a webhook had checked recently, by store and payment id.
pub struct VerifyLimit {
    recent: Cache<(TenantId, i64), ()>,
    window: Duration,
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

    /// Whether a webhook may have `payment` checked now; a `true` takes the turn for the whole
    /// window. Concurrent claims for one payment get one `true` between them.
    pub fn try_acquire(&self, tenant: TenantId, payment: i64) -> bool {
        self.recent
            .entry((tenant, payment))
            .or_insert(())
            .is_fresh()
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

    #[test]
    fn one_check_per_payment_per_window() {
        let limit = VerifyLimit::new(Duration::from_millis(200), 100);
        let store = TenantId(uuid::Uuid::new_v4());
        assert!(limit.try_acquire(store, 1));
        assert!(!limit.try_acquire(store, 1));
        // Another payment, or the same id in another store, has its own turn.
        assert!(limit.try_acquire(store, 2));
        assert!(limit.try_acquire(TenantId(uuid::Uuid::new_v4()), 1));
        std::thread::sleep(Duration::from_millis(250));
        assert!(limit.try_acquire(store, 1));
    }
}

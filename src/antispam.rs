//! The per-customer action limiter behind the bot's anti-spam gate: by default a burst of
//! five actions, then one action a second, and a short cool-down for whoever goes past that.
//!
//! It knows customers by (store, Telegram id) and nothing of Telegram itself, so the store's
//! context (`service::ctx::Shared`) can hold it; the gate that reads updates and tells the
//! customer to slow down is `bot::antispam`.

use std::{num::NonZeroU32, time::Duration};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use moka::sync::Cache;

use crate::db::TenantId;

/// How many actions a customer may take, and for how long they are ignored past that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Actions allowed at once.
    pub burst: u32,
    /// Actions regained per second.
    pub per_second: u32,
    /// How long a customer who went past the limit is ignored.
    pub cooldown: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            burst: 5,
            per_second: 1,
            cooldown: Duration::from_secs(5),
        }
    }
}

/// What to do with a customer's action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Over the limit just now: ignore it and tell the customer once.
    Warn,
    /// Cooling down, already told: ignore it silently.
    Ignore,
}

pub struct AntiSpam {
    limiter: DefaultKeyedRateLimiter<(TenantId, i64)>,
    cooling: Cache<(TenantId, i64), ()>,
}

impl AntiSpam {
    pub fn new(limits: Limits) -> Self {
        let burst = NonZeroU32::new(limits.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let rate = NonZeroU32::new(limits.per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(rate).allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota),
            cooling: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(limits.cooldown)
                .build(),
        }
    }

    pub fn check(&self, tenant: TenantId, user: i64) -> Verdict {
        let key = (tenant, user);
        if self.cooling.contains_key(&key) {
            return Verdict::Ignore;
        }
        match self.limiter.check_key(&key) {
            Ok(()) => Verdict::Allow,
            Err(_) => {
                self.cooling.insert(key, ());
                Verdict::Warn
            }
        }
    }

    /// Forgets customers who have been quiet long enough to have a full burst again.
    pub fn forget_quiet(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

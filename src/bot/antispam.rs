//! Anti-spam per customer: a burst of five actions, then one action a second. A customer who
//! goes past that gets one polite message and a short cool-down during which their actions
//! are ignored; after it they are served normally again.

use std::{num::NonZeroU32, time::Duration};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use moka::sync::Cache;

use crate::db::TenantId;

/// How long a customer who went past the limit is ignored.
pub const COOLDOWN: Duration = Duration::from_secs(5);
const BURST: u32 = 5;

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

impl Default for AntiSpam {
    fn default() -> Self {
        Self::new()
    }
}

impl AntiSpam {
    pub fn new() -> Self {
        let burst = NonZeroU32::new(BURST).expect("a non-zero burst");
        let quota = Quota::with_period(Duration::from_secs(1))
            .expect("a non-zero period")
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota),
            cooling: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(COOLDOWN)
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

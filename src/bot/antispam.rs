//! Anti-spam per customer: by default a burst of five actions, then one action a second. A
//! customer who goes past that gets one polite message and a short cool-down during which
//! their actions are ignored; after it they are served normally again.
//!
//! Actions are counted when they arrive (in webhook mode, in the webhook route), not when the
//! store's dispatcher gets to them: the dispatcher paces replies to Telegram's one message a
//! second per chat, which would otherwise spread any burst out until it looked harmless.

use std::{num::NonZeroU32, time::Duration};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use moka::sync::Cache;
use teloxide::{prelude::*, types::Update};

use super::{StoreBot, StoreCtx, texts::texts};
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

/// Lets a customer's update through, or drops it (telling the customer once that they are
/// going too fast). Updates without a sender (none that customers make) always pass.
pub fn gate(ctx: &StoreCtx, bot: &StoreBot, update: &Update) -> bool {
    let Some(user) = update.from().map(|u| u.id.0 as i64) else {
        return true;
    };
    match ctx.antispam.check(ctx.tenant_id(), user) {
        Verdict::Allow => true,
        Verdict::Ignore => false,
        Verdict::Warn => {
            let notice = bot.send_message(ChatId(user), texts(ctx.locale_of(user)).slow_down);
            tokio::spawn(async move {
                if let Err(error) = notice.await {
                    tracing::debug!(%error, "could not send the slow-down notice");
                }
            });
            false
        }
    }
}

//! The anti-spam gate: a customer who goes past the limiter's burst (`crate::antispam`) gets
//! one polite message and a short cool-down during which their actions are ignored; after it
//! they are served normally again.
//!
//! Actions are counted when they arrive (in webhook mode, in the webhook route), not when the
//! store's dispatcher gets to them: the dispatcher paces replies to Telegram's one message a
//! second per chat, which would otherwise spread any burst out until it looked harmless.

use teloxide::{prelude::*, types::Update};
use tokio::runtime::Handle;

use super::{StoreBot, StoreCtx, texts::texts};
pub use crate::antispam::{AntiSpam, Limits, Verdict};

/// Lets a customer's update through, or drops it (telling the customer once that they are
/// going too fast). Updates without a sender (none that customers make) always pass. The
/// notice is sent from `runtime`, the host's: the gate runs on the HTTP thread
/// (`http::ingress`), which does no outside calls.
pub fn gate(ctx: &StoreCtx, bot: &StoreBot, update: &Update, runtime: &Handle) -> bool {
    let Some(user) = update.from().map(|u| u.id.0 as i64) else {
        return true;
    };
    match ctx.antispam.check(ctx.tenant_id(), user) {
        Verdict::Allow => true,
        Verdict::Ignore => false,
        Verdict::Warn => {
            let notice = bot.send_message(ChatId(user), texts(ctx.locale_of(user)).slow_down);
            runtime.spawn(async move {
                if let Err(error) = notice.await {
                    tracing::debug!(%error, "could not send the slow-down notice");
                }
            });
            false
        }
    }
}

//! One sending budget per bot, shared by the bot's replies and its broadcasts, replies first.
//!
//! Telegram limits each bot to about thirty messages a second overall and one a second per
//! chat, and answers a bot that goes over with 429 `retry_after`, which holds for the whole
//! bot. So a store's replies and its broadcast must draw on one budget: a [`Pacer`] per bot.
//!
//! - Replies (every send through the store's bot, [`Paced`]) wait for the chat's slot (one a
//!   second, after a burst of [`CHAT_BURST`]), then for an overall slot (thirty a second, evenly spaced). While a reply waits
//!   for an overall slot it is counted, and a broadcast takes a slot only when no reply waits,
//!   so a customer is never queued behind a broadcast.
//! - The broadcast sender ([`Pacer::broadcast_slot`]) takes an overall slot before it claims a
//!   recipient, so it holds no claim while it waits, then the recipient's chat slot.
//! - A 429 on either path pauses the bot ([`Pacer::pause`]) for `retry_after`: both wait.
//!
//! Why not teloxide's `Throttle`: its worker wakes every 250 ms and only then lets waiting
//! requests go, so a caller that sends one message after another (the broadcast sender, or a
//! handler sending two messages) gets at most four a second: the broadcast "stall" after about
//! 240 chats was 60 s at that rate. It also counts twenty messages a minute per chat (the limit
//! Telegram sets for groups) for private chats too, so an active customer's 21st message in a
//! minute waited for the minute to pass; and it keeps one FIFO queue with no priority, so a
//! broadcast sent through it would put replies behind it. See docs/ARCHITECTURE.md.
//!
//! The budget lives in the process: several processes sending for one bot would each have
//! their own (docs/ARCHITECTURE.md says so).

// The macro must be defined before the module that uses it.
#[macro_use]
mod forward;
mod adaptor;

use std::{
    num::NonZeroU32,
    sync::{
        Mutex,
        atomic::{AtomicU32, AtomicUsize, Ordering},
    },
    time::Duration,
};

use governor::{
    DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use tokio::time::Instant;

pub use adaptor::{Paced, PacedRequest};

/// Messages a second a bot may send overall (Telegram: "about 30").
pub const PER_BOT: u32 = 30;
/// Messages a chat may get at once before the one-a-second pace applies. Telegram tolerates
/// short bursts in a chat; a purchase is one (the order, its invoice, then the goods as soon as
/// the payment lands), and making the goods wait a second behind the invoice would be felt by
/// every buyer who pays quickly.
pub const CHAT_BURST: u32 = 3;
/// How often the per-chat table forgets chats that have been quiet for a second.
const FORGET_EVERY: u32 = 4096;
/// How long a broadcast waits before looking again while a reply waits for a slot.
const YIELD: Duration = Duration::from_millis(10);

/// A bot's sending budget (see the module header).
pub struct Pacer {
    /// Evenly spaced: never more than `PER_BOT` in any second, never a burst.
    overall: DefaultDirectRateLimiter,
    /// One message a second per chat, after a short burst.
    per_chat: DefaultKeyedRateLimiter<i64>,
    /// Replies waiting for an overall slot right now.
    replies_waiting: AtomicUsize,
    /// Until when Telegram asked this bot to wait (429).
    paused_until: Mutex<Option<Instant>>,
    /// Slots handed out, to forget quiet chats now and then.
    handed_out: AtomicU32,
    clock: DefaultClock,
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new(PER_BOT)
    }
}

impl Pacer {
    /// A budget of `per_second` messages overall (at least one), one a second per chat after a
    /// burst of [`CHAT_BURST`].
    pub fn new(per_second: u32) -> Self {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let overall = Quota::per_second(per_second).allow_burst(NonZeroU32::MIN);
        let per_chat = Quota::per_second(NonZeroU32::MIN)
            .allow_burst(NonZeroU32::new(CHAT_BURST).unwrap_or(NonZeroU32::MIN));
        Self {
            overall: RateLimiter::direct(overall),
            per_chat: RateLimiter::keyed(per_chat),
            replies_waiting: AtomicUsize::new(0),
            paused_until: Mutex::new(None),
            handed_out: AtomicU32::new(0),
            clock: DefaultClock::default(),
        }
    }

    /// Waits until a reply to `chat` may be sent (`None`: a send with no chat to pace).
    pub async fn reply_slot(&self, chat: Option<i64>) {
        self.wait_pause().await;
        if let Some(chat) = chat {
            self.per_chat.until_key_ready(&chat).await;
        }
        let _waiting = Waiting::enter(&self.replies_waiting);
        self.overall.until_ready().await;
        self.handed_out();
    }

    /// Waits for an overall slot for a broadcast message: after the bot's pause, and only
    /// when no reply is waiting for one.
    pub async fn broadcast_slot(&self) {
        loop {
            self.wait_pause().await;
            if self.replies_waiting.load(Ordering::Acquire) > 0 {
                tokio::time::sleep(YIELD).await;
                continue;
            }
            match self.overall.check() {
                Ok(()) => {
                    self.handed_out();
                    return;
                }
                Err(not_until) => {
                    tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
                }
            }
        }
    }

    /// Waits for a broadcast recipient's chat slot (the sender took its overall slot before).
    pub async fn chat_slot(&self, chat: i64) {
        self.per_chat.until_key_ready(&chat).await;
    }

    /// Pauses the bot's sends for `after` (Telegram's `retry_after`); a longer pause already
    /// set stays.
    pub fn pause(&self, after: Duration) {
        let until = Instant::now() + after;
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    /// How long the bot is still paused, if it is.
    pub fn paused_for(&self) -> Option<Duration> {
        let paused = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        paused
            .map(|until| until.saturating_duration_since(Instant::now()))
            .filter(|left| !left.is_zero())
    }

    async fn wait_pause(&self) {
        // A pause can be extended while waiting, so look again after each wait.
        while let Some(left) = self.paused_for() {
            tokio::time::sleep(left).await;
        }
    }

    fn handed_out(&self) {
        if self.handed_out.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            // A chat quiet for a second is indistinguishable from a new one: forgetting it
            // keeps a broadcast to a hundred thousand chats from growing the table forever.
            self.per_chat.retain_recent();
        }
    }
}

/// Counts a reply as waiting for as long as it exists, so a cancelled wait uncounts too.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{Arc, Mutex},
        time::Duration,
    };

    use tokio::time::Instant;

    use super::{CHAT_BURST, Pacer};

    #[tokio::test]
    async fn the_overall_budget_spaces_sends_evenly() {
        let pacer = Pacer::new(20);
        let started = Instant::now();
        for chat in 0..11 {
            pacer.reply_slot(Some(chat)).await;
        }
        // Eleven slots at twenty a second: ten gaps of 50 ms.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(480), "{took:?}");
    }

    #[tokio::test]
    async fn one_chat_gets_a_short_burst_then_one_slot_a_second() {
        let pacer = Pacer::new(30);
        let started = Instant::now();
        for _ in 0..CHAT_BURST {
            pacer.reply_slot(Some(7)).await;
        }
        // The burst went out at the overall pace, well within the second.
        assert!(started.elapsed() < Duration::from_millis(900));
        let started = Instant::now();
        pacer.reply_slot(Some(7)).await;
        assert!(started.elapsed() >= Duration::from_millis(900));
    }

    #[tokio::test]
    async fn a_pause_holds_replies_and_broadcasts() {
        let pacer = Pacer::new(30);
        pacer.pause(Duration::from_millis(300));
        pacer.pause(Duration::from_millis(100));
        let started = Instant::now();
        pacer.reply_slot(Some(1)).await;
        assert!(started.elapsed() >= Duration::from_millis(280));
        pacer.pause(Duration::from_millis(300));
        let started = Instant::now();
        pacer.broadcast_slot().await;
        assert!(started.elapsed() >= Duration::from_millis(280));
    }

    #[tokio::test]
    async fn a_waiting_reply_goes_before_a_broadcast() {
        let pacer = Arc::new(Pacer::new(10));
        // Use the one slot there is, so both must wait for the next.
        pacer.broadcast_slot().await;
        let reply = tokio::spawn({
            let pacer = pacer.clone();
            async move {
                pacer.reply_slot(Some(1)).await;
                Instant::now()
            }
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        pacer.broadcast_slot().await;
        let broadcast_at = Instant::now();
        let reply_at = reply.await.unwrap();
        assert!(reply_at < broadcast_at);
    }

    #[tokio::test]
    async fn a_broadcast_sending_flat_out_gets_no_slot_while_replies_wait() {
        let pacer = Arc::new(Pacer::new(50));
        let order = Arc::new(Mutex::new(Vec::new()));
        let broadcast = tokio::spawn({
            let (pacer, order) = (pacer.clone(), order.clone());
            async move {
                loop {
                    pacer.broadcast_slot().await;
                    order.lock().unwrap().push('b');
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let replies = (0..10).map(|chat| {
            let (pacer, order) = (pacer.clone(), order.clone());
            async move {
                pacer.reply_slot(Some(chat)).await;
                order.lock().unwrap().push('r');
            }
        });
        futures::future::join_all(replies).await;
        broadcast.abort();
        let order: String = order.lock().unwrap().iter().collect();
        let replies = order.trim_start_matches('b');
        // The ten replies took the next ten slots, one after the other.
        assert!(replies.starts_with("rrrrrrrrrr"), "{order}");
    }
}

//! Telegram's sending limits, as the Bot API stand-in checks them: it never refuses a call,
//! but counts every message Telegram would have answered with 429.
//!
//! Telegram publishes its limits only roughly (`shared/reference/telegram.md`): about 30
//! messages a second per bot, about one a second per chat with short bursts tolerated. Here:
//! - **per bot**: at most 30 messages in any one second (a sliding window), so that messages
//!   the host spaced evenly but the loaded machine delivered a few at once are not blamed,
//!   while a 31st within the second is;
//! - **per chat** (of one bot): one a second after a burst of three, as a GCRA (a virtual
//!   schedule: each message is due a second after the previous one, and may come early by at
//!   most two seconds).
//!
//! Only messages count (`send*` but `sendChatAction`, `copyMessage`, `forwardMessage`): edits
//! and button answers are outside these limits. A message counted as a violation does not
//! advance the schedule, as one Telegram refused would not have been delivered.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

const BOT_PER_SECOND: usize = 30;
const CHAT_INTERVAL: Duration = Duration::from_secs(1);
const CHAT_TOLERANCE: Duration = Duration::from_secs(2);

/// The limit schedules of every bot and chat seen, and the violations counted.
#[derive(Default)]
pub struct Limits {
    /// Per bot, the arrivals of its messages within the last second.
    bots: Mutex<HashMap<i64, VecDeque<Instant>>>,
    chats: Mutex<HashMap<(i64, i64), Instant>>,
    bot_violations: AtomicU64,
    chat_violations: AtomicU64,
}

/// Messages Telegram would have refused with 429.
#[derive(Clone, Copy, Debug, Default)]
pub struct Violations {
    /// Over the bot's 30 a second.
    pub per_bot: u64,
    /// Over a chat's one a second (after a burst of three).
    pub per_chat: u64,
}

impl Limits {
    /// Whether a Bot API method sends a message that Telegram's limits count.
    pub fn counts(method: &str) -> bool {
        (method.starts_with("send") && method != "sendchataction")
            || method == "copymessage"
            || method == "forwardmessage"
    }

    /// Checks a message of `bot` to `chat` arriving at `now`.
    pub fn message(&self, bot: i64, chat: i64, now: Instant) {
        let over_bot = {
            let mut bots = lock(&self.bots);
            let window = bots.entry(bot).or_default();
            while window
                .front()
                .is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(1))
            {
                window.pop_front();
            }
            let over = window.len() >= BOT_PER_SECOND;
            if !over {
                window.push_back(now);
            }
            over
        };
        if over_bot {
            self.bot_violations.fetch_add(1, Ordering::Relaxed);
        }
        let over_chat = !admit(
            &mut lock(&self.chats),
            (bot, chat),
            now,
            CHAT_INTERVAL,
            CHAT_TOLERANCE,
        );
        if over_chat {
            self.chat_violations.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn violations(&self) -> Violations {
        Violations {
            per_bot: self.bot_violations.load(Ordering::Relaxed),
            per_chat: self.chat_violations.load(Ordering::Relaxed),
        }
    }

    pub fn reset(&self) {
        lock(&self.bots).clear();
        lock(&self.chats).clear();
        self.bot_violations.store(0, Ordering::Relaxed);
        self.chat_violations.store(0, Ordering::Relaxed);
    }
}

/// One GCRA step: `true` when the message is within the schedule, which it then advances.
fn admit(
    schedules: &mut HashMap<(i64, i64), Instant>,
    key: (i64, i64),
    now: Instant,
    interval: Duration,
    tolerance: Duration,
) -> bool {
    let due = schedules.entry(key).or_insert(now);
    if *due > now + tolerance {
        return false;
    }
    *due = (*due).max(now) + interval;
    true
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

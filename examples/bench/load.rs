//! The load generator: browse updates posted to the stores' webhook routes at a fixed
//! offered rate (open loop: an update is due at its time whether or not the host kept up),
//! over many connections, by a crowd in which new customers keep arriving.
//!
//! A webhook answer is timed from when the update was due, so a host that falls behind shows
//! it in the latency instead of slowing the generator down. Each update is announced to the
//! Bot API stand-in just before it is posted, which times the reply when it arrives; an update
//! the host refuses (503) is withdrawn again, as no reply is owed for it.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tokio::{sync::Semaphore, task::JoinSet};
use tokobot::bot::callbacks::Callback;

use crate::{setup::Store, standin::Telegram};

/// A returning customer acts again no sooner than this after their last update: Telegram
/// lets a bot send one message a second to a chat, and real people read before they tap.
const RETURN_AFTER: Duration = Duration::from_secs(2);

/// What to offer.
#[derive(Clone, Copy, Debug)]
pub struct Offer {
    /// Updates a second.
    pub rate: f64,
    pub duration: Duration,
    /// Distinct customers; customer `n` is `first_user + n` and uses store `n % stores`.
    pub users: usize,
    pub first_user: i64,
    /// Connections (requests in flight) at most.
    pub connections: usize,
}

/// What happened to the updates offered.
#[derive(Debug, Default)]
pub struct Outcome {
    pub offered: u64,
    /// Answers by HTTP status; 0 counts requests that got no answer at all.
    pub statuses: BTreeMap<u16, u64>,
    /// From when each update was due to its answer, in microseconds.
    pub answer_micros: Vec<u32>,
    /// Distinct customers who sent something, and how many of them were first contacts.
    pub users_seen: u64,
    /// From the first update due to the last one answered.
    pub window: Duration,
    /// Replies the stand-in had received when the last update was due.
    pub replies_by_end: u64,
    /// How long the updates were offered.
    pub offered_for: Duration,
}

impl Outcome {
    pub fn accepted(&self) -> u64 {
        self.statuses.get(&200).copied().unwrap_or(0)
    }
}

/// Which customer speaks next: every other update comes from a new customer while there are
/// any, the rest from returning ones, each of whom goes through `/start`, the product menu, a
/// category page and a product page, and again.
struct Crowd {
    users: usize,
    next_new: usize,
    returning: VecDeque<(usize, Instant)>,
    steps: Vec<u32>,
    turn: u64,
}

impl Crowd {
    fn new(users: usize) -> Self {
        Self {
            users,
            next_new: 0,
            returning: VecDeque::new(),
            steps: vec![0; users],
            turn: 0,
        }
    }

    /// The next customer and which of their steps this is.
    fn next(&mut self, now: Instant) -> (usize, u32) {
        self.turn += 1;
        let returning_ready = self.returning.front().is_some_and(|(_, at)| *at <= now);
        let new_left = self.next_new < self.users;
        let user = if new_left && (self.turn.is_multiple_of(2) || !returning_ready) {
            self.next_new += 1;
            self.next_new - 1
        } else {
            // With no new customer left and nobody rested, the one waiting longest goes again.
            self.returning.pop_front().map_or(0, |(user, _)| user)
        };
        let step = self.steps[user];
        self.steps[user] += 1;
        self.returning.push_back((user, now + RETURN_AFTER));
        (user, step)
    }
}

/// Offers browse updates to `stores` until `offer.duration` has passed, then waits for the
/// answers (not the replies).
pub async fn browse(
    offer: Offer,
    stores: &[Store],
    telegram: &Telegram,
    http: &reqwest::Client,
    base: &str,
) -> Outcome {
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let connections = Arc::new(Semaphore::new(offer.connections));
    let mut crowd = Crowd::new(offer.users);
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / offer.rate);
    let mut offered: u64 = 0;
    loop {
        let now = Instant::now();
        let elapsed = now - started;
        if elapsed >= offer.duration {
            break;
        }
        let due = (elapsed.as_secs_f64() * offer.rate) as u64;
        while offered < due {
            let (user, step) = crowd.next(now);
            let store = &stores[user % stores.len()];
            let chat = offer.first_user + user as i64;
            let update_id = next_update_id();
            let body = update(store, chat, update_id, step);
            let url = format!("{base}/webhooks/telegram/{}", store.slug);
            let secret = store.secret.clone();
            let due_at = started + interval * offered as u32;
            offered += 1;
            let (http, telegram, outcome) = (http.clone(), telegram.clone(), Arc::clone(&outcome));
            let connections = Arc::clone(&connections);
            tasks.spawn(async move {
                let _permit = connections.acquire_owned().await;
                telegram.expect_reply(chat, update_id);
                let answer = http
                    .post(url)
                    .header("content-type", "application/json")
                    .header("X-Telegram-Bot-Api-Secret-Token", secret)
                    .body(body)
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                let status = answer.map_or(0, |r| r.status().as_u16());
                if status != 200 {
                    telegram.refused(chat, update_id);
                }
                let micros = due_at.elapsed().as_micros().min(u32::MAX as u128) as u32;
                let mut outcome = outcome.lock().unwrap_or_else(|e| e.into_inner());
                *outcome.statuses.entry(status).or_default() += 1;
                outcome.answer_micros.push(micros);
            });
        }
        // Reap finished requests now and then so the set stays small.
        while tasks.try_join_next().is_some() {}
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let replies_by_end = telegram.replies();
    let offered_for = started.elapsed();
    while tasks.join_next().await.is_some() {}
    let mut outcome = std::mem::take(&mut *outcome.lock().unwrap_or_else(|e| e.into_inner()));
    outcome.offered = offered;
    outcome.users_seen = crowd.next_new as u64;
    outcome.window = started.elapsed();
    outcome.replies_by_end = replies_by_end;
    outcome.offered_for = offered_for;
    outcome
}

/// The update of `step` of a customer's browsing.
pub fn update(store: &Store, chat: i64, update_id: i64, step: u32) -> String {
    let (product, _) = store.products[(step as usize / 4) % store.products.len()];
    match step % 4 {
        0 => text_update(update_id, chat, "/start"),
        1 => text_update(update_id, chat, "🛍 Semua Produk"),
        2 => callback_update(
            update_id,
            chat,
            &Callback::Category {
                id: Some(store.category),
                page: 0,
            }
            .to_string(),
        ),
        _ => callback_update(
            update_id,
            chat,
            &Callback::Product {
                id: product,
                qty: 1,
            }
            .to_string(),
        ),
    }
}

fn person(chat: i64) -> String {
    format!(
        r#"{{"id":{chat},"is_bot":false,"first_name":"Budi","username":"budi{chat}","language_code":"id"}}"#
    )
}

fn private_chat(chat: i64) -> String {
    format!(r#"{{"id":{chat},"type":"private","first_name":"Budi","username":"budi{chat}"}}"#)
}

/// A private text message, as Telegram posts it; `text` must need no JSON escaping.
pub fn text_update(update_id: i64, chat: i64, text: &str) -> String {
    let entities = if text.starts_with('/') {
        let length = text
            .split_whitespace()
            .next()
            .unwrap_or(text)
            .encode_utf16()
            .count();
        format!(r#","entities":[{{"type":"bot_command","offset":0,"length":{length}}}]"#)
    } else {
        String::new()
    };
    format!(
        r#"{{"update_id":{update_id},"message":{{"message_id":{update_id},"date":{date},"from":{from},"chat":{chat_json},"text":"{text}"{entities}}}}}"#,
        date = unix_millis() / 1000,
        from = person(chat),
        chat_json = private_chat(chat),
    )
}

/// A press of an inline button with `data` under a bot message; the press's id starts with
/// the chat, so the stand-in can tell whose press a button answer is for.
pub fn callback_update(update_id: i64, chat: i64, data: &str) -> String {
    format!(
        r#"{{"update_id":{update_id},"callback_query":{{"id":"{chat}-{update_id}","from":{from},"chat_instance":"-{chat}","data":"{data}","message":{{"message_id":5,"date":{date},"from":{{"id":1,"is_bot":true,"first_name":"Toko","username":"toko_bot"}},"chat":{chat_json},"text":"Pilih produk:"}}}}}}"#,
        date = unix_millis() / 1000,
        from = person(chat),
        chat_json = private_chat(chat),
    )
}

/// Update ids are unique in the benchmark's process, as Telegram's are per bot, and fit
/// the Bot API's 32 bits.
pub fn next_update_id() -> i64 {
    static NEXT: AtomicI64 = AtomicI64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The `p`-th percentile (0..=100) of `samples` in milliseconds; sorts them.
pub fn percentile_ms(samples: &mut [u32], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_unstable();
    let at = ((samples.len() as f64 - 1.0) * p / 100.0).round() as usize;
    samples[at] as f64 / 1000.0
}

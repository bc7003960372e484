//! The Bot API stand-in: answers every call a store's bot makes with canned, valid Bot API
//! JSON, and counts what each chat received.
//!
//! It keeps only what the benchmark reads back: each bot's webhook (its secret is how the
//! load generator signs updates), a count of calls per method, and per chat the replies
//! (messages sent or edited), the button answers, the invoice photos, the last "pay by QRIS"
//! button and the arrival times of goods messages. Bodies are read just far enough to find
//! those; the answers are formatted strings, so the stand-in costs a few microseconds a call.
//! Every message is also checked against Telegram's sending limits (`limits`), which counts
//! the ones Telegram would have refused with 429.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, header},
    response::IntoResponse,
    routing::any,
};
use serde::Deserialize;
use tokio::sync::Notify;

use super::limits::{Limits, Violations};

/// Chats are spread over this many locks, so that concurrent calls rarely wait on each other.
const SHARDS: usize = 64;

/// A running stand-in; clones share it.
#[derive(Clone)]
pub struct Telegram {
    url: String,
    shared: Arc<Shared>,
}

struct Shared {
    chats: Vec<Mutex<HashMap<i64, Chat>>>,
    /// Per bot token: (webhook URL, secret token).
    webhooks: Mutex<HashMap<String, (String, String)>>,
    methods: Mutex<BTreeMap<String, u64>>,
    calls: AtomicU64,
    /// Messages sent or edited in any chat.
    replies: AtomicU64,
    next_message_id: AtomicI64,
    /// When the goods of an order (by its code) reached the customer.
    goods: Mutex<HashMap<String, Instant>>,
    /// Update-to-reply times in microseconds.
    reply_latency: Mutex<Vec<u32>>,
    limits: Limits,
}

/// What one chat received.
#[derive(Default)]
pub struct Chat {
    /// Updates sent to this chat's store and not replied to yet: (update id, when sent).
    pending: VecDeque<(i64, Instant)>,
    /// Messages sent or edited in the chat.
    pub replies: u32,
    /// Replies that arrived when no update of the chat was waiting for one.
    pub unexpected: u32,
    /// Button presses answered (`answerCallbackQuery`).
    pub answers: u32,
    pub photos: u32,
    /// The order of the last "💠 QRIS" button shown, and how many such buttons were shown.
    pub pay_order: Option<i64>,
    pub pay_buttons: u32,
    /// Messages sent to the chat (edits and button answers are not messages), and when the
    /// first and the last arrived.
    pub messages: u32,
    pub first_message: Option<Instant>,
    pub last_message: Option<Instant>,
    /// The code of the last order the checkout showed (`🧾 <b>Pesanan CODE</b>`), which is
    /// also the order id of its Pakasir transaction.
    pub order_code: Option<String>,
    waiters: Option<Arc<Notify>>,
}

impl Chat {
    /// Updates announced for the chat and not replied to.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

/// The parts of a call the stand-in reads.
#[derive(Deserialize, Default)]
struct Params {
    chat_id: Option<serde_json::Value>,
    text: Option<String>,
    callback_query_id: Option<String>,
    url: Option<String>,
    secret_token: Option<String>,
}

impl Telegram {
    /// Serves the stand-in on a loopback port of the current runtime.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            chats: (0..SHARDS).map(|_| Mutex::default()).collect(),
            webhooks: Mutex::default(),
            methods: Mutex::default(),
            calls: AtomicU64::new(0),
            replies: AtomicU64::new(0),
            next_message_id: AtomicI64::new(1),
            goods: Mutex::default(),
            reply_latency: Mutex::default(),
            limits: Limits::default(),
        });
        let router = Router::new()
            .route("/{bot}/{method}", any(call))
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(Self { url, shared })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every call so far.
    pub fn calls(&self) -> u64 {
        self.shared.calls.load(Ordering::Relaxed)
    }

    /// Messages sent or edited so far, in every chat.
    pub fn replies(&self) -> u64 {
        self.shared.replies.load(Ordering::Relaxed)
    }

    /// Calls per Bot API method (lower case).
    pub fn methods(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.methods).clone()
    }

    /// The secret the bot with `token` registered for its webhook.
    pub fn webhook_secret(&self, token: &str) -> Option<String> {
        lock(&self.shared.webhooks)
            .get(token)
            .map(|(_, secret)| secret.clone())
    }

    /// Notes that an update for `chat` is on its way, so its reply can be timed.
    pub fn expect_reply(&self, chat: i64, update_id: i64) {
        let mut chats = self.shared.shard(chat);
        let entry = chats.entry(chat).or_default();
        entry.pending.push_back((update_id, Instant::now()));
    }

    /// Forgets an update that the host refused: no reply is owed for it.
    pub fn refused(&self, chat: i64, update_id: i64) {
        let mut chats = self.shared.shard(chat);
        if let Some(entry) = chats.get_mut(&chat) {
            entry.pending.retain(|(id, _)| *id != update_id);
        }
    }

    /// Reads one chat's counts.
    pub fn chat<T>(&self, chat: i64, read: impl FnOnce(&Chat) -> T) -> T {
        let mut chats = self.shared.shard(chat);
        read(chats.entry(chat).or_default())
    }

    /// Every chat's counts, folded.
    pub fn fold_chats<A>(&self, mut acc: A, mut f: impl FnMut(&mut A, i64, &Chat)) -> A {
        for shard in &self.shared.chats {
            for (id, chat) in lock(shard).iter() {
                f(&mut acc, *id, chat);
            }
        }
        acc
    }

    /// Waits until `done` holds for `chat`, or `timeout` passes; says whether it held.
    pub async fn wait_chat(
        &self,
        chat: i64,
        timeout: Duration,
        done: impl Fn(&Chat) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let waiters = {
                let mut chats = self.shared.shard(chat);
                let entry = chats.entry(chat).or_default();
                if done(entry) {
                    return true;
                }
                Arc::clone(entry.waiters.get_or_insert_with(Arc::default))
            };
            let notified = waiters.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            // Checking again after registering means a change in between is not missed.
            if self.chat(chat, &done) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.chat(chat, &done);
            }
        }
    }

    /// When the goods of order `code` arrived, if they did.
    pub fn goods_at(&self, code: &str) -> Option<Instant> {
        lock(&self.shared.goods).get(code).copied()
    }

    /// Takes the update-to-reply times recorded so far, in microseconds.
    pub fn take_reply_latencies(&self) -> Vec<u32> {
        std::mem::take(&mut *lock(&self.shared.reply_latency))
    }

    /// Messages so far that Telegram would have refused for going over its limits.
    pub fn violations(&self) -> Violations {
        self.shared.limits.violations()
    }

    /// Forgets every count (webhooks stay), between the setup and the measured run.
    pub fn reset(&self) {
        self.shared.limits.reset();
        for shard in &self.shared.chats {
            lock(shard).clear();
        }
        lock(&self.shared.methods).clear();
        lock(&self.shared.goods).clear();
        lock(&self.shared.reply_latency).clear();
        self.shared.calls.store(0, Ordering::Relaxed);
        self.shared.replies.store(0, Ordering::Relaxed);
    }
}

impl Shared {
    fn shard(&self, chat: i64) -> MutexGuard<'_, HashMap<i64, Chat>> {
        lock(&self.chats[chat.unsigned_abs() as usize % SHARDS])
    }

    /// Counts a call addressed to `chat` and wakes whoever waits on the chat.
    fn record(&self, bot: i64, chat: i64, method: &str, params: &Params, body: &[u8]) {
        let now = Instant::now();
        let message = Limits::counts(method);
        if message {
            self.limits.message(bot, chat, now);
        }
        let reply = (method.starts_with("send") && method != "sendchataction")
            || method.starts_with("edit");
        let mut chats = self.shard(chat);
        let entry = chats.entry(chat).or_default();
        if reply {
            self.replies.fetch_add(1, Ordering::Relaxed);
            entry.replies += 1;
            match entry.pending.pop_front() {
                Some((_, sent)) => {
                    let micros = now.duration_since(sent).as_micros();
                    lock(&self.reply_latency).push(micros.min(u32::MAX as u128) as u32);
                }
                None => entry.unexpected += 1,
            }
        }
        if message {
            entry.messages += 1;
            entry.first_message.get_or_insert(now);
            entry.last_message = Some(now);
        }
        if method == "sendphoto" {
            entry.photos += 1;
        }
        if let Some(order) = pay_button(body) {
            entry.pay_order = Some(order);
            entry.pay_buttons += 1;
        }
        if method == "answercallbackquery" {
            entry.answers += 1;
        }
        if let Some(code) = params.text.as_deref().and_then(order_code) {
            entry.order_code = Some(code.to_owned());
        }
        if let Some(waiters) = &entry.waiters {
            waiters.notify_waiters();
        }
        drop(chats);
        if let Some(code) = params.text.as_deref().and_then(goods_code) {
            lock(&self.goods).insert(code.to_owned(), now);
        }
    }
}

/// One Bot API call: `/bot<token>/<method>`.
async fn call(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    shared.calls.fetch_add(1, Ordering::Relaxed);
    let method = method.to_ascii_lowercase();
    let token = bot.strip_prefix("bot").unwrap_or(&bot);
    let bot_id: i64 = token
        .split(':')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or(1);
    *lock(&shared.methods).entry(method.clone()).or_default() += 1;
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    let params = if multipart {
        // Uploads and setWebhook (which may carry a certificate) come as forms.
        let field = |name| form_field(&body, name).map(str::to_owned);
        Params {
            chat_id: field("chat_id").map(serde_json::Value::String),
            url: field("url"),
            secret_token: field("secret_token"),
            ..Params::default()
        }
    } else {
        serde_json::from_slice(&body).unwrap_or_default()
    };
    let chat = match &params.chat_id {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    // A button answer names the press, whose id the load generator starts with the chat.
    .or_else(|| {
        params
            .callback_query_id
            .as_deref()
            .and_then(|id| id.split('-').next()?.parse().ok())
    });
    if let Some(chat) = chat {
        shared.record(bot_id, chat, &method, &params, &body);
    }
    let result = match method.as_str() {
        "getme" => format!(
            r#"{{"id":{bot_id},"is_bot":true,"first_name":"Bench","username":"bench_{bot_id}_bot","can_join_groups":true,"can_read_all_group_messages":false,"supports_inline_queries":false,"can_connect_to_business":false,"has_main_web_app":false}}"#
        ),
        "setwebhook" => {
            let url = params.url.clone().unwrap_or_default();
            let secret = params.secret_token.clone().unwrap_or_default();
            lock(&shared.webhooks).insert(token.to_owned(), (url, secret));
            "true".to_owned()
        }
        "deletewebhook" => {
            lock(&shared.webhooks).remove(token);
            "true".to_owned()
        }
        "getwebhookinfo" => {
            let url = lock(&shared.webhooks)
                .get(token)
                .map(|(url, _)| url.clone())
                .unwrap_or_default();
            format!(
                r#"{{"url":{},"has_custom_certificate":false,"pending_update_count":0,"max_connections":40}}"#,
                serde_json::Value::String(url)
            )
        }
        m if m.starts_with("send") && m != "sendchataction" || m.starts_with("edit") => {
            let id = shared.next_message_id.fetch_add(1, Ordering::Relaxed);
            message(id, bot_id, chat.unwrap_or(1), &method)
        }
        _ => "true".to_owned(),
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!(r#"{{"ok":true,"result":{result}}}"#),
    )
}

/// A sent message as Telegram answers it: a text, or a photo or document for those methods.
fn message(id: i64, bot_id: i64, chat: i64, method: &str) -> String {
    let date = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let content = match method {
        "sendphoto" => format!(
            r#""photo":[{{"file_id":"ph{id}","file_unique_id":"uph{id}","width":400,"height":400,"file_size":1000}}],"caption":"""#
        ),
        "senddocument" => {
            format!(r#""document":{{"file_id":"doc{id}","file_unique_id":"udoc{id}"}}"#)
        }
        _ => r#""text":"ok""#.to_owned(),
    };
    format!(
        r#"{{"message_id":{id},"date":{date},"chat":{{"id":{chat},"type":"private","first_name":"Budi"}},"from":{{"id":{bot_id},"is_bot":true,"first_name":"Bench","username":"bench_{bot_id}_bot"}},{content}}}"#
    )
}

/// The order a "pay by QRIS" button (callback data `pq:<order>`) in the call pays for.
fn pay_button(body: &[u8]) -> Option<i64> {
    let at = find(body, b"\"pq:")?;
    let digits = &body[at + 4..];
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

/// The order code of a checkout message, which starts `🧾 <b>Pesanan CODE</b>`.
fn order_code(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("🧾 <b>Pesanan ")?;
    rest.split('<').next()
}

/// The order code of a goods message, which starts `📦 <b>Pesanan CODE</b>`.
fn goods_code(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("📦 <b>Pesanan ")?;
    rest.split('<').next()
}

/// The value of a small text field of a multipart form.
fn form_field<'a>(body: &'a [u8], name: &str) -> Option<&'a str> {
    let marker = format!("name=\"{name}\"\r\n\r\n");
    let at = find(body, marker.as_bytes())? + marker.len();
    let end = find(&body[at..], b"\r\n")?;
    std::str::from_utf8(&body[at..at + end]).ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

//! A fake Telegram Bot API server for the integration tests.
//!
//! tokobot reaches Telegram only through teloxide, and teloxide can be pointed at any base URL
//! with `Bot::set_api_url`. This module serves such a URL on a loopback port: it answers the Bot
//! API methods the bot host uses with realistic JSON, keeps the per-token state Telegram keeps
//! (webhooks, pending updates, message ids), records every request so tests can assert on what
//! the bots sent, and lets tests inject the failures Telegram produces in production: rate
//! limits, users who blocked the bot, revoked tokens and server errors.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::to_bytes;
use axum::extract::{
    DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State as AxumState,
};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Telegram accepts uploads of up to 50 MB from bots, so the fake does too.
const MAX_BODY: usize = 50 * 1024 * 1024;

/// What every file download answers; tests only need the host to fetch something.
const FILE_CONTENTS: &[u8] = b"fake telegram file contents";

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub token: String,
    /// The Bot API method in lower case (`sendmessage`), whatever case the client used.
    /// File downloads are recorded as `downloadfile` with a `file_path` parameter.
    pub method: String,
    /// The parameters as one JSON object, whichever encoding the client used.
    pub body: Value,
    /// Uploaded files as `(parameter, bytes)`, e.g. `("photo", ...)` for sendPhoto.
    pub files: Vec<(String, Vec<u8>)>,
    /// The HTTP status the fake answered with, so tests can tell deliveries from refusals.
    pub status: u16,
    /// When the fake answered, so tests can measure a sender's pace.
    pub at: Instant,
}

/// The webhook Telegram would currently push updates to for one bot.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookState {
    pub url: String,
    pub secret_token: Option<String>,
    pub allowed_updates: Option<Value>,
    pub drop_pending_updates: Option<bool>,
}

/// An error that `FakeTelegram::fail_next` makes the fake answer instead of the real result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    TooManyRequests {
        retry_after: u32,
    },
    Blocked,
    Unauthorized,
    /// Note that teloxide sleeps 10 seconds after any 5xx answer before it reports the error.
    ServerError,
    /// A 400 that no retry helps with, as for a chat that does not exist.
    BadRequest,
}

impl Failure {
    /// The exact JSON Telegram sends for this failure, which teloxide maps to its `ApiError`s.
    fn answer(self) -> Answer {
        match self {
            Self::TooManyRequests { retry_after } => {
                let mut answer = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("Too Many Requests: retry after {retry_after}"),
                );
                answer.body["parameters"] = json!({ "retry_after": retry_after });
                answer
            }
            Self::Blocked => error(
                StatusCode::FORBIDDEN,
                "Forbidden: bot was blocked by the user",
            ),
            Self::Unauthorized => error(StatusCode::UNAUTHORIZED, "Unauthorized"),
            Self::ServerError => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
            Self::BadRequest => error(StatusCode::BAD_REQUEST, "Bad Request: chat not found"),
        }
    }
}

/// A handle to a running fake server; clones share the same server and state.
#[derive(Clone)]
pub struct FakeTelegram {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    state: Mutex<State>,
    /// Wakes long-polling getUpdates calls when a test queues an update.
    update_queued: Notify,
}

#[derive(Default)]
struct State {
    /// Valid tokens and the username of the bot each belongs to.
    bots: HashMap<String, String>,
    /// Per-token state, kept even for unknown tokens so tests may prepare it in any order.
    tokens: HashMap<String, TokenState>,
    requests: Vec<Recorded>,
    /// Pending injected failures and how many calls each still applies to.
    failures: HashMap<(String, String), (Failure, usize)>,
    blocked: HashSet<(String, i64)>,
    /// Contents of files by `file_id`, as tests put them there (documents a user "sends"). Any
    /// other file id downloads as `FILE_CONTENTS`.
    files: HashMap<String, Vec<u8>>,
}

#[derive(Default)]
struct TokenState {
    last_message_id: i64,
    webhook: Option<WebhookState>,
    /// Telegram keeps `allowed_updates` when a later setWebhook omits it, so it lives apart from
    /// the webhook.
    allowed_updates: Option<Value>,
    updates: VecDeque<Value>,
}

/// A call's parameters, however they were encoded.
type Params = Map<String, Value>;

/// One Bot API call, as read from its HTTP request.
struct Call {
    token: String,
    /// The method in lower case.
    method: String,
    params: Params,
    uploads: Vec<Upload>,
}

/// A file part of a multipart request.
struct Upload {
    field: String,
    file_name: String,
    bytes: Vec<u8>,
}

impl FakeTelegram {
    /// Starts the server on a free loopback port; it runs until the test's runtime shuts down.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Telegram server to a loopback port");
        let addr = listener
            .local_addr()
            .expect("read the fake Telegram server's address");
        let fake = Self {
            inner: Arc::new(Inner {
                url: format!("http://{addr}"),
                state: Mutex::default(),
                update_queued: Notify::new(),
            }),
        };
        let app = Router::new()
            .route("/file/{bot}/{*path}", get(download))
            .route("/{bot}/{method}", any(api))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "Not Found") })
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(fake.clone());
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("fake Telegram server stopped: {err}");
            }
        });
        fake
    }

    /// The base URL to pass to `Bot::set_api_url`.
    pub fn url(&self) -> String {
        self.inner.url.clone()
    }

    /// Makes `token` valid; the bot id is the number before the ':'.
    pub fn add_bot(&self, token: &str, username: &str) {
        self.state()
            .bots
            .insert(token.to_owned(), username.to_owned());
    }

    /// Makes `token` invalid from now on, as when its owner revokes it in @BotFather.
    pub fn remove_bot(&self, token: &str) {
        self.state().bots.remove(token);
    }

    /// Forgets a bot's webhook behind the host's back, as a stray `deleteWebhook` by someone
    /// else holding the token would.
    pub fn drop_webhook(&self, token: &str) {
        if let Some(bot) = self.state().tokens.get_mut(token) {
            bot.webhook = None;
        }
    }

    pub fn webhook(&self, token: &str) -> Option<WebhookState> {
        self.state()
            .tokens
            .get(token)
            .and_then(|bot| bot.webhook.clone())
    }

    /// Queues an update for getUpdates; it must carry a numeric `update_id`.
    pub fn push_update(&self, token: &str, update: Value) {
        assert!(
            update["update_id"].is_i64(),
            "push_update needs a numeric update_id: {update}"
        );
        self.state()
            .tokens
            .entry(token.to_owned())
            .or_default()
            .updates
            .push_back(update);
        self.inner.update_queued.notify_waiters();
    }

    /// Makes the next `times` calls of `method` (any case) on `token` fail with `failure`.
    pub fn fail_next(&self, token: &str, method: &str, failure: Failure, times: usize) {
        let key = (token.to_owned(), method.to_lowercase());
        let mut state = self.state();
        if times == 0 {
            state.failures.remove(&key);
        } else {
            state.failures.insert(key, (failure, times));
        }
    }

    /// Makes every send* to `chat_id` answer "bot was blocked by the user" until unblocked.
    pub fn block_chat(&self, token: &str, chat_id: i64) {
        self.state().blocked.insert((token.to_owned(), chat_id));
    }

    pub fn unblock_chat(&self, token: &str, chat_id: i64) {
        self.state().blocked.remove(&(token.to_owned(), chat_id));
    }

    /// Every request so far, in the order the fake answered them.
    /// Makes `file_id` download as `bytes`, as if a user had sent that file.
    pub fn add_file(&self, file_id: &str, bytes: Vec<u8>) {
        self.state().files.insert(file_id.to_owned(), bytes);
    }

    /// The bytes of the documents `token` uploaded to `chat_id`, in order.
    pub fn sent_documents(&self, token: &str, chat_id: i64) -> Vec<Vec<u8>> {
        let state = self.state();
        state
            .requests
            .iter()
            .filter(|r| {
                r.token == token
                    && r.status == 200
                    && r.method == "senddocument"
                    && r.body.as_object().and_then(|p| int_param(p, "chat_id")) == Some(chat_id)
            })
            .filter_map(|r| r.files.iter().find(|(field, _)| field == "document"))
            .map(|(_, bytes)| bytes.clone())
            .collect()
    }

    /// How many requests arrived, without copying them (for load tests).
    pub fn request_count(&self) -> usize {
        self.state().requests.len()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    pub fn calls(&self, token: &str, method: &str) -> Vec<Recorded> {
        let method = method.to_lowercase();
        let state = self.state();
        let calls = state
            .requests
            .iter()
            .filter(|r| r.token == token && r.method == method);
        calls.cloned().collect()
    }

    /// The texts and captions `token` delivered to `chat_id`, edits included, in order. Refused
    /// requests (429, 403, ...) are left out, so a retried message appears once.
    pub fn sent_texts(&self, token: &str, chat_id: i64) -> Vec<String> {
        const TEXT_METHODS: &[&str] = &[
            "sendmessage",
            "sendphoto",
            "senddocument",
            "editmessagetext",
            "editmessagecaption",
        ];
        let state = self.state();
        let sent = state.requests.iter().filter(|r| {
            r.token == token
                && r.status == 200
                && TEXT_METHODS.contains(&r.method.as_str())
                && r.body.as_object().and_then(|p| int_param(p, "chat_id")) == Some(chat_id)
        });
        let texts = sent.filter_map(|r| r.body.get("text").or_else(|| r.body.get("caption")));
        texts.filter_map(Value::as_str).map(str::to_owned).collect()
    }

    /// Polls the recorded requests every 20 ms until `f` holds, and panics naming `what` and
    /// listing what arrived if it does not within 10 seconds.
    pub async fn wait_for<F: Fn(&[Recorded]) -> bool>(&self, what: &str, f: F) -> Vec<Recorded> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let requests = self.requests();
            if f(&requests) {
                return requests;
            }
            if Instant::now() >= deadline {
                let seen: Vec<String> = requests.iter().map(describe).collect();
                panic!("timed out after 10 s waiting for {what}; fake Telegram received {seen:#?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Gives in-flight work time to reach the fake, before asserting that nothing more arrived.
    pub async fn settle(&self) {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Forgets the recorded requests; bots, webhooks, queues and failures stay.
    pub fn clear(&self) {
        self.state().requests.clear();
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock must not turn every later request into
        // a second, misleading panic.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers one Bot API call the way Telegram would, checking the token and injected
    /// failures first.
    async fn answer(&self, call: &Call) -> Answer {
        {
            let mut state = self.state();
            let Some(username) = state.bots.get(&call.token).cloned() else {
                return error(StatusCode::UNAUTHORIZED, "Unauthorized");
            };
            if let Some(failure) = state.take_failure(call) {
                return failure.answer();
            }
            if call.method != "getupdates" {
                return state.answer(call, &username);
            }
        }
        self.get_updates(&call.token, &call.params).await
    }

    /// Long polling: answers queued updates at once, or waits up to a second (however long the
    /// client asked for) so tests stay fast.
    async fn get_updates(&self, token: &str, params: &Params) -> Answer {
        let offset = int_param(params, "offset").unwrap_or(0);
        let limit = int_param(params, "limit").map_or(100, |limit| limit.clamp(1, 100));
        let limit = usize::try_from(limit).unwrap_or(100);
        let wait = int_param(params, "timeout").unwrap_or(0).clamp(0, 1);
        let deadline = Instant::now() + Duration::from_secs(wait.unsigned_abs());
        loop {
            // Registering before looking at the queue means an update pushed in between still
            // wakes this call instead of being noticed only at the deadline.
            let notified = self.inner.update_queued.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.state();
                let bot = state.tokens.entry(token.to_owned()).or_default();
                if bot.webhook.is_some() {
                    return error(
                        StatusCode::CONFLICT,
                        "Conflict: can't use getUpdates method while webhook is active; \
                         use deleteWebhook to delete the webhook first",
                    );
                }
                // An offset confirms every update below it, and Telegram forgets those for good.
                bot.updates
                    .retain(|update| update["update_id"].as_i64().unwrap_or(0) >= offset);
                if !bot.updates.is_empty() || Instant::now() >= deadline {
                    return ok(bot.updates.iter().take(limit).cloned().collect());
                }
            }
            // Timing out is the normal end of an empty long poll; the next turn answers `[]`.
            tokio::time::timeout_at(deadline, notified).await.ok();
        }
    }
}

impl State {
    fn take_failure(&mut self, call: &Call) -> Option<Failure> {
        let key = (call.token.clone(), call.method.clone());
        let (failure, left) = self.failures.get_mut(&key)?;
        let failure = *failure;
        *left -= 1;
        if *left == 0 {
            self.failures.remove(&key);
        }
        Some(failure)
    }

    /// Answers every method except getUpdates, for a valid token.
    fn answer(&mut self, call: &Call, username: &str) -> Answer {
        /// Calls a bot makes in passing, whose result is a bare `true`.
        const TRUE_METHODS: &[&str] = &[
            "answercallbackquery",
            "deletemessage",
            "sendchataction",
            "setmycommands",
            "deletemycommands",
            "setmydescription",
            "setmyshortdescription",
            "setchatmenubutton",
        ];
        let (token, method, params) = (call.token.as_str(), call.method.as_str(), &call.params);
        let bot = json!({
            "id": bot_id(token), "is_bot": true, "first_name": username, "username": username,
        });
        let chat_id = int_param(params, "chat_id");
        let blocked = chat_id.is_some_and(|chat| self.blocked.contains(&(token.to_owned(), chat)));
        if method.starts_with("send") && blocked {
            return Failure::Blocked.answer();
        }
        if let Some(refusal) = beyond_limits(method, params) {
            return refusal;
        }
        let state = self.tokens.entry(token.to_owned()).or_default();
        match method {
            "getme" => {
                let mut me = bot;
                me["can_join_groups"] = json!(true);
                me["can_read_all_group_messages"] = json!(false);
                me["supports_inline_queries"] = json!(false);
                me["can_connect_to_business"] = json!(false);
                me["has_main_web_app"] = json!(false);
                ok(me)
            }
            "setwebhook" => state.set_webhook(str_param(params, "url").unwrap_or_default(), params),
            "deletewebhook" => state.set_webhook("", params),
            "getwebhookinfo" => {
                let webhook = state.webhook.as_ref();
                let url = webhook.map_or("", |webhook| webhook.url.as_str());
                let mut info = json!({
                    "url": url, "has_custom_certificate": false, "pending_update_count": 0,
                });
                if let Some(webhook) = webhook {
                    info["max_connections"] = json!(40);
                    if let Some(allowed) = &webhook.allowed_updates {
                        info["allowed_updates"] = allowed.clone();
                    }
                }
                ok(info)
            }
            "sendmessage" | "sendphoto" | "senddocument" => match chat_id {
                Some(chat_id) => state.send(call, chat_id, bot),
                None => bad_request("chat not found"),
            },
            "editmessagetext" | "editmessagecaption" | "editmessagereplymarkup" => edit(call, bot),
            "getfile" => match str_param(params, "file_id") {
                Some(file_id) => {
                    let size = self
                        .files
                        .get(file_id)
                        .map_or(FILE_CONTENTS.len(), Vec::len);
                    ok(json!({
                        "file_id": file_id, "file_unique_id": format!("{file_id}-unique"),
                        "file_size": size, "file_path": format!("files/{file_id}"),
                    }))
                }
                None => bad_request("invalid file_id"),
            },
            _ if TRUE_METHODS.contains(&method) => ok(json!(true)),
            _ => error(StatusCode::NOT_FOUND, "Not Found: method not found"),
        }
    }
}

impl TokenState {
    /// setWebhook, and deleteWebhook as setWebhook with an empty url, which is how the Bot API
    /// itself treats an empty url.
    fn set_webhook(&mut self, url: &str, params: &Params) -> Answer {
        let secret_token = str_param(params, "secret_token");
        // Telegram refuses secrets it could not echo in a header; refusing them here catches a
        // real bug in how the host generates them.
        let valid = |secret: &str| {
            (1..=256).contains(&secret.len())
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if secret_token.is_some_and(|secret| !valid(secret)) {
            return bad_request("secret token contains unallowed characters");
        }
        let drop_pending_updates = bool_param(params, "drop_pending_updates");
        if drop_pending_updates == Some(true) {
            self.updates.clear();
        }
        if let Some(allowed) = params.get("allowed_updates") {
            self.allowed_updates = Some(allowed.clone());
        }
        if url.is_empty() {
            return match self.webhook.take() {
                Some(_) => ok_described("Webhook was deleted"),
                None => ok_described("Webhook is already deleted"),
            };
        }
        self.webhook = Some(WebhookState {
            url: url.to_owned(),
            secret_token: secret_token.map(str::to_owned),
            allowed_updates: self.allowed_updates.clone(),
            drop_pending_updates,
        });
        ok_described("Webhook was set")
    }

    fn send(&mut self, call: &Call, chat_id: i64, bot: Value) -> Answer {
        let message_id = self.last_message_id + 1;
        let mut message =
            json!({ "message_id": message_id, "date": now(), "chat": chat(chat_id), "from": bot });
        match call.method.as_str() {
            "sendmessage" => {
                match str_param(&call.params, "text").filter(|text| !text.is_empty()) {
                    Some(text) => message["text"] = json!(text),
                    None => return bad_request("message text is empty"),
                }
            }
            "sendphoto" if unreachable_url(call, "photo") => {
                return bad_request("failed to get HTTP URL content");
            }
            "sendphoto" => match media(call, "photo", message_id) {
                Some((file_id, size, _)) => message["photo"] = photo(&file_id, size),
                None => return bad_request("there is no photo in the request"),
            },
            _ => match media(call, "document", message_id) {
                Some((file_id, size, file_name)) => {
                    message["document"] = json!({
                        "file_id": file_id, "file_unique_id": format!("{file_id}-unique"),
                        "file_size": size,
                    });
                    // Telegram omits the name of a file uploaded without one.
                    if !file_name.is_empty() {
                        message["document"]["file_name"] = json!(file_name);
                    }
                }
                None => return bad_request("there is no document in the request"),
            },
        }
        if call.method != "sendmessage"
            && let Some(caption) = str_param(&call.params, "caption")
        {
            message["caption"] = json!(caption);
        }
        set_inline_markup(&mut message, &call.params);
        // Only messages that were actually sent consume an id, as on Telegram.
        self.last_message_id = message_id;
        ok(message)
    }
}

/// The file a sendPhoto or sendDocument carries in `field`, as `(file_id, size, file_name)`:
/// an upload gets a fresh `file_id`, and a `file_id` or URL string is reused as the `file_id`.
fn media(call: &Call, field: &str, message_id: i64) -> Option<(String, usize, String)> {
    if let Some(upload) = call.uploads.iter().find(|upload| upload.field == field) {
        let file_id = format!("fake-{field}-{message_id}");
        return Some((file_id, upload.bytes.len(), upload.file_name.clone()));
    }
    let file_id = str_param(&call.params, field).filter(|id| !id.is_empty())?;
    // Telegram fetches a URL itself and answers with a file id of its own for it.
    if file_id.starts_with("http://") || file_id.starts_with("https://") {
        let file_id = format!("fake-{field}-{message_id}");
        return Some((file_id, FILE_CONTENTS.len(), String::new()));
    }
    Some((file_id.to_owned(), FILE_CONTENTS.len(), String::new()))
}

/// Whether `field` is a URL on a `.invalid` host (a name that never resolves, RFC 2606):
/// Telegram cannot fetch it.
fn unreachable_url(call: &Call, field: &str) -> bool {
    str_param(&call.params, field)
        .and_then(|value| reqwest::Url::parse(value).ok())
        .and_then(|url| url.host_str().map(|host| host.ends_with(".invalid")))
        .unwrap_or(false)
}

/// Telegram answers several sizes of a photo, smallest first, the original last.
fn photo(file_id: &str, size: usize) -> Value {
    let thumb = format!("{file_id}-thumb");
    json!([
        {
            "file_id": thumb, "file_unique_id": format!("{thumb}-unique"),
            "width": 90, "height": 90, "file_size": size.min(1024),
        },
        {
            "file_id": file_id, "file_unique_id": format!("{file_id}-unique"),
            "width": 800, "height": 800, "file_size": size,
        },
    ])
}

/// Answers an edit with the edited message. The fake keeps no message history, so the message
/// is rebuilt from the request: a text message, or a photo one for caption edits.
fn edit(call: &Call, bot: Value) -> Answer {
    let params = &call.params;
    // Inline messages belong to no chat, so Telegram answers their edits with a bare `true`.
    if params.contains_key("inline_message_id") {
        return ok(json!(true));
    }
    let (Some(chat_id), Some(message_id)) = (
        int_param(params, "chat_id"),
        int_param(params, "message_id"),
    ) else {
        return bad_request("message to edit not found");
    };
    let mut message = json!({
        "message_id": message_id, "date": now(), "edit_date": now(),
        "chat": chat(chat_id), "from": bot,
    });
    let text = str_param(params, "text").unwrap_or_default();
    match call.method.as_str() {
        "editmessagetext" if text.is_empty() => return bad_request("message text is empty"),
        "editmessagecaption" => {
            message["photo"] = photo("fake-photo", FILE_CONTENTS.len());
            message["caption"] = params.get("caption").cloned().unwrap_or(json!(""));
        }
        _ => message["text"] = json!(text),
    }
    set_inline_markup(&mut message, params);
    ok(message)
}

/// Serves `POST|GET /bot<token>/<method>`.
async fn api(
    AxumState(fake): AxumState<FakeTelegram>,
    Path((bot, method)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let Some(token) = bot.strip_prefix("bot") else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    // An unreadable request is still recorded, with no parameters, before it is refused.
    let (params, uploads, refusal) = match read_params(request).await {
        Ok((params, uploads)) => (params, uploads, None),
        Err(reason) => (Map::new(), Vec::new(), Some(bad_request(&reason))),
    };
    let method = method.to_lowercase();
    let call = Call {
        token: token.to_owned(),
        method,
        params,
        uploads,
    };
    let answer = match refusal {
        Some(refusal) => refusal,
        None => fake.answer(&call).await,
    };
    fake.state().requests.push(Recorded {
        token: call.token,
        method: call.method,
        body: Value::Object(call.params),
        files: call
            .uploads
            .into_iter()
            .map(|upload| (upload.field, upload.bytes))
            .collect(),
        status: answer.status.as_u16(),
        at: Instant::now(),
    });
    answer
}

/// Serves `GET /file/bot<token>/<file_path>`, the download URL built from getFile's `file_path`.
async fn download(
    AxumState(fake): AxumState<FakeTelegram>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    let token = bot.strip_prefix("bot").unwrap_or_default();
    let mut state = fake.state();
    let known = state.bots.contains_key(token);
    let status = if known {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    };
    state.requests.push(Recorded {
        token: token.to_owned(),
        method: "downloadfile".to_owned(),
        body: json!({ "file_path": path }),
        files: Vec::new(),
        status: status.as_u16(),
        at: Instant::now(),
    });
    if !known {
        return error(status, "Unauthorized").into_response();
    }
    let contents = path
        .strip_prefix("files/")
        .and_then(|id| state.files.get(id))
        .cloned()
        .unwrap_or_else(|| FILE_CONTENTS.to_vec());
    (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        contents,
    )
        .into_response()
}

/// Reads a call's parameters from the query string and from a JSON, multipart or urlencoded
/// body into one JSON object; the error is the reason for a 400.
async fn read_params(request: Request) -> Result<(Params, Vec<Upload>), String> {
    let mut params = Map::new();
    read_pairs(request.uri(), &mut params)?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut uploads = Vec::new();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| e.body_text())?;
        while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let bytes = field.bytes().await.map_err(|e| e.body_text())?.to_vec();
            // Any part with a file name is an upload, even an empty name: teloxide sends
            // `InputFile::memory` without `.file_name(...)` as `filename=""`.
            if let Some(file_name) = file_name {
                uploads.push(Upload {
                    field: name,
                    file_name,
                    bytes,
                });
                continue;
            }
            let text =
                String::from_utf8(bytes).map_err(|_| format!("parameter {name} is not UTF-8"))?;
            let value = text_param(&name, text);
            params.insert(name, value);
        }
        resolve_attachments(&mut params, &mut uploads);
        return Ok((params, uploads));
    }
    let body = to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|e| e.to_string())?;
    if body.is_empty() {
        return Ok((params, uploads));
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        // serde_urlencoded is only reachable through axum's Query extractor, so the body is
        // parsed as the query string of a dummy URI; a valid form body is always a valid query.
        let form = std::str::from_utf8(&body).map_err(|_| "form body is not UTF-8".to_owned())?;
        let uri: Uri = format!("/?{form}")
            .parse()
            .map_err(|_| "malformed form body".to_owned())?;
        read_pairs(&uri, &mut params)?;
    } else {
        match serde_json::from_slice(&body) {
            Ok(Value::Object(object)) => params.extend(object),
            _ => return Err("can't parse JSON object".to_owned()),
        }
    }
    Ok((params, uploads))
}

fn read_pairs(uri: &Uri, params: &mut Params) -> Result<(), String> {
    if uri.query().is_none() {
        return Ok(());
    }
    let Query(pairs) =
        Query::<Vec<(String, String)>>::try_from_uri(uri).map_err(|e| e.body_text())?;
    for (name, text) in pairs {
        let value = text_param(&name, text);
        params.insert(name, value);
    }
    Ok(())
}

/// Form and multipart values are all text, while Telegram reads each parameter by its declared
/// type: numbers, booleans and JSON-serialized objects (`reply_markup`) become JSON values here,
/// and free-text parameters stay strings even when they look like JSON (a caption of "42").
fn text_param(name: &str, text: String) -> Value {
    const FREE_TEXT: &[&str] = &[
        "text",
        "caption",
        "parse_mode",
        "secret_token",
        "url",
        "file_id",
        "callback_query_id",
        "inline_message_id",
    ];
    if FREE_TEXT.contains(&name) {
        return Value::String(text);
    }
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// teloxide uploads a file as a part named by a random id and sets the real parameter to
/// `attach://<id>`; this folds the two back together so `photo` describes the upload and the
/// file is recorded under `photo`.
fn resolve_attachments(params: &mut Params, uploads: &mut [Upload]) {
    for upload in uploads {
        let reference = format!("attach://{}", upload.field);
        let parameter = params
            .iter()
            .find(|(_, value)| value.as_str() == Some(reference.as_str()));
        if let Some(parameter) = parameter.map(|(name, _)| name.clone()) {
            params.remove(&upload.field);
            upload.field = parameter;
        }
        let descriptor = json!({ "file_name": upload.file_name, "bytes_len": upload.bytes.len() });
        params.insert(upload.field.clone(), descriptor);
    }
}

/// Builds an incoming private-chat text message from customer `user_id`, as Telegram would
/// deliver it to a webhook; commands get their `bot_command` entity.
///
/// Send it as a request body, or parse it with `serde_json::from_str`: teloxide's `Update`
/// cannot be read with `serde_json::from_value` (its kind silently becomes `UpdateKind::Error`).
pub fn text_update(update_id: i64, user_id: i64, text: &str) -> Value {
    let mut message = json!({
        "message_id": update_id, "date": now(),
        "from": customer(user_id), "chat": chat(user_id), "text": text,
    });
    if text.starts_with('/') {
        let command = text.split_whitespace().next().unwrap_or(text);
        // Entity offsets and lengths count UTF-16 code units, not bytes.
        let length = command.encode_utf16().count();
        message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": length }]);
    }
    json!({ "update_id": update_id, "message": message })
}

/// Builds a private message from `user_id` carrying a document (`file_id`, as registered with
/// `FakeTelegram::add_file`) named `file_name` of `size` bytes, with an optional caption.
pub fn document_update(
    update_id: i64,
    user_id: i64,
    file_id: &str,
    file_name: &str,
    size: usize,
) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": now(),
            "from": customer(user_id), "chat": chat(user_id),
            "document": {
                "file_id": file_id, "file_unique_id": format!("{file_id}-unique"),
                "file_name": file_name, "mime_type": "application/octet-stream", "file_size": size,
            },
        },
    })
}

/// Builds a press of an inline button carrying `data`, on message `message_id` that the bot
/// sent earlier in its private chat with customer `user_id`.
pub fn callback_update(update_id: i64, user_id: i64, message_id: i32, data: &str) -> Value {
    let bot = json!({ "id": 1, "is_bot": true, "first_name": "Toko", "username": "toko_bot" });
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("{update_id}{user_id}"),
            "from": customer(user_id),
            "chat_instance": format!("-{user_id}"),
            "data": data,
            // A zero date would make teloxide treat the message as inaccessible.
            "message": {
                "message_id": message_id, "date": now(),
                "from": bot, "chat": chat(user_id), "text": "Pilih produk:",
            },
        },
    })
}

fn customer(user_id: i64) -> Value {
    json!({
        "id": user_id, "is_bot": false, "first_name": "Budi",
        "username": format!("budi{user_id}"), "language_code": "id",
    })
}

/// Positive ids are private chats with a customer, negative ones groups, as on Telegram.
fn chat(chat_id: i64) -> Value {
    if chat_id > 0 {
        let username = format!("budi{chat_id}");
        json!({ "id": chat_id, "type": "private", "first_name": "Budi", "username": username })
    } else {
        json!({ "id": chat_id, "type": "supergroup", "title": "Grup Toko" })
    }
}

/// Echoes an inline keyboard into the message; Telegram never echoes reply keyboards, and an
/// edit without `reply_markup` removes the keyboard.
fn set_inline_markup(message: &mut Value, params: &Params) {
    let markup = params.get("reply_markup");
    let markup = markup.filter(|markup| markup.get("inline_keyboard").is_some());
    match (markup, message.as_object_mut()) {
        (Some(markup), Some(message)) => message.insert("reply_markup".to_owned(), markup.clone()),
        (None, Some(message)) => message.remove("reply_markup"),
        _ => None,
    };
}

fn bot_id(token: &str) -> i64 {
    token
        .split(':')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or(0)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Reads an integer parameter that may arrive as a JSON number or as text.
fn int_param(params: &Params, name: &str) -> Option<i64> {
    match params.get(name)? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

fn str_param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str)
}

fn bool_param(params: &Params, name: &str) -> Option<bool> {
    match params.get(name)? {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

fn describe(request: &Recorded) -> String {
    let body: String = request.body.to_string().chars().take(200).collect();
    format!(
        "bot {} {} -> {}: {body}",
        bot_id(&request.token),
        request.method,
        request.status
    )
}

/// A Bot API answer: an HTTP status and the `{"ok": ...}` envelope.
struct Answer {
    status: StatusCode,
    body: Value,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

fn ok(result: Value) -> Answer {
    Answer {
        status: StatusCode::OK,
        body: json!({ "ok": true, "result": result }),
    }
}

/// The `true` result that webhook methods send together with a human-readable description.
fn ok_described(description: &str) -> Answer {
    Answer {
        status: StatusCode::OK,
        body: json!({ "ok": true, "result": true, "description": description }),
    }
}

fn error(status: StatusCode, description: &str) -> Answer {
    Answer {
        status,
        body: json!({ "ok": false, "error_code": status.as_u16(), "description": description }),
    }
}

/// Telegram's limits on what a bot sends, refused the way Telegram refuses them, so that a bot
/// which would break them in production fails its tests: 4096 characters of text and 1024 of
/// caption (counted in UTF-16 units after the HTML is parsed), and 64 bytes of button data.
fn beyond_limits(method: &str, params: &Params) -> Option<Answer> {
    let visible = |html: &str| -> usize {
        let mut text = String::with_capacity(html.len());
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                _ if !in_tag => text.push(c),
                _ => {}
            }
        }
        let text = text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&");
        text.encode_utf16().count()
    };
    if let Some(text) = str_param(params, "text")
        && matches!(method, "sendmessage" | "editmessagetext")
        && visible(text) > 4096
    {
        return Some(bad_request("message is too long"));
    }
    if let Some(caption) = str_param(params, "caption")
        && visible(caption) > 1024
    {
        return Some(bad_request("message caption is too long"));
    }
    let markup = params.get("reply_markup").cloned().map(|m| match m {
        Value::String(json) => serde_json::from_str(&json).unwrap_or(Value::Null),
        other => other,
    });
    let too_long_data = markup
        .as_ref()
        .and_then(|m| m.get("inline_keyboard"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|button| button.get("callback_data").and_then(Value::as_str))
        .any(|data| data.len() > 64 || data.is_empty());
    too_long_data.then(|| bad_request("BUTTON_DATA_INVALID"))
}

fn bad_request(reason: &str) -> Answer {
    error(StatusCode::BAD_REQUEST, &format!("Bad Request: {reason}"))
}

/// Waits until a text to `chat` from the bot with `token` contains one of `needles`, and
/// returns that text.
pub async fn wait_any(telegram: &FakeTelegram, token: &str, chat: i64, needles: &[&str]) -> String {
    let found = || {
        telegram
            .sent_texts(token, chat)
            .into_iter()
            .find(|t| needles.iter().any(|n| t.contains(n)))
    };
    telegram
        .wait_for(
            &format!("a text to {chat} containing one of {needles:?}"),
            |_| found().is_some(),
        )
        .await;
    found().unwrap_or_default()
}

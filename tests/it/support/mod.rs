//! Test support: a host on port 0 over a fresh database, API helpers, the fake Telegram and
//! the fake Pakasir.
//!
//! All test processes share one PostgreSQL cluster under the target dir (started on first
//! use, left running for the next process; `scripts/test` stops it at the end). Each test gets
//! its own database in it, so tests never see each other's rows. A database is named after the
//! process that made it, and each process drops the databases of processes that have ended, so
//! repeated runs do not fill the disk.

pub mod fake_pakasir;
pub mod fake_telegram;
pub mod shop;

use std::{path::PathBuf, sync::Mutex, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use tokobot::{
    app::{self, AppHandle},
    config::{Config, LogFormat, UpdateMode},
    crypto::MasterKey,
    db::embedded::{EmbeddedPostgres, Lifetime},
    http::api::auth::{JwtKeys, Role},
    secret::Secret,
};

pub use fake_telegram::{FakeTelegram, callback_update, text_update};

pub const PUBLIC_URL: &str = "https://bots.example.test";
pub const JWT_SECRET: &str = "test-jwt-secret-that-is-long-enough-for-hs256";

/// The shared test cluster, started once per process.
async fn cluster() -> &'static EmbeddedPostgres {
    static CLUSTER: OnceCell<EmbeddedPostgres> = OnceCell::const_new();
    CLUSTER
        .get_or_init(|| async {
            // SAFETY: set before any other thread of this test reads the environment.
            unsafe { std::env::set_var("TOKOBOT_PG_FAST", "1") };
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("postgres");
            let cluster = EmbeddedPostgres::start(&dir, Lifetime::LeaveRunning)
                .await
                .expect("the test cluster starts");
            drop_databases_of_ended_processes(&cluster).await;
            cluster
        })
        .await
}

/// The prefix of every test database: `t_<pid>_`. The pid says whose database it is.
const TEST_DATABASE_PREFIX: &str = "t_";

/// Drops the test databases whose process has ended, whether it passed, failed or panicked.
///
/// nextest runs each test in its own process, so a database can be dropped as soon as its
/// process is gone; a `Drop` on the host cannot do it, because a test that panics or times out
/// never runs it to completion. One process collects at a time (an advisory lock), and a
/// failure only leaves the garbage for the next process.
async fn drop_databases_of_ended_processes(cluster: &EmbeddedPostgres) {
    use sqlx::{Connection, PgConnection};

    let Ok(mut conn) = PgConnection::connect_with(&cluster.connect_options("postgres")).await
    else {
        return;
    };
    // An arbitrary constant naming this collector among advisory locks.
    const COLLECTOR_LOCK: i64 = 0x746f_6b6f_6263;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(COLLECTOR_LOCK)
        .fetch_one(&mut conn)
        .await
        .unwrap_or(false);
    if locked {
        let names: Vec<String> =
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'")
                .fetch_all(&mut conn)
                .await
                .unwrap_or_default();
        for name in names {
            let owner_alive = name
                .strip_prefix(TEST_DATABASE_PREFIX)
                .and_then(|rest| rest.split('_').next())
                .and_then(|pid| pid.parse::<u32>().ok())
                // A name without a pid is from an older layout: nobody is using it any more.
                .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
            if !owner_alive {
                // The name comes from the catalog and matched the prefix; quoting is enough.
                let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
    let _ = conn.close().await;
}

/// A new, empty database; returns its URL (as the schema owner).
pub async fn fresh_database() -> String {
    let cluster = cluster().await;
    let name = format!(
        "{TEST_DATABASE_PREFIX}{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    cluster
        .ensure_database(&name)
        .await
        .expect("the test database is created");
    cluster.url(&name)
}

/// A host under test, with its fake Telegram and an HTTP client.
pub struct TestHost {
    pub app: Option<AppHandle>,
    pub config: Config,
    pub telegram: FakeTelegram,
    /// Every store's Pakasir project is registered here, its webhook pointed at the host.
    pub pakasir: fake_pakasir::FakePakasir,
    /// (project, slug) of the stores created, to re-point their webhooks after a restart.
    pakasir_projects: Mutex<Vec<(String, String)>>,
    pub http: reqwest::Client,
    pub base: String,
}

/// Starts a host in webhook mode on a fresh database and a fresh fake Telegram.
pub async fn spawn_host() -> TestHost {
    spawn_host_in(UpdateMode::Webhook).await
}

pub async fn spawn_host_in(mode: UpdateMode) -> TestHost {
    spawn_host_on(mode, fresh_database().await).await
}

/// Starts a webhook-mode host whose configuration `adjust` changes first.
pub async fn spawn_host_with(adjust: impl FnOnce(&mut Config)) -> TestHost {
    launch(UpdateMode::Webhook, fresh_database().await, adjust).await
}

/// Starts a host in `mode` whose configuration `adjust` changes first.
pub async fn spawn_host_in_with(mode: UpdateMode, adjust: impl FnOnce(&mut Config)) -> TestHost {
    launch(mode, fresh_database().await, adjust).await
}

/// Starts a host on the database at `database_url`.
pub async fn spawn_host_on(mode: UpdateMode, database_url: String) -> TestHost {
    launch(mode, database_url, |_| {}).await
}

async fn launch(
    mode: UpdateMode,
    database_url: String,
    adjust: impl FnOnce(&mut Config),
) -> TestHost {
    // The test harness shows a test's output only when it fails, which is when logs help.
    tokobot::telemetry::init_logging(LogFormat::Pretty);
    let telegram = FakeTelegram::start().await;
    let pakasir = fake_pakasir::FakePakasir::start().await;
    let mut config = test_config(mode, database_url, &telegram);
    config.pakasir_api_url = pakasir.url();
    adjust(&mut config);
    let mut host = TestHost {
        app: None,
        config,
        telegram,
        pakasir,
        pakasir_projects: Mutex::new(Vec::new()),
        http: reqwest::Client::new(),
        base: String::new(),
    };
    host.start().await;
    host
}

/// The master key every test host seals with, as `TOKOBOT_MASTER_KEY` would carry it.
pub fn master_key_base64() -> String {
    BASE64.encode([42u8; 32])
}

pub fn test_config(mode: UpdateMode, database_url: String, telegram: &FakeTelegram) -> Config {
    Config {
        database_url: Some(Secret::new(database_url)),
        app_database_url: None,
        data_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("data"),
        bind: "127.0.0.1:0".parse().unwrap(),
        public_url: (mode == UpdateMode::Webhook).then(|| PUBLIC_URL.to_owned()),
        update_mode: mode,
        master_keys: vec![MasterKey::from_base64(&master_key_base64()).unwrap()],
        jwt_secret: Secret::new(JWT_SECRET.as_bytes().to_vec()),
        telegram_api_url: telegram.url(),
        pakasir_api_url: "http://127.0.0.1:9".into(),
        log_format: LogFormat::Pretty,
        // Tests click faster than any customer; the anti-spam test sets the real limits.
        antispam: tokobot::bot::antispam::Limits {
            burst: 1_000,
            per_second: 1_000,
            ..Default::default()
        },
        access: Default::default(),
        capacity: Default::default(),
        // Tests take their backups explicitly.
        alerts: Default::default(),
        backup: tokobot::ops::backup::Schedule {
            every: None,
            ..tokobot::ops::backup::Schedule::default_for(&PathBuf::from(env!(
                "CARGO_TARGET_TMPDIR"
            )))
        },
    }
}

impl TestHost {
    /// Starts the host (again) on the same database and fakes.
    pub async fn start(&mut self) {
        let app = app::start(self.config.clone())
            .await
            .expect("the host starts");
        self.base = format!("http://{}", app.addr);
        self.app = Some(app);
        let projects = self.pakasir_projects.lock().unwrap().clone();
        for (project, slug) in projects {
            self.pakasir
                .set_webhook_url(&project, &self.pakasir_webhook_url(&slug));
        }
        self.wait_ready().await;
    }

    /// The host's `/metrics` page (the tests' hosts leave it public on the main address).
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("the metrics page answers")
            .text()
            .await
            .expect("the metrics page is text")
    }

    /// The URL Pakasir posts a store's payments to.
    pub fn pakasir_webhook_url(&self, slug: &str) -> String {
        format!("{}/webhooks/pakasir/{slug}", self.base)
    }

    /// Stops the host, as a deployment or a crash would; `start` brings it back.
    pub async fn stop(&mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
    }

    /// Stops the host and starts a new one on the same database and fake Telegram.
    pub async fn restart(&mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
        self.start().await;
    }

    async fn wait_ready(&self) {
        for _ in 0..250 {
            if let Ok(response) = self.http.get(format!("{}/readyz", self.base)).send().await
                && response.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the host did not become ready");
    }

    pub fn operator_token(&self) -> String {
        self.jwt()
            .issue("tests", Role::Operator, None, Duration::from_secs(600))
            .unwrap()
    }

    /// An owner token for the store that has the slug `slug` now.
    pub async fn owner_token(&self, slug: &str) -> String {
        let id: uuid::Uuid = sqlx::query_scalar("select id from tenants where slug = $1")
            .bind(slug)
            .fetch_one(self.db().registry())
            .await
            .expect("the store exists");
        self.jwt()
            .issue(
                "owner",
                Role::Owner,
                Some((slug, tokobot::db::TenantId(id))),
                Duration::from_secs(600),
            )
            .unwrap()
    }

    fn jwt(&self) -> JwtKeys {
        JwtKeys::new(JWT_SECRET.as_bytes(), self.config.access.token_max_ttl)
    }

    /// Calls the API; returns the status and the JSON body (`Null` when empty).
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sends each body to `path` and checks that it is refused with 422 naming its field.
    pub async fn assert_invalid_fields(
        &self,
        method: Method,
        path: &str,
        token: &str,
        cases: impl IntoIterator<Item = (Value, &str)>,
    ) {
        for (body, field) in cases {
            let (status, error) = self
                .api(method.clone(), path, Some(token), Some(body.clone()))
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
            assert_eq!(error["error"]["fields"][0]["field"], field, "{body}");
        }
    }

    pub async fn operator(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = self.operator_token();
        self.api(method, path, Some(&token), body).await
    }

    /// Registers a bot with the fake Telegram and creates a store for it through the API.
    pub async fn create_store(&self, slug: &str, bot_id: u32, extra: Value) -> Value {
        let token = bot_token(bot_id);
        self.telegram
            .add_bot(&token, &format!("{}_bot", slug.replace('-', "_")));
        let mut body = store_body(slug, &token);
        merge(&mut body, extra);
        let project = body["pakasir"]["project"].as_str().unwrap_or_default();
        let api_key = body["pakasir"]["api_key"].as_str().unwrap_or_default();
        self.pakasir.add_project(project, api_key);
        self.pakasir
            .set_webhook_url(project, &self.pakasir_webhook_url(slug));
        self.pakasir_projects
            .lock()
            .unwrap()
            .push((project.to_owned(), slug.to_owned()));
        let (status, created) = self
            .operator(Method::POST, "/api/v1/tenants", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "creating {slug}: {created}");
        created
    }

    /// The secret Telegram would echo for `bot_id`'s webhook, as registered with the fake.
    pub fn webhook_secret(&self, bot_id: u32) -> String {
        self.telegram
            .webhook(&bot_token(bot_id))
            .and_then(|w| w.secret_token)
            .expect("the store registered a webhook with a secret")
    }

    /// Delivers an update to a store's webhook route as Telegram would.
    pub async fn deliver(&self, slug: &str, secret: Option<&str>, update: &Value) -> StatusCode {
        let mut request = self
            .http
            .post(format!("{}/webhooks/telegram/{slug}", self.base))
            .json(update);
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        request.send().await.expect("the webhook answers").status()
    }

    /// Texts the store's bot sent to `chat`, waiting until at least `count` have arrived.
    pub async fn wait_texts(&self, bot_id: u32, chat: i64, count: usize) -> Vec<String> {
        let token = bot_token(bot_id);
        let telegram = self.telegram.clone();
        self.telegram
            .wait_for(
                &format!("{count} message(s) from bot {bot_id} to chat {chat}"),
                |_| telegram.sent_texts(&token, chat).len() >= count,
            )
            .await;
        self.telegram.sent_texts(&token, chat)
    }

    /// Texts sent so far, after giving stray messages a moment to arrive.
    pub async fn settled_texts(&self, bot_id: u32, chat: i64) -> Vec<String> {
        self.telegram.settle().await;
        self.telegram.sent_texts(&bot_token(bot_id), chat)
    }

    pub fn db(&self) -> &tokobot::db::Db {
        self.app.as_ref().expect("the host runs").host.db()
    }
}

/// A realistic BotFather token for a bot id.
/// The path of a store operation of the API: `rest` under `/api/v1/tenants/{slug}/`.
pub fn store_path(slug: &str, rest: &str) -> String {
    format!("/api/v1/tenants/{slug}/{rest}")
}

pub fn bot_token(bot_id: u32) -> String {
    format!("{bot_id}:AAH{bot_id:0>10}xyzXYZ0123456789abcdefABCD")
}

/// A valid create-store body.
pub fn store_body(slug: &str, token: &str) -> Value {
    json!({
        "slug": slug,
        "display_name": format!("Toko {slug}"),
        "bot_token": token,
        "pakasir": { "project": format!("proj-{slug}"), "api_key": "pk_test_0123456789abcdef" },
        "owner_telegram_id": 777000,
    })
}

/// Merges the keys of `extra` into `body`.
pub fn merge(body: &mut Value, extra: Value) {
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
}

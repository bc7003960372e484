//! A load benchmark of the host (SPEC §5), run with `cargo run --release --example bench`.
//!
//! It starts a host in webhook mode on a private PostgreSQL cluster, with the test suite's
//! fake Telegram as the Bot API, creates a few hundred stores with a small catalog each, and
//! then measures:
//! - browse updates (`/start`, the product menu, category and product pages) delivered to the
//!   webhook by many concurrent clients: webhook answer latency (p50, p99) and how many
//!   updates per second the stores answered;
//! - the resident memory of the host process per idle store.
//!
//! It prints numbers; it asserts nothing. Sizes can be changed with `BENCH_STORES`,
//! `BENCH_UPDATES` and `BENCH_CLIENTS`.

#[path = "../tests/it/support/fake_telegram.rs"]
mod fake_telegram;

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use fake_telegram::{FakeTelegram, callback_update, text_update};
use serde_json::json;
use tokio::sync::Semaphore;
use tokobot::{
    app,
    bot::callbacks::Callback,
    config::{Config, LogFormat, UpdateMode},
    crypto::MasterKey,
    db::embedded::{EmbeddedPostgres, Lifetime},
    http::api::auth::{JwtKeys, Role},
    secret::Secret,
};

const JWT: &str = "bench-jwt-secret-that-is-long-enough-for-hs256";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tokobot::telemetry::init_logging(LogFormat::Pretty);
    let stores = env_or("BENCH_STORES", 300);
    let updates = env_or("BENCH_UPDATES", 30_000);
    let clients = env_or("BENCH_CLIENTS", 64);

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-postgres");
    // The cluster keeps PostgreSQL's durable defaults (fsync, synchronous commit), as in
    // production; the test suite's TOKOBOT_PG_FAST would flatter every commit.
    let cluster = EmbeddedPostgres::start(&dir, Lifetime::StopOnDrop).await?;
    let database = format!("bench_{}", std::process::id());
    cluster.ensure_database(&database).await?;
    let url = cluster.url(&database);
    let telegram = FakeTelegram::start().await;
    let config = Config {
        database_url: Some(Secret::new(url)),
        app_database_url: None,
        data_dir: dir.join("data"),
        bind: "127.0.0.1:0".parse()?,
        public_url: Some("https://bench.example".into()),
        update_mode: UpdateMode::Webhook,
        master_keys: vec![MasterKey::from_base64(&BASE64.encode([9u8; 32]))?],
        jwt_secret: Secret::new(JWT.as_bytes().to_vec()),
        telegram_api_url: telegram.url(),
        pakasir_api_url: "http://127.0.0.1:9".into(),
        log_format: LogFormat::Pretty,
        antispam: tokobot::bot::antispam::Limits {
            burst: 1_000,
            per_second: 1_000,
            ..Default::default()
        },
        access: Default::default(),
        capacity: Default::default(),
        alerts: Default::default(),
        backup: tokobot::ops::backup::Schedule {
            every: None,
            ..tokobot::ops::backup::Schedule::default_for(&dir)
        },
    };
    let rss_before = rss_kib();
    let host = app::start(config).await?;
    let base = format!("http://{}", host.addr);
    let http = reqwest::Client::new();
    let token = JwtKeys::new(JWT.as_bytes(), Duration::from_secs(3600)).issue(
        "bench",
        Role::Operator,
        None,
        Duration::from_secs(3600),
    )?;

    println!("creating {stores} stores ...");
    let started = Instant::now();
    let mut secrets = Vec::with_capacity(stores);
    for i in 0..stores {
        let slug = format!("bench-{i:04}");
        let bot_token = format!("{}:AAH{:0>10}xyzXYZ0123456789abcdefABCD", 10_000 + i, i);
        telegram.add_bot(&bot_token, &format!("bench_{i}_bot"));
        let body = json!({
            "slug": slug, "display_name": format!("Bench {i}"), "bot_token": bot_token,
            "pakasir": {"project": format!("p{i}"), "api_key": "pk_bench_0123456789"},
            "owner_telegram_id": 1,
        });
        let created = http
            .post(format!("{base}/api/v1/tenants"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            created.status().is_success(),
            "store {i}: {}",
            created.text().await?
        );
        let catalog = json!({"version": 1,
            "categories": [{"name": "Voucher"}],
            "products": (0..6).map(|p| json!({"code": format!("P{p}"), "name": format!("Produk {p}"),
                "price": 10_000 + p * 1_000, "category": "Voucher", "stock": [format!("code-{i}-{p}")]})).collect::<Vec<_>>()});
        http.put(format!("{base}/api/v1/tenants/{slug}/catalog"))
            .bearer_auth(&token)
            .json(&catalog)
            .send()
            .await?;
        let secret = telegram
            .webhook(&bot_token)
            .and_then(|w| w.secret_token)
            .unwrap_or_default();
        secrets.push((slug, secret));
    }
    let rss_stores = rss_kib();
    println!(
        "{stores} stores ready in {:.1} s; RSS {:.1} MiB before, {:.1} MiB with the stores ({:.1} KiB per store, fake Telegram included)",
        started.elapsed().as_secs_f64(),
        rss_before as f64 / 1024.0,
        rss_stores as f64 / 1024.0,
        (rss_stores.saturating_sub(rss_before)) as f64 / stores as f64
    );

    let secrets = Arc::new(secrets);
    let limit = Arc::new(Semaphore::new(clients));
    let sent_before = telegram.request_count();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(updates);
    for n in 0..updates {
        let permit = Arc::clone(&limit).acquire_owned().await?;
        let (http, base, secrets) = (http.clone(), base.clone(), Arc::clone(&secrets));
        tasks.push(tokio::spawn(async move {
            let (slug, secret) = &secrets[n % secrets.len()];
            // A crowd of twenty customers per store, each browsing again and again: the first
            // contact records the customer, later ones are served from memory.
            let user = 100_000 + ((n / secrets.len()) % 20) as i64;
            let update = match n % 4 {
                0 => text_update(n as i64 + 1, user, "/start"),
                1 => text_update(n as i64 + 1, user, "🛍 Semua Produk"),
                2 => callback_update(
                    n as i64 + 1,
                    user,
                    5,
                    &Callback::Category { id: None, page: 0 }.to_string(),
                ),
                _ => callback_update(n as i64 + 1, user, 5, &Callback::Categories.to_string()),
            };
            let t = Instant::now();
            let status = http
                .post(format!("{base}/webhooks/telegram/{slug}"))
                .header("X-Telegram-Bot-Api-Secret-Token", secret)
                .json(&update)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            drop(permit);
            (t.elapsed(), status)
        }));
    }
    let mut latencies = Vec::with_capacity(updates);
    let mut failed = std::collections::BTreeMap::new();
    for task in tasks {
        let (latency, status) = task.await?;
        if status != 200 {
            *failed.entry(status).or_insert(0) += 1;
        }
        latencies.push(latency);
    }
    let accepted_in = started.elapsed();
    // Every browse update is answered by exactly one Bot API call (a message, or an edit and
    // the button's answer for presses): wait until the replies stop coming.
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = telegram.request_count();
        if now == last {
            break;
        }
        last = now;
    }
    let answered_in = started.elapsed().saturating_sub(Duration::from_millis(500));
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{updates} browse updates from {clients} concurrent clients: accepted in {:.2} s ({:.0}/s), not 200: {failed:?}; webhook answer p50 {:.2} ms, p99 {:.2} ms",
        accepted_in.as_secs_f64(),
        updates as f64 / accepted_in.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
    println!(
        "all answered in {:.2} s: {:.0} updates/s handled; {} Bot API calls made",
        answered_in.as_secs_f64(),
        updates as f64 / answered_in.as_secs_f64(),
        last - sent_before
    );
    host.shutdown().await;
    drop(cluster);
    Ok(())
}

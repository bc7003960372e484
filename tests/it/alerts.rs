//! Operator alerts: a failed scheduled backup reaches the operators' chat and webhook, without
//! a secret in the text; the database going away and coming back is told once each way, and a
//! blip shorter than the debounce is told to nobody; a store whose updates keep failing is told
//! to the operators and to its owner, and so is its recovery; a revoked bot token reaches the
//! operators once, and the store's staff once through their bot when it runs again with a new
//! token.

use std::{
    str::FromStr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, extract::State, routing::post};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, postgres::PgConnectOptions};
use tokobot::secret::Secret;

use crate::support::{
    TestHost, bot_token, fake_telegram::Failure, master_key_base64, spawn_host_with, text_update,
};

/// A tiny HTTP sink that keeps every JSON body posted to `/alerts`.
async fn sink() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route(
            "/alerts",
            post(
                |State(store): State<Arc<Mutex<Vec<Value>>>>, Json(body): Json<Value>| async move {
                    store.lock().unwrap().push(body);
                },
            ),
        )
        .with_state(Arc::clone(&received));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (format!("http://{addr}/alerts"), received)
}

#[tokio::test]
async fn a_failed_scheduled_backup_alerts_the_operators_chat_and_webhook() {
    let (url, received) = sink().await;
    let dir = tempfile::tempdir().unwrap();
    // A file where the backup dir should be: every backup fails.
    let blocked = dir.path().join("backups");
    std::fs::write(&blocked, b"not a dir").unwrap();
    let operator = bot_token(5401);
    let mut host = spawn_host_with(|config| {
        config.backup.dir = blocked.clone();
        config.backup.every = Some(Duration::from_secs(3600));
        config.alerts.webhook_url = Some(url.clone());
        config.alerts.telegram = Some((Secret::new(operator.clone()), -100_777));
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no alert reached the webhook"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let alert = received.lock().unwrap()[0].clone();
    assert_eq!(alert["condition"], "backup_failed", "{alert}");
    assert_eq!(alert["status"], "firing", "{alert}");
    assert!(
        alert["text"].as_str().unwrap().contains("backup"),
        "{alert}"
    );

    // The operators' bot exists from now on; the next start's backup fails again and tells
    // the chat too.
    host.telegram.add_bot(&operator, "ops_bot");
    host.restart().await;
    let texts = host.telegram.clone();
    host.telegram
        .wait_for("the operators' chat alert", |_| {
            !texts.sent_texts(&operator, -100_777).is_empty()
        })
        .await;
    let text = host.telegram.sent_texts(&operator, -100_777).remove(0);
    assert!(
        text.contains("scheduled backup") && text.contains("failed"),
        "{text}"
    );
    for secret in [master_key_base64(), operator.clone()] {
        assert!(!text.contains(&secret) && !alert.to_string().contains(&secret));
    }
}

type Received = Arc<Mutex<Vec<Value>>>;

/// Waits until an alert of `condition` with `status` reached the webhook; returns it.
async fn alert_of(received: &Received, condition: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found = received
            .lock()
            .unwrap()
            .iter()
            .find(|a| a["condition"] == condition && a["status"] == status)
            .cloned();
        if let Some(alert) = found {
            return alert;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {condition}/{status} alert; got {:?}",
            received.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn count(received: &Received, condition: &str, status: &str) -> usize {
    received
        .lock()
        .unwrap()
        .iter()
        .filter(|a| a["condition"] == condition && a["status"] == status)
        .count()
}

/// A host whose alerts go to a fresh webhook sink and whose watch looks often.
async fn watched_host(store_errors: u64) -> (TestHost, Received) {
    let (url, received) = sink().await;
    let host = spawn_host_with(|config| {
        config.alerts.webhook_url = Some(url);
        config.alerts.debounce = Duration::from_secs(1);
        config.alerts.check_every = Duration::from_millis(100);
        config.alerts.store_errors = store_errors;
        config.alerts.store_window = Duration::from_secs(5);
    })
    .await;
    (host, received)
}

#[tokio::test]
async fn the_database_going_away_and_back_is_told_once_each_way_without_a_storm() {
    let (host, received) = watched_host(1).await;
    host.create_store("toko-db", 5411, json!({})).await;
    let url = host.config.database_url.clone().unwrap().expose().clone();
    let options = PgConnectOptions::from_str(&url).unwrap();
    let name = options.get_database().unwrap().to_owned();
    // From the cluster's maintenance database, the host's database stops taking connections
    // and loses those it had: it is down for the host, and only for this host.
    let mut admin = PgConnection::connect_with(&options.database("postgres"))
        .await
        .unwrap();
    sqlx::query(&format!(
        r#"alter database "{name}" allow_connections false"#
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1")
        .bind(&name)
        .execute(&mut admin)
        .await
        .unwrap();
    let down = alert_of(&received, "database_unreachable", "firing").await;
    assert!(
        down["text"].as_str().unwrap().contains("unreachable"),
        "{down}"
    );

    sqlx::query(&format!(
        r#"alter database "{name}" allow_connections true"#
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    alert_of(&received, "database_unreachable", "resolved").await;
    // A while after: one alert each way and nothing else, although every store's work failed
    // while the database was away.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = received.lock().unwrap().clone();
    assert_eq!(all.len(), 2, "{all:?}");
}

/// Waits until `/readyz` answers `want`.
async fn ready_is(host: &TestHost, want: StatusCode) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = host.api(Method::GET, "/readyz", None, None).await;
        if status == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz still answers {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_database_blip_shorter_than_the_debounce_alerts_nobody() {
    let (url, received) = sink().await;
    let host = spawn_host_with(|config| {
        config.alerts.webhook_url = Some(url);
        config.alerts.debounce = Duration::from_secs(8);
        config.alerts.check_every = Duration::from_millis(100);
        // One failed update would make a store "failing": the blip must not count as that.
        config.alerts.store_errors = 1;
        config.alerts.store_window = Duration::from_secs(5);
    })
    .await;
    host.create_store("toko-kedip", 5415, json!({})).await;
    let secret = host.webhook_secret(5415);
    let url = host.config.database_url.clone().unwrap().expose().clone();
    let options = PgConnectOptions::from_str(&url).unwrap();
    let name = options.get_database().unwrap().to_owned();
    let mut admin = PgConnection::connect_with(&options.database("postgres"))
        .await
        .unwrap();
    let allow = |allowed: bool| format!(r#"alter database "{name}" allow_connections {allowed}"#);
    let started = tokio::time::Instant::now();
    sqlx::query(&allow(false))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1")
        .bind(&name)
        .execute(&mut admin)
        .await
        .unwrap();
    // The host saw the database go: it is not ready, and a customer's update meets the outage.
    ready_is(&host, StatusCode::SERVICE_UNAVAILABLE).await;
    host.deliver(
        "toko-kedip",
        Some(&secret),
        &text_update(1, 62_501, "/start"),
    )
    .await;
    sqlx::query(&allow(true)).execute(&mut admin).await.unwrap();
    ready_is(&host, StatusCode::OK).await;
    let blip = started.elapsed();
    assert!(blip < Duration::from_secs(8), "the blip lasted {blip:?}");
    // The store answers again, and a while later (many looks of the watch) nobody was told of
    // anything: neither the database nor the store.
    host.deliver(
        "toko-kedip",
        Some(&secret),
        &text_update(2, 62_502, "/start"),
    )
    .await;
    host.wait_texts(5415, 62_502, 1).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let all = received.lock().unwrap().clone();
    assert!(all.is_empty(), "{all:?}");
}

#[tokio::test]
async fn a_store_whose_updates_keep_failing_is_told_to_operators_and_owner_and_so_is_its_recovery()
{
    let (host, received) = watched_host(3).await;
    host.create_store("toko-gagal", 5412, json!({})).await;
    let secret = host.webhook_secret(5412);
    let token = bot_token(5412);
    // Every answer to the customer fails for good, three times.
    host.telegram
        .fail_next(&token, "sendMessage", Failure::BadRequest, 3);
    for update in 1..=3 {
        let status = host
            .deliver(
                "toko-gagal",
                Some(&secret),
                &text_update(update, 62_301, "/start"),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK);
    }
    let alert = alert_of(&received, "store_failing", "firing").await;
    assert!(
        alert["text"].as_str().unwrap().contains("toko-gagal"),
        "{alert}"
    );
    // The owner hears it from their own bot, in the store's language.
    let owner = 777_000;
    let texts = host.telegram.clone();
    host.telegram
        .wait_for("the owner's notice", |_| {
            texts
                .sent_texts(&token, owner)
                .iter()
                .any(|t| t.contains("bermasalah"))
        })
        .await;

    // A whole window without a failure: recovered, once, to both.
    alert_of(&received, "store_failing", "resolved").await;
    host.telegram
        .wait_for("the owner's all-clear", |_| {
            texts
                .sent_texts(&token, owner)
                .iter()
                .any(|t| t.contains("normal lagi"))
        })
        .await;
    assert_eq!(count(&received, "store_failing", "firing"), 1);
}

/// How many texts of `chat` under `token` contain `needle`.
fn texts_with(host: &TestHost, token: &str, chat: i64, needle: &str) -> usize {
    host.telegram
        .sent_texts(token, chat)
        .iter()
        .filter(|t| t.contains(needle))
        .count()
}

#[tokio::test]
async fn a_revoked_bot_token_alerts_the_operators_once_and_its_staff_once_the_new_token_runs() {
    let (mut host, received) = watched_host(100).await;
    let (owner, admin) = (777_000, 62_499);
    host.create_store("toko-dicabut", 5413, json!({"admin_telegram_ids": [admin]}))
        .await;
    let secret = host.webhook_secret(5413);
    let old_token = bot_token(5413);
    host.telegram.remove_bot(&old_token);
    // The next answer meets the revoked token; the store stops.
    host.deliver(
        "toko-dicabut",
        Some(&secret),
        &text_update(1, 62_401, "/start"),
    )
    .await;
    let alert = alert_of(&received, "bot_token_rejected", "firing").await;
    let text = alert["text"].as_str().unwrap();
    assert!(text.contains("toko-dicabut"), "{alert}");
    assert!(!text.contains(&old_token), "no secret in an alert: {alert}");

    // The owner sees the refusal through the API, and since when.
    let owner_token = host.owner_token("toko-dicabut").await;
    let (status, view) = host
        .api(
            Method::GET,
            "/api/v1/tenants/toko-dicabut",
            Some(&owner_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        view["bot_error"], "Telegram rejected the bot token",
        "{view}"
    );
    assert!(view["bot_error_since"].is_string(), "{view}");

    // Many later looks, and a restart that forgets what the watch saw, alert nobody again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    host.restart().await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(count(&received, "bot_token_rejected", "firing"), 1);

    // The owner rotates to a new token of the same bot: the staff hear of the refusal from it,
    // once each, and the operators of the recovery.
    let new_token = "5413:AAHnewnewnew0xyzXYZ0123456789abcdefABCD";
    host.telegram.add_bot(new_token, "toko_dicabut_bot");
    let (status, view) = host
        .operator(
            Method::PUT,
            "/api/v1/tenants/toko-dicabut/secrets",
            Some(json!({"bot_token": new_token})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert!(
        view["bot_error"].is_null() && view["bot_error_since"].is_null(),
        "{view}"
    );
    let recovered = alert_of(&received, "bot_token_rejected", "resolved").await;
    assert!(
        recovered["text"].as_str().unwrap().contains("toko-dicabut"),
        "{recovered}"
    );
    let notice = "Token baru sudah aktif";
    host.telegram
        .wait_for("the staff's notices", |_| {
            texts_with(&host, new_token, owner, notice) == 1
                && texts_with(&host, new_token, admin, notice) == 1
        })
        .await;
    let text = host
        .telegram
        .sent_texts(new_token, owner)
        .into_iter()
        .find(|t| t.contains(notice))
        .unwrap();
    assert!(
        text.contains("Telegram menolak token bot toko ini sejak") && text.contains("WIB"),
        "{text}"
    );
    // Outbox passes and looks go on: nothing is told twice.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(texts_with(&host, new_token, owner, notice), 1);
    assert_eq!(texts_with(&host, new_token, admin, notice), 1);
    assert_eq!(count(&received, "bot_token_rejected", "firing"), 1);
    assert_eq!(count(&received, "bot_token_rejected", "resolved"), 1);
}

//! Running the host: the runtime role check, logs without secrets, the tenants file, and a
//! database that goes away and comes back.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokobot::{
    config::UpdateMode,
    db::embedded::{EmbeddedPostgres, Lifetime},
    secret::Secret,
};

use crate::support::{
    FakeTelegram, JWT_SECRET, PUBLIC_URL, bot_token, fresh_database, master_key_base64, spawn_host,
    spawn_host_on, test_config, text_update,
};

#[tokio::test]
async fn the_host_refuses_a_runtime_role_that_can_bypass_row_level_security() {
    let telegram = FakeTelegram::start().await;
    let database_url = fresh_database().await;
    let mut config = test_config(UpdateMode::Webhook, database_url.clone(), &telegram);
    // The test cluster's owner is a superuser: using it as the runtime role must be refused.
    config.app_database_url = Some(Secret::new(database_url));

    let error = tokobot::app::start(config)
        .await
        .err()
        .expect("the host must not start");

    let message = format!("{error:#}");
    assert!(
        message.contains("can bypass row-level security"),
        "{message}"
    );
}

/// A log sink shared with the subscriber installed for one test process.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_appear_in_no_log_line() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || sink.clone())
        .finish();
    // This test's runtime runs every task of the host on this thread, so a thread-local
    // default sees all of its logs without touching the process-wide subscriber.
    let _capture = tracing::subscriber::set_default(subscriber);
    let host = spawn_host().await;

    host.create_store("toko-log", 2101, json!({})).await;
    let secret = host.webhook_secret(2101);
    host.deliver("toko-log", Some(&secret), &text_update(1, 3001, "/start"))
        .await;
    host.deliver("toko-log", Some("wrong"), &text_update(2, 3001, "/start"))
        .await;
    host.wait_texts(2101, 3001, 1).await;
    host.telegram.add_bot(&bot_token(2102), "toko_log_2_bot");
    let (status, _) = host
        .operator(
            Method::PUT,
            "/api/v1/tenants/toko-log/secrets",
            Some(json!({"bot_token": bot_token(2102), "pakasir": {"project": "p-rahasia", "api_key": "pk_rotated_secret_9"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    host.telegram.settle().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("store created"), "logs were captured: {logs}");
    for needle in [
        bot_token(2101).as_str(),
        bot_token(2102).as_str(),
        &bot_token(2101)[5..],
        secret.as_str(),
        "pk_test_0123456789abcdef",
        "pk_rotated_secret_9",
    ] {
        assert!(!logs.contains(needle), "a secret ({needle}) is in the logs");
    }
}

#[tokio::test]
async fn tenants_apply_creates_then_updates_idempotently_and_running_hosts_follow() {
    let host = spawn_host().await;
    host.telegram.add_bot(&bot_token(2201), "file_bot");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenants.toml");
    let write = |name: &str| {
        std::fs::write(
            &file,
            format!(
                "[[tenant]]\nslug = \"toko-file\"\ndisplay_name = \"{name}\"\nbot_token = \"${{FILE_BOT_TOKEN}}\"\n\
                 owner_telegram_id = 4242\n[tenant.pakasir]\nproject = \"proj-file\"\napi_key = \"pk_file_012345\"\n"
            ),
        )
        .unwrap();
    };
    let apply = async || {
        // Asynchronously: the fake Telegram answers on this test's own runtime.
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tokobot"))
            .args(["tenants", "apply"])
            .arg(&file)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "DATABASE_URL",
                host.config.database_url.as_ref().unwrap().expose(),
            )
            .env("TOKOBOT_MASTER_KEY", master_key_base64())
            .env("TOKOBOT_JWT_SECRET", JWT_SECRET)
            .env("TOKOBOT_PUBLIC_URL", PUBLIC_URL)
            .env("TOKOBOT_TELEGRAM_API_URL", host.telegram.url())
            .env("FILE_BOT_TOKEN", bot_token(2201))
            .output()
            .await
            .expect("tokobot runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };

    write("Toko Dari Berkas");
    assert_eq!(apply().await.trim(), "created   toko-file");
    assert_eq!(apply().await.trim(), "unchanged toko-file");

    // The running host heard of the new store and runs its bot.
    let secret = wait_for_webhook(&host.telegram, 2201).await;
    host.deliver("toko-file", Some(&secret), &text_update(1, 3101, "/start"))
        .await;
    let texts = host.wait_texts(2201, 3101, 1).await;
    assert!(texts[0].contains("Toko Dari Berkas"), "{texts:?}");

    write("Toko Berkas Baru");
    assert_eq!(apply().await.trim(), "updated   toko-file");
    let mut latest = String::new();
    for id in 2..200 {
        host.deliver("toko-file", Some(&secret), &text_update(id, 3101, "/start"))
            .await;
        let texts = host.wait_texts(2201, 3101, id as usize).await;
        latest = texts.last().unwrap().clone();
        if latest.contains("Toko Berkas Baru") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        latest.contains("Toko Berkas Baru"),
        "the host follows the file: {latest}"
    );
}

async fn wait_for_webhook(telegram: &FakeTelegram, bot_id: u32) -> String {
    for _ in 0..250 {
        if let Some(secret) = telegram
            .webhook(&bot_token(bot_id))
            .and_then(|w| w.secret_token)
        {
            return secret;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the host never registered bot {bot_id}'s webhook");
}

#[tokio::test]
async fn while_the_database_is_down_webhooks_get_503_and_the_host_recovers_by_itself() {
    // This test stops its database, so it gets a private cluster rather than the shared one.
    let dir = tempfile::tempdir().unwrap();
    let cluster_dir = dir.path().join("pg");
    let mut cluster = EmbeddedPostgres::start(&cluster_dir, Lifetime::StopOnDrop)
        .await
        .unwrap();
    cluster.ensure_database("tokobot").await.unwrap();
    let url = cluster.url("tokobot");
    let host = spawn_host_on(UpdateMode::Webhook, url).await;
    host.create_store("toko-tahan-banting", 2301, json!({}))
        .await;
    let secret = host.webhook_secret(2301);

    cluster.stop().unwrap();

    let mut status = StatusCode::OK;
    for id in 1..300 {
        status = host
            .deliver(
                "toko-tahan-banting",
                Some(&secret),
                &text_update(id, 3300 + id, "/start"),
            )
            .await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (ready, _) = host.api(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready, StatusCode::SERVICE_UNAVAILABLE);
    host.telegram.clear();

    let _cluster = EmbeddedPostgres::start(&cluster_dir, Lifetime::StopOnDrop)
        .await
        .unwrap();

    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..300 {
        status = host
            .deliver(
                "toko-tahan-banting",
                Some(&secret),
                &text_update(1000, 3201, "/start"),
            )
            .await;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, StatusCode::OK, "the host accepts updates again");
    let texts = host.wait_texts(2301, 3201, 1).await;
    assert!(texts[0].contains("Selamat datang"), "{texts:?}");
    let (ready, _) = host.api(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready, StatusCode::OK);
}

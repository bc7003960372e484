//! A host of many idle stores: how long a restart takes to have them all ready, and what they
//! cost in memory. A measurement rather than a check of behaviour, so it is ignored by default:
//! `TOKOBOT_IDLE_STORES=10000 cargo nextest run --run-ignored only -E 'test(/idle_stores/)' --no-capture`.

use std::time::Instant;

use serde_json::json;
use tokobot::{
    secret::Secret,
    tenants::{
        model::{Profile, TenantSecrets},
        repo,
    },
};

use crate::support::{bot_token, spawn_host};

/// The process's resident memory in MiB, from `/proc/self/status`.
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024)
}

#[tokio::test]
#[ignore = "a measurement: run it by hand with TOKOBOT_IDLE_STORES"]
async fn idle_stores_are_ready_soon_after_a_restart() {
    let stores: u32 = std::env::var("TOKOBOT_IDLE_STORES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let mut host = spawn_host().await;
    // One store made through the API lends its profile to the others, which are written
    // straight into the registry: as if each had been created and started once before.
    host.create_store("toko-contoh", 900_000, json!({})).await;
    let running = &host.app.as_ref().expect("the host runs").host;
    let template = repo::by_slug(host.db().registry(), "toko-contoh")
        .await
        .unwrap()
        .unwrap();
    let profile = Profile::of(&template);
    let mut conn = host.db().registry().acquire().await.unwrap();
    for n in 0..stores {
        let bot = 1_000_000 + n;
        let slug = format!("toko-diam-{n}");
        let secrets = TenantSecrets {
            bot_token: Secret::new(bot_token(bot)),
            pakasir_project: Secret::new(format!("proj-{slug}")),
            pakasir_api_key: Secret::new("pk_test_0123456789abcdef".into()),
            webhook_secret: Secret::new(format!("secret-{bot:0>24}")),
        };
        let username = format!("toko_{bot}_bot");
        let tenant = repo::insert(
            &mut conn,
            running.sealer(),
            &slug,
            &profile,
            (i64::from(bot), &username),
            &secrets,
        )
        .await
        .unwrap();
        let url = host.config.telegram_webhook_url(&slug);
        repo::record_webhook(&mut *conn, tenant.id, url.as_deref())
            .await
            .unwrap();
    }
    drop(conn);
    host.stop().await;
    host.telegram.clear();

    let before = rss_mib();
    let started = Instant::now();
    let app = tokobot::app::start(host.config.clone())
        .await
        .expect("the host starts");
    while !app.host.is_started() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let ready = started.elapsed();
    let after = rss_mib();
    host.app = Some(app);
    let running = &host.app.as_ref().expect("the host runs").host;
    eprintln!(
        "{} stores running, ready in {ready:?}; test process RSS {before} MiB before the start, {after} MiB after; {} Bot API calls",
        running.running_stores().len(),
        host.telegram.request_count()
    );
    assert_eq!(running.running_stores().len(), stores as usize + 1);
    assert_eq!(host.telegram.request_count(), 0, "no call per store");
}

//! A database outage in the middle of a broadcast (issue 8): sending pauses, nothing is sent
//! twice, and the broadcast resumes by itself when the database is back.

use std::{collections::HashMap, time::Duration};

use serde_json::json;
use tokio::time::Instant;
use tokobot::{
    config::UpdateMode,
    db::embedded::{EmbeddedPostgres, Lifetime},
};

use crate::{
    broadcast::{add_customers, deliveries, start_broadcast, wait_finished},
    support::{shop::Shop, spawn_host_on},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_database_outage_pauses_a_broadcast_which_resumes_without_duplicates() {
    // This test stops its database, so it gets a private cluster rather than the shared one.
    let dir = tempfile::tempdir().unwrap();
    let cluster_dir = dir.path().join("pg");
    let mut cluster = EmbeddedPostgres::start(&cluster_dir, Lifetime::StopOnDrop)
        .await
        .unwrap();
    cluster.ensure_database("tokobot").await.unwrap();
    let host = spawn_host_on(UpdateMode::Webhook, cluster.url("tokobot")).await;
    let settings = json!({ "settings": { "broadcast_per_second": 10 } });
    let shop = Shop::open(&host, "bc-outage", 8112, settings).await;
    let customers = add_customers(&shop, 970_000, 60).await;
    let text = "Promo tetap jalan walau server sempat gangguan";
    let id = start_broadcast(&shop, json!({ "text": text })).await["id"]
        .as_i64()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while deliveries(&host, shop.bot, text).len() < 15 {
        assert!(Instant::now() < deadline, "the broadcast did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    cluster.stop().unwrap();
    // Whatever was in flight when the database went away lands; then sending stops, because
    // no recipient can be claimed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let at_outage = deliveries(&host, shop.bot, text).len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        deliveries(&host, shop.bot, text).len(),
        at_outage,
        "messages went out while the database was down"
    );
    assert!(at_outage < customers.len());

    let _cluster = EmbeddedPostgres::start(&cluster_dir, Lifetime::StopOnDrop)
        .await
        .unwrap();
    // A claim committed just as the database stopped, whose answer was lost, holds its
    // recipient for the 60 s lease and then ends `unknown`; the wait covers it.
    let done = wait_finished(&host, &shop.slug, id, Duration::from_secs(120)).await;
    assert_eq!(done["state"], "done", "{done}");
    let progress = &done["progress"];
    let (sent, unknown) = (
        progress["sent"].as_i64().unwrap(),
        progress["unknown"].as_i64().unwrap(),
    );
    assert_eq!(sent + unknown, 60, "{done}");
    assert!(unknown <= 1, "{done}");
    assert_eq!(
        (&progress["failed"], &progress["left"]),
        (&json!(0), &json!(0))
    );
    // Nobody got it twice, and everybody recorded as sent got it.
    let delivered: HashMap<i64, usize> = deliveries(&host, shop.bot, text);
    assert!(delivered.values().all(|&n| n == 1), "{delivered:?}");
    assert_eq!(delivered.len() as i64, sent);
    assert!(delivered.keys().all(|chat| customers.contains(chat)));
}

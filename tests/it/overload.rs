//! Overload: a store flooded beyond its share answers 503 before accepting and replies to every
//! update it accepted; a polling store fetches no more than its share; payments go on while
//! browsing holds every shared connection; an update that times out waiting for the database
//! is run again rather than lost.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use tokobot::config::UpdateMode;

use crate::{
    payments::{self, goods_title, pass_after},
    support::{
        TestHost, bot_token, shop::Shop, spawn_host, spawn_host_in_with, spawn_host_with,
        text_update,
    },
};

/// Places of the flooded store: far fewer than the customers who write at once.
const STORE_SHARE: usize = 8;
const CUSTOMERS: i64 = 120;

#[tokio::test]
async fn a_flooded_store_answers_503_beyond_its_share_and_replies_to_every_update_it_accepted() {
    let host = spawn_host_with(|config| config.capacity.store_updates = STORE_SHARE).await;
    let shop = Shop::open(&host, "toko-ramai", 3401, json!({})).await;
    let customers: Vec<i64> = (1..=CUSTOMERS).map(|n| 8_100_000 + n).collect();
    // One update per customer, all at once: each new customer's /start.
    let updates: HashMap<i64, serde_json::Value> = customers
        .iter()
        .map(|&user| (user, text_update(9_100_000 + user, user, "/start")))
        .collect();

    let (host, shop, updates) = (&host, &shop, &updates);
    let first = join_all(customers.iter().map(|&user| async move {
        let status = host
            .deliver(&shop.slug, Some(&shop.secret), &updates[&user])
            .await;
        (user, status)
    }))
    .await;

    let accepted: Vec<i64> = first
        .iter()
        .filter(|(_, status)| *status == StatusCode::OK)
        .map(|(user, _)| *user)
        .collect();
    let refused: Vec<i64> = first
        .iter()
        .filter(|(_, status)| *status == StatusCode::SERVICE_UNAVAILABLE)
        .map(|(user, _)| *user)
        .collect();
    assert_eq!(
        accepted.len() + refused.len(),
        customers.len(),
        "every answer is 200 or 503: {first:?}"
    );
    assert!(
        !refused.is_empty(),
        "a bot sends 30 messages a second, so {CUSTOMERS} customers at once overflow {STORE_SHARE} places"
    );
    assert!(!accepted.is_empty());
    // Every update answered 200 gets its reply.
    wait_for_replies(host, shop.bot, &accepted).await;

    // Telegram delivers the refused updates again, the same update ids, until one is taken.
    for user in &refused {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = host
                .deliver(&shop.slug, Some(&shop.secret), &updates[user])
                .await;
            if status == StatusCode::OK {
                break;
            }
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert!(Instant::now() < deadline, "customer {user} was never taken");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    wait_for_replies(host, shop.bot, &customers).await;

    // A 503 accepted nothing: a redelivered update is handled once, not twice.
    host.telegram.settle().await;
    let token = bot_token(shop.bot);
    for user in &customers {
        let texts = host.telegram.sent_texts(&token, *user);
        assert_eq!(texts.len(), 1, "customer {user} got {texts:?}");
        assert!(texts[0].contains("Selamat datang"), "{}", texts[0]);
    }
    // Every place went back once its update was handled.
    let app = &host.app.as_ref().unwrap().host;
    let store = &app.running_stores()[0];
    assert_eq!(store.in_flight(), 0);
    assert_eq!(app.budget().available(), host.config.capacity.host_updates);
    // Operators see how close the host is to answering 503.
    wait_for_metric(host, "tokobot_updates_places").await;
    wait_for_metric(
        host,
        "tokobot_webhook_rejected_total{store=\"toko-ramai\",reason=\"busy\"}",
    )
    .await;
}

#[tokio::test]
async fn the_host_holds_about_a_second_of_work_across_stores_and_replies_to_all_it_accepted() {
    // Before the host has measured how fast it finishes updates, it admits one store's share
    // across all its stores (here 8), not each store's share: two stores flooded at once
    // share those places, and the host's rate-sized limit grows as it finishes updates.
    let host = spawn_host_with(|config| config.capacity.store_updates = STORE_SHARE).await;
    let shops = [
        Shop::open(&host, "toko-satu", 3411, json!({})).await,
        Shop::open(&host, "toko-dua", 3412, json!({})).await,
    ];
    let mut deliveries = Vec::new();
    for (n, shop) in shops.iter().enumerate() {
        for k in 1..=40_i64 {
            let user = 8_400_000 + n as i64 * 1_000 + k;
            deliveries.push((shop, user, text_update(9_400_000 + user, user, "/start")));
        }
    }

    let host = &host;
    let first = join_all(deliveries.iter().map(|(shop, _, update)| async move {
        host.deliver(&shop.slug, Some(&shop.secret), update).await
    }))
    .await;
    assert!(
        first
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::SERVICE_UNAVAILABLE),
        "every answer is 200 or 503: {first:?}"
    );
    let accepted = first.iter().filter(|s| **s == StatusCode::OK).count();
    assert!(accepted > 0, "the host takes what it has places for");
    assert!(
        accepted < deliveries.len(),
        "80 customers at once are more than a second of work for two bots"
    );

    // Telegram delivers each refused update again until it is taken; every customer, taken
    // at once or later, gets exactly one welcome.
    for ((shop, user, update), status) in deliveries.iter().zip(&first) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut status = *status;
        while status != StatusCode::OK {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert!(Instant::now() < deadline, "customer {user} was never taken");
            tokio::time::sleep(Duration::from_millis(50)).await;
            status = host.deliver(&shop.slug, Some(&shop.secret), update).await;
        }
    }
    for shop in &shops {
        let users: Vec<i64> = deliveries
            .iter()
            .filter(|(s, _, _)| s.slug == shop.slug)
            .map(|(_, user, _)| *user)
            .collect();
        wait_for_replies(host, shop.bot, &users).await;
    }
    host.telegram.settle().await;
    for (shop, user, _) in &deliveries {
        let texts = host.telegram.sent_texts(&bot_token(shop.bot), *user);
        assert_eq!(texts.len(), 1, "customer {user} got {texts:?}");
    }
    let app = &host.app.as_ref().unwrap().host;
    assert_eq!(app.budget().available(), host.config.capacity.host_updates);
    // Operators see the limit the host admits to now.
    wait_for_metric(host, "tokobot_updates_limit").await;
}

/// Waits (longer than a single wait of the fake: a bot sends 30 messages a second) until each
/// of `users` got at least one message from `bot`.
async fn wait_for_replies(host: &TestHost, bot: u32, users: &[i64]) {
    let token = bot_token(bot);
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let waiting: Vec<i64> = users
            .iter()
            .copied()
            .filter(|user| host.telegram.sent_texts(&token, *user).is_empty())
            .collect();
        if waiting.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} accepted update(s) never got a reply: {waiting:?}",
            waiting.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_polling_store_takes_no_more_than_its_share_and_answers_everyone() {
    let host = spawn_host_in_with(UpdateMode::Polling, |config| {
        config.capacity.store_updates = 2;
    })
    .await;
    host.create_store("toko-tarik", 3404, json!({})).await;
    let token = bot_token(3404);
    let customers: Vec<i64> = (1..=12).map(|n| 8_300_000 + n).collect();
    for (n, user) in customers.iter().enumerate() {
        host.telegram
            .push_update(&token, text_update(n as i64 + 1, *user, "/start"));
    }

    wait_for_replies(&host, 3404, &customers).await;
    host.telegram.settle().await;
    for user in &customers {
        assert_eq!(host.telegram.sent_texts(&token, *user).len(), 1);
    }
    let app = &host.app.as_ref().unwrap().host;
    assert_eq!(app.running_stores()[0].in_flight(), 0);
    assert_eq!(app.budget().available(), host.config.capacity.host_updates);
}

const BUYER: i64 = 63001;
const OTHER_BUYER: i64 = 63002;

#[tokio::test]
async fn payments_settle_and_goods_arrive_while_browsing_holds_every_shared_connection() {
    let host = spawn_host_with(|config| config.capacity.pool = 2).await;
    let shop = payments::Shop::open(&host, "toko-sibuk", 3402).await;
    let by_webhook = shop.buy_by_qris(BUYER, "NFX", 1).await;
    // The 💠 QRIS press is answered after its photo: wait for it, so that the next checkout
    // counts only its own answers.
    shop.answered(3).await;
    let by_reconciliation = shop.buy_by_qris(OTHER_BUYER, "ML", 1).await;

    // Browsing took every connection of the shared pool and keeps them.
    let pool = host.db().registry();
    let held = [pool.acquire().await.unwrap(), pool.acquire().await.unwrap()];

    // Pakasir's webhook settles one payment and its goods go out at once...
    shop.simulate_payment(&by_webhook).await;
    shop.wait_text(BUYER, &goods_title(&by_webhook.code)).await;
    // ...and reconciliation finds the other, paid with its webhook lost.
    host.pakasir.pay(&by_reconciliation.code);
    let pass = pass_after(&host, 2).await;
    assert_eq!(pass.settled, 1, "{pass:?}");
    shop.wait_text(OTHER_BUYER, &goods_title(&by_reconciliation.code))
        .await;

    drop(held);
    assert_eq!(shop.payment_status(&by_webhook.code).await, "completed");
    assert_eq!(
        shop.payment_status(&by_reconciliation.code).await,
        "completed"
    );
    assert_eq!(shop.order_status(by_webhook.order_id).await, "delivered");
}

#[tokio::test]
async fn an_update_that_timed_out_waiting_for_the_database_is_run_again_and_answered() {
    let host = spawn_host_with(|config| {
        config.capacity.pool = 1;
        config.capacity.acquire_timeout = Duration::from_millis(300);
    })
    .await;
    let shop = Shop::open(&host, "toko-sabar", 3403, json!({})).await;
    let customer = 8_200_001;

    // The only shared connection is busy, longer than an update may wait for it.
    let held = host.db().registry().acquire().await.unwrap();
    shop.say(customer, "/start").await;
    wait_for_metric(&host, "tokobot_update_retries_total{store=\"toko-sabar\"}").await;
    drop(held);

    let texts = shop.texts(customer, 1).await;
    assert!(texts[0].contains("Selamat datang"), "{texts:?}");
    host.telegram.settle().await;
    assert_eq!(
        host.telegram
            .sent_texts(&bot_token(shop.bot), customer)
            .len(),
        1
    );
}

/// Waits until the host's metrics show the series `series` (name and labels).
async fn wait_for_metric(host: &TestHost, series: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = host.metrics().await;
        if metrics.lines().any(|line| line.starts_with(series)) {
            return;
        }
        assert!(Instant::now() < deadline, "no {series} in the metrics");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Telegram's deliveries are answered on the HTTP server's own thread (`http::ingress`), so a
/// webhook is accepted while every thread that runs handlers is busy, and its update is handled
/// once they are free. Were the server on the handlers' runtime, the answer would wait for the
/// busy thread and the read below would time out.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_webhook_answers_while_every_handler_thread_is_busy() {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::{Arc, atomic::AtomicBool, atomic::Ordering};

    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-sibuk", 3405, json!({})).await;
    let user = 8_300_001;
    let body = text_update(9_300_001, user, "/start").to_string();
    let addr = host.app.as_ref().expect("the host runs").addr;

    // The runtime's only worker sleeps; this test's own body runs on another thread.
    let hogging = Arc::new(AtomicBool::new(true));
    let (started, on_worker) = std::sync::mpsc::channel();
    tokio::spawn({
        let hogging = Arc::clone(&hogging);
        async move {
            let _ = started.send(());
            std::thread::sleep(Duration::from_secs(3));
            hogging.store(false, Ordering::SeqCst);
        }
    });
    on_worker.recv().expect("the worker runs the hog");

    let mut stream = std::net::TcpStream::connect(addr).expect("the host listens");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("a timeout can be set");
    write!(
        stream,
        "POST /webhooks/telegram/{} HTTP/1.1\r\nHost: tokobot\r\nContent-Type: application/json\r\n\
         X-Telegram-Bot-Api-Secret-Token: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        shop.slug,
        shop.secret,
        body.len(),
        body
    )
    .expect("the request is written");
    let mut status = String::new();
    BufReader::new(&stream)
        .read_line(&mut status)
        .expect("the webhook answers while the worker is busy");
    assert!(
        hogging.load(Ordering::SeqCst),
        "the answer came only after the worker was free"
    );
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");

    // Once the worker is free, the accepted update is handled.
    let welcome = shop.texts(user, 1).await;
    assert_eq!(welcome.len(), 1, "{welcome:?}");
}

//! Broadcasts (issue 8): every active customer reached once, at the store's pace, through 429
//! storms, blocked users, restarts and cancels; the API and the admin's progress message agree.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    TestHost, bot_token,
    fake_telegram::{Failure, Recorded},
    shop::Shop,
    spawn_host,
};

/// The owner of every test store (`store_body`).
const OWNER: i64 = 777000;

/// Adds `count` customers with ids from `first`, as if each had written to the bot once.
pub(crate) async fn add_customers(shop: &Shop<'_>, first: i64, count: i64) -> Vec<i64> {
    let ids: Vec<i64> = (first..first + count).collect();
    let mut tx = shop.tx().await;
    sqlx::query(
        "insert into customers (tenant_id, telegram_user_id, first_name) \
         select $1, id, 'Pelanggan' from unnest($2::bigint[]) as id",
    )
    .bind(shop.tenant)
    .bind(&ids)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    ids
}

pub(crate) async fn start_broadcast(shop: &Shop<'_>, body: Value) -> Value {
    let token = shop.host.owner_token(&shop.slug).await;
    let path = format!("/api/v1/tenants/{}/broadcasts", shop.slug);
    let (status, created) = shop
        .host
        .api(Method::POST, &path, Some(&token), Some(body))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    created
}

pub(crate) async fn get_broadcast(host: &TestHost, slug: &str, id: i64) -> Value {
    let token = host.owner_token(slug).await;
    let path = format!("/api/v1/tenants/{slug}/broadcasts/{id}");
    let (status, body) = host.api(Method::GET, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Polls the API until the broadcast is done (or cancelled), within `limit`.
pub(crate) async fn wait_finished(host: &TestHost, slug: &str, id: i64, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let current = get_broadcast(host, slug, id).await;
        if matches!(current["state"].as_str(), Some("done" | "cancelled")) {
            return current;
        }
        assert!(
            Instant::now() < deadline,
            "broadcast {id} did not finish: {current}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The successful sends of `text` by the bot, per chat.
pub(crate) fn deliveries(host: &TestHost, bot: u32, text: &str) -> HashMap<i64, usize> {
    let mut per_chat = HashMap::new();
    for call in attempts(host, bot, text) {
        if call.status == 200 {
            *per_chat.entry(chat_of(&call)).or_default() += 1;
        }
    }
    per_chat
}

/// Every message the bot sent (or tried to), replies and broadcast alike, in order.
pub(crate) fn all_sends(host: &TestHost, bot: u32) -> Vec<Recorded> {
    let token = bot_token(bot);
    host.telegram
        .requests()
        .into_iter()
        .filter(|r| r.token == token && matches!(r.method.as_str(), "sendmessage" | "sendphoto"))
        .collect()
}

/// Every send of `text` the bot attempted (refused ones too), in order.
pub(crate) fn attempts(host: &TestHost, bot: u32, text: &str) -> Vec<Recorded> {
    let token = bot_token(bot);
    host.telegram
        .requests()
        .into_iter()
        .filter(|r| r.token == token && matches!(r.method.as_str(), "sendmessage" | "sendphoto"))
        .filter(|r| r.body.get("text").or_else(|| r.body.get("caption")) == Some(&json!(text)))
        .collect()
}

pub(crate) fn chat_of(call: &Recorded) -> i64 {
    match &call.body["chat_id"] {
        Value::Number(n) => n.as_i64().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        other => panic!("no chat id in {other}"),
    }
}

/// Asserts that no second of the sends holds more than `per_second` of them: any
/// `per_second + 1` consecutive sends span at least a second (less 5% for timer jitter).
pub(crate) fn assert_paced(sends: &[Recorded], per_second: usize) {
    for window in sends.windows(per_second + 1) {
        let span = window[per_second].at - window[0].at;
        assert!(
            span >= Duration::from_millis(950),
            "{} sends within {span:?}, over the pace of {per_second}/s",
            per_second + 1
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_active_customer_gets_it_once_through_429s_and_blocks_at_the_pace() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "bc-toko", 8101, json!({})).await;
    let token = bot_token(shop.bot);
    let customers = add_customers(&shop, 500_000, 500).await;
    let blocked: Vec<i64> = customers.iter().copied().step_by(25).collect();
    for &chat in &blocked {
        host.telegram.block_chat(&token, chat);
    }
    let text = "Promo akhir tahun: semua produk diskon 10%!";
    let created = start_broadcast(&shop, json!({ "text": text })).await;
    assert_eq!(created["progress"]["total"], 500);
    let id = created["id"].as_i64().unwrap();

    // A 429 storm in the middle of the broadcast.
    tokio::time::sleep(Duration::from_secs(2)).await;
    host.telegram.fail_next(
        &token,
        "sendMessage",
        Failure::TooManyRequests { retry_after: 1 },
        3,
    );
    let finished = wait_finished(&host, &shop.slug, id, Duration::from_secs(60)).await;

    let progress = &finished["progress"];
    assert_eq!(finished["state"], "done", "{finished}");
    assert_eq!(progress["sent"], 480, "{finished}");
    assert_eq!(progress["blocked"], 20, "{finished}");
    assert_eq!(
        (&progress["failed"], &progress["unknown"], &progress["left"]),
        (&json!(0), &json!(0), &json!(0))
    );
    let delivered = deliveries(&host, shop.bot, text);
    for &chat in &customers {
        let expected = usize::from(!blocked.contains(&chat));
        assert_eq!(
            delivered.get(&chat).copied().unwrap_or(0),
            expected,
            "chat {chat}"
        );
    }
    // The blocked are marked inactive, so the next broadcast leaves them out.
    let mut tx = shop.tx().await;
    let inactive: Vec<i64> = sqlx::query_scalar(
        "select telegram_user_id from customers where blocked_bot order by telegram_user_id",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(inactive, blocked);
    assert_paced(&attempts(&host, shop.bot, text), 25);
    let audit = shop.audit_rows("broadcast.create").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].2["recipients"], 500);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_broadcasts_are_refused_and_queue_nothing() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "bc-bad", 8102, json!({})).await;
    add_customers(&shop, 600_000, 3).await;
    let token = host.owner_token(&shop.slug).await;
    let path = format!("/api/v1/tenants/{}/broadcasts", shop.slug);
    let long = "a".repeat(4097);
    let caption = "a".repeat(1025);
    let bad = [
        json!({ "text": "  " }),
        json!({ "text": long }),
        json!({ "text": caption, "photo": "https://example.com/promo.jpg" }),
        json!({ "text": "nul \u{0} here" }),
        json!({ "text": "hi", "photo": "not a photo" }),
        json!({ "text": "hi", "audience": "everyone" }),
    ];
    for body in bad {
        let (status, answer) = host
            .api(Method::POST, &path, Some(&token), Some(body.clone()))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} -> {answer}"
        );
    }
    let mut tx = shop.tx().await;
    let queued: i64 = sqlx::query_scalar("select count(*) from broadcasts")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(queued, 0);
    // Another store's owner cannot reach this store's broadcasts.
    Shop::open(&host, "bc-other", 8103, json!({})).await;
    let other = host.owner_token("bc-other").await;
    let (status, _) = host
        .api(
            Method::POST,
            &path,
            Some(&other),
            Some(json!({ "text": "hi" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// The numbers of the last progress message the owner saw: sent, total, blocked, failed,
/// unknown, left.
fn progress_numbers(text: &str) -> Vec<i64> {
    text.lines()
        .skip(1)
        .flat_map(|line| {
            let numbers = line.rsplit(": ").next().unwrap_or_default();
            numbers
                .split('/')
                .map(|n| n.trim().parse::<i64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_composes_confirms_and_cancels_and_the_api_shows_the_same_counts() {
    let host = spawn_host().await;
    let settings = json!({ "settings": { "broadcast_per_second": 4 } });
    let shop = Shop::open(&host, "bc-admin", 8104, settings).await;
    add_customers(&shop, 700_000, 40).await;
    let text = "Stok baru sudah masuk!";

    shop.press_raw(OWNER, "a:bc:n:all").await;
    shop.text_containing(OWNER, "Kirim isi broadcast").await;
    shop.say(OWNER, text).await;
    // The preview is the message itself, then the question.
    shop.text_containing(OWNER, "Pratinjau").await;
    assert_eq!(
        host.telegram
            .sent_texts(&bot_token(shop.bot), OWNER)
            .iter()
            .filter(|t| *t == text)
            .count(),
        1
    );
    shop.press_raw(OWNER, "a:y").await;
    shop.text_containing(OWNER, "masuk antrean").await;
    let mut tx = shop.tx().await;
    let id: i64 = sqlx::query_scalar("select id from broadcasts")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    shop.text_containing(OWNER, "berjalan").await;

    tokio::time::sleep(Duration::from_secs(2)).await;
    shop.press_raw(OWNER, &format!("a:bc:c:{id}")).await;
    shop.answer_containing("dibatalkan").await;
    // At most the message in flight at the cancel still goes out.
    host.telegram.settle().await;
    let after_cancel = deliveries(&host, shop.bot, text).values().sum::<usize>();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = deliveries(&host, shop.bot, text).values().sum::<usize>();
    assert_eq!(later, after_cancel, "sending went on after the cancel");

    let api = get_broadcast(&host, &shop.slug, id).await;
    assert_eq!(api["state"], "cancelled");
    let p = &api["progress"];
    // 40 customers and the owner, who wrote to the bot.
    assert_eq!(p["total"], 41);
    assert!(p["left"].as_i64().unwrap() > 0, "{api}");
    assert_eq!(
        p["sent"].as_i64().unwrap() as usize,
        later - 1,
        "the preview is not counted"
    );
    let shown = shop.text_containing(OWNER, "dibatalkan").await;
    let last = host
        .telegram
        .sent_texts(&bot_token(shop.bot), OWNER)
        .into_iter()
        .rfind(|t| t.contains(&format!("Broadcast #{id}")))
        .unwrap_or(shown);
    let numbers = ["sent", "total", "blocked", "failed", "unknown", "left"]
        .map(|key| p[key].as_i64().unwrap());
    assert_eq!(progress_numbers(&last), numbers, "{last}");
    let audit = shop.audit_rows("broadcast.cancel").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, Some(OWNER));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_mid_broadcast_resumes_it_and_nobody_gets_it_twice() {
    let mut host = spawn_host().await;
    let settings = json!({ "settings": { "broadcast_per_second": 10 } });
    let shop = Shop::open(&host, "bc-restart", 8105, settings).await;
    let customers = add_customers(&shop, 800_000, 100).await;
    let text = "Restock: akun premium tersedia lagi";
    let created = start_broadcast(&shop, json!({ "text": text, "audience": "all" })).await;
    let id = created["id"].as_i64().unwrap();

    // A sender that died between its send and its record left this recipient claimed.
    let in_flight = *customers.last().unwrap();
    let mut tx = shop.tx().await;
    sqlx::query(
        "update broadcast_recipients set status = 'sending', \
         lease_until = now() - interval '1 second' where chat_id = $1",
    )
    .bind(in_flight)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (slug, bot) = (shop.slug.clone(), shop.bot);
    drop(shop);

    let deadline = Instant::now() + Duration::from_secs(20);
    while deliveries(&host, bot, text).len() < 20 {
        assert!(Instant::now() < deadline, "the broadcast did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    host.restart().await;
    // A send cut short by the stop would hold its recipient for the 60 s lease before turning
    // `unknown`; the wait covers that, though a clean stop records its last send.
    let finished = wait_finished(&host, &slug, id, Duration::from_secs(90)).await;

    let p = &finished["progress"];
    assert_eq!(finished["state"], "done", "{finished}");
    assert_eq!(
        (p["sent"].as_i64(), p["unknown"].as_i64()),
        (Some(99), Some(1))
    );
    assert_eq!(p["left"], 0);
    let delivered = deliveries(&host, bot, text);
    for &chat in &customers {
        let expected = usize::from(chat != in_flight);
        assert_eq!(
            delivered.get(&chat).copied().unwrap_or(0),
            expected,
            "chat {chat}"
        );
    }
    assert_paced(&attempts(&host, bot, text), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_stores_broadcast_at_their_own_paces_and_customers_still_get_replies() {
    let host = spawn_host().await;
    let slow = Shop::open(
        &host,
        "bc-slow",
        8106,
        json!({ "settings": { "broadcast_per_second": 5 } }),
    )
    .await;
    let fast = Shop::open(
        &host,
        "bc-fast",
        8107,
        json!({ "settings": { "broadcast_per_second": 20 } }),
    )
    .await;
    add_customers(&slow, 900_000, 30).await;
    add_customers(&fast, 910_000, 100).await;
    let (slow_text, fast_text) = ("Promo toko lambat", "Promo toko cepat");
    let slow_id = start_broadcast(&slow, json!({ "text": slow_text })).await["id"]
        .as_i64()
        .unwrap();
    let fast_id = start_broadcast(&fast, json!({ "text": fast_text })).await["id"]
        .as_i64()
        .unwrap();

    // A customer of the broadcasting store writes in the middle of it and is answered at once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    slow.say(4242, "/start").await;
    slow.texts(4242, 1).await;
    // The reply did not queue behind the broadcast: the slow store (30 customers at 5 a
    // second, six seconds at the least) was still sending when it went out.
    let replied = all_sends(&host, slow.bot)
        .iter()
        .find(|r| chat_of(r) == 4242)
        .map(|r| r.at)
        .unwrap();
    let slow_broadcast = attempts(&host, slow.bot, slow_text);
    assert!(
        slow_broadcast.len() < 30 || slow_broadcast.last().unwrap().at > replied,
        "the reply waited for the whole broadcast"
    );

    for (shop, id) in [(&slow, slow_id), (&fast, fast_id)] {
        let done = wait_finished(&host, &shop.slug, id, Duration::from_secs(30)).await;
        assert_eq!(done["state"], "done", "{done}");
    }
    assert_eq!(deliveries(&host, slow.bot, slow_text).len(), 30);
    assert_eq!(deliveries(&host, fast.bot, fast_text).len(), 100);
    let (slow_sends, fast_sends) = (
        attempts(&host, slow.bot, slow_text),
        attempts(&host, fast.bot, fast_text),
    );
    assert_paced(&slow_sends, 5);
    assert_paced(&fast_sends, 20);
    // The fast store was not held to the slow store's pace, which would take 20 s for its 100.
    let span = fast_sends.last().unwrap().at - fast_sends[0].at;
    assert!(
        span < Duration::from_secs(100 / 5),
        "the fast store took {span:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_broadcast_uploads_once_and_reuses_the_file_id() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "bc-photo", 8108, json!({})).await;
    add_customers(&shop, 950_000, 5).await;
    let caption = "Diskon akhir pekan";
    let url = "https://example.com/promo.jpg";
    let id = start_broadcast(&shop, json!({ "text": caption, "photo": url })).await["id"]
        .as_i64()
        .unwrap();
    let done = wait_finished(&host, &shop.slug, id, Duration::from_secs(20)).await;
    assert_eq!(done["progress"]["sent"], 5, "{done}");
    let sends = attempts(&host, shop.bot, caption);
    let photos: Vec<(i64, String)> = sends
        .iter()
        .map(|call| {
            (
                chat_of(call),
                call.body["photo"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(photos.len(), 6, "{photos:?}");
    // The owner's preview gives Telegram the URL before anything is queued ...
    assert_eq!(photos[0], (OWNER, url.to_owned()));
    // ... and every customer gets the file id Telegram answered with.
    let file_id = sends[0].body["photo"].as_str().unwrap();
    assert!(
        photos[1..]
            .iter()
            .all(|(chat, p)| *chat != OWNER && p.starts_with("fake-photo-")),
        "customers get Telegram's file id: {photos:?}"
    );
    assert_ne!(file_id, photos[1].1);
    assert!(photos[1..].iter().all(|(_, p)| *p == photos[1].1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_telegram_cannot_fetch_is_refused_before_anything_is_queued() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "bc-nophoto", 8111, json!({})).await;
    add_customers(&shop, 955_000, 5).await;
    let token = host.owner_token(&shop.slug).await;
    let path = format!("/api/v1/tenants/{}/broadcasts", shop.slug);
    let caption = "Promo gambar rusak";
    let body = json!({ "text": caption, "photo": "https://promo.invalid/banner.jpg" });
    let (status, answer) = host
        .api(Method::POST, &path, Some(&token), Some(body))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let message = answer.to_string();
    assert!(
        message.contains("photo") && message.contains("failed to get HTTP URL content"),
        "{answer}"
    );
    let mut tx = shop.tx().await;
    let queued: (i64, i64) = sqlx::query_as(
        "select (select count(*) from broadcasts), (select count(*) from broadcast_recipients)",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(queued, (0, 0));
    // Only the owner's preview was tried; no customer was sent anything.
    host.telegram.settle().await;
    let tried: Vec<i64> = attempts(&host, shop.bot, caption)
        .iter()
        .map(chat_of)
        .collect();
    assert_eq!(tried, vec![OWNER]);
    assert!(shop.audit_rows("broadcast.create").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suspended_store_pauses_its_broadcast_and_a_resumed_one_continues_it() {
    let host = spawn_host().await;
    let settings = json!({ "settings": { "broadcast_per_second": 10 } });
    let shop = Shop::open(&host, "bc-suspend", 8109, settings).await;
    let customers = add_customers(&shop, 960_000, 60).await;
    let text = "Flash sale malam ini";
    let id = start_broadcast(&shop, json!({ "text": text })).await["id"]
        .as_i64()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while deliveries(&host, shop.bot, text).len() < 10 {
        assert!(Instant::now() < deadline, "the broadcast did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let path = format!("/api/v1/tenants/{}/suspend", shop.slug);
    let (status, body) = host.operator(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    host.telegram.settle().await;
    let at_suspend = deliveries(&host, shop.bot, text).len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(deliveries(&host, shop.bot, text).len(), at_suspend);
    assert!(at_suspend < customers.len());

    let path = format!("/api/v1/tenants/{}/resume", shop.slug);
    let (status, body) = host.operator(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let done = wait_finished(&host, &shop.slug, id, Duration::from_secs(30)).await;
    assert_eq!(done["progress"]["sent"], 60, "{done}");
    let delivered = deliveries(&host, shop.bot, text);
    assert!(customers.iter().all(|chat| delivered.get(chat) == Some(&1)));
}

//! One sending budget per bot (issue 8): a broadcast at full pace and the store's replies share
//! Telegram's limit of about 30 messages a second, replies first, and a 429 pauses both.

use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use tokio::time::Instant;

use crate::{
    broadcast::{
        add_customers, all_sends, assert_paced, attempts, chat_of, deliveries, start_broadcast,
        wait_finished,
    },
    support::{
        bot_token,
        fake_telegram::{Failure, Recorded},
        shop::Shop,
        spawn_host,
    },
};

/// When `chat` got its first message from the bot.
fn first_reply(sends: &[Recorded], chat: i64) -> Option<Instant> {
    sends
        .iter()
        .find(|r| r.status == 200 && chat_of(r) == chat)
        .map(|r| r.at)
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_go_before_a_full_pace_broadcast_within_one_budget_and_a_429_pauses_both() {
    let host = spawn_host().await;
    let settings = json!({ "settings": { "broadcast_per_second": 25 } });
    let shop = Shop::open(&host, "bc-budget", 8110, settings).await;
    let token = bot_token(shop.bot);
    let customers = add_customers(&shop, 980_000, 300).await;
    let text = "Harbolnas: gratis ongkir hari ini";
    let id = start_broadcast(&shop, json!({ "text": text })).await["id"]
        .as_i64()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while deliveries(&host, shop.bot, text).len() < 25 {
        assert!(Instant::now() < deadline, "the broadcast did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Thirty customers write at once while the broadcast runs at 25 a second: with 30 a
    // second for the whole bot, they are answered only if replies go first.
    let browsing: Vec<i64> = (990_000..990_030).collect();
    join_all(browsing.iter().map(|&chat| shop.say(chat, "/start"))).await;
    for &chat in &browsing {
        shop.texts(chat, 1).await;
    }
    let sends = all_sends(&host, shop.bot);
    let answered: Vec<Instant> = browsing
        .iter()
        .map(|&chat| first_reply(&sends, chat).unwrap())
        .collect();
    let (first, last) = (
        *answered.iter().min().unwrap(),
        *answered.iter().max().unwrap(),
    );
    // While customers waited for their answers, the broadcast gave way.
    let broadcast_meanwhile = attempts(&host, shop.bot, text)
        .iter()
        .filter(|r| r.at > first && r.at < last)
        .count();
    assert!(
        broadcast_meanwhile <= 5,
        "{broadcast_meanwhile} broadcast messages went out between the first and the last reply ({:?})",
        last - first
    );

    // Telegram answers 429 retry_after 2: the bot sends nothing for two seconds, a customer
    // who writes meanwhile included.
    host.telegram.fail_next(
        &token,
        "sendMessage",
        Failure::TooManyRequests { retry_after: 2 },
        1,
    );
    let refused = host
        .telegram
        .wait_for("a 429", |requests| {
            requests.iter().any(|r| r.token == token && r.status == 429)
        })
        .await
        .into_iter()
        .find(|r| r.token == token && r.status == 429)
        .unwrap()
        .at;
    let waiting = 995_000;
    shop.say(waiting, "/start").await;
    shop.texts(waiting, 1).await;
    let sends = all_sends(&host, shop.bot);
    let reply_at = first_reply(&sends, waiting).unwrap();
    assert!(
        reply_at - refused >= Duration::from_millis(1900),
        "the reply went out {:?} after the 429",
        reply_at - refused
    );
    let during_pause: Vec<&Recorded> = sends
        .iter()
        .filter(|r| r.at > refused && r.at - refused < Duration::from_millis(1900))
        .collect();
    assert!(
        during_pause.is_empty(),
        "sent during the pause: {during_pause:?}"
    );

    let done = wait_finished(&host, &shop.slug, id, Duration::from_secs(60)).await;
    assert_eq!(done["progress"]["sent"], 300, "{done}");
    let delivered = deliveries(&host, shop.bot, text);
    assert!(customers.iter().all(|chat| delivered.get(chat) == Some(&1)));
    // Replies and broadcast together never went over the bot's 30 a second.
    assert_paced(&all_sends(&host, shop.bot), 30);
    assert_paced(&attempts(&host, shop.bot, text), 25);
}

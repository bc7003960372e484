//! What browsing costs the database: at steady state, nothing. The welcome, the product menu
//! and the category and product pages are answered from memory for known customers and for
//! first contacts alike, counted by `tokobot_db_round_trips_total{path="update"}` through the
//! real webhook route. Unpaid orders expire through `order_expiry_queue`, which an idle store
//! never appears in.

use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use tokobot::{bot::antispam::Limits, bot::callbacks::Callback, jobs::store::expire_due};

use crate::support::{
    TestHost, bot_token,
    shop::{Shop, sample_catalog},
    spawn_host_with,
};

/// Customers browsing at once; each takes one step per round, so the bot's pacing of one
/// message a second per chat never holds a round up for long.
const CUSTOMERS: i64 = 40;

/// A host whose anti-spam gate lets a test's quick steps through.
async fn browsing_host() -> TestHost {
    spawn_host_with(|config| {
        config.antispam = Limits {
            burst: 1_000,
            per_second: 1_000,
            cooldown: Duration::from_secs(1),
        }
    })
    .await
}

/// The host's count of database round trips made while handling updates.
async fn update_round_trips(host: &TestHost) -> u64 {
    let metrics = host.metrics().await;
    metrics
        .lines()
        .find(|line| line.starts_with("tokobot_db_round_trips_total{path=\"update\"}"))
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0, |value| value.parse::<f64>().unwrap() as u64)
}

/// Runs one browse step for every customer at once and waits until each was answered: a
/// message (`sendMessage`) for typed text, an answered button otherwise.
async fn round(shop: &Shop<'_>, customers: &[i64], step: Step) {
    let token = bot_token(shop.bot);
    let method = match step {
        Step::Say(_) => "sendMessage",
        Step::Press(_) => "answerCallbackQuery",
    };
    let before = shop.host.telegram.calls(&token, method).len();
    join_all(customers.iter().map(|&user| {
        let step = step.clone();
        async move {
            match step {
                Step::Say(text) => shop.say(user, text).await,
                Step::Press(callback) => shop.press(user, callback).await,
            }
        }
    }))
    .await;
    let telegram = shop.host.telegram.clone();
    shop.host
        .telegram
        .wait_for(&format!("{} answers ({method})", customers.len()), |_| {
            telegram.calls(&token, method).len() >= before + customers.len()
        })
        .await;
}

#[derive(Clone)]
enum Step {
    Say(&'static str),
    Press(Callback),
}

#[tokio::test]
async fn browsing_costs_no_database_round_trip_per_update_for_first_contacts_and_known_customers() {
    let mut host = browsing_host().await;
    let shop = Shop::open(&host, "toko-jelajah", 3601, json!({})).await;
    shop.import(sample_catalog(&["nfx-a", "nfx-b", "nfx-c"], 25_000))
        .await;
    let (nfx, category) = (
        shop.product_id("NFX").await,
        shop.category_id("Akun Premium").await,
    );
    let browse = [
        Step::Say("/start"),
        Step::Say("🛍 Semua Produk"),
        Step::Press(Callback::Category {
            id: Some(category),
            page: 0,
        }),
        Step::Press(Callback::Product { id: nfx, qty: 1 }),
    ];

    // One customer's visit loads what the store keeps in memory (its catalog, the languages
    // its customers chose, its dialogues): once per store, not per customer.
    shop.say(1, "/start").await;
    shop.texts(1, 1).await;

    // First contacts: new customers are greeted from memory and recorded by the next flush.
    let newcomers: Vec<i64> = (0..CUSTOMERS).map(|n| 8_300_000 + n).collect();
    let before = update_round_trips(&host).await;
    round(&shop, &newcomers, Step::Say("/start")).await;
    let first_contacts = update_round_trips(&host).await - before;
    assert!(
        first_contacts * 10 < CUSTOMERS as u64,
        "{first_contacts} round trips for {CUSTOMERS} first contacts"
    );
    let running = &host.app.as_ref().expect("the host runs").host;
    running.customers().flush_seen(host.db()).await;
    let mut tx = shop.tx().await;
    let recorded: i64 = sqlx::query_scalar(
        "select count(*) from customers where telegram_user_id = any($1) and first_name = 'Budi'",
    )
    .bind(&newcomers)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        recorded, CUSTOMERS,
        "the flush recorded every first contact"
    );

    // Known customers browsing: the welcome, the menu, a category, a product.
    let before = update_round_trips(&host).await;
    for step in &browse {
        round(&shop, &newcomers, step.clone()).await;
    }
    let updates = CUSTOMERS as u64 * browse.len() as u64;
    let browsing = update_round_trips(&host).await - before;
    assert!(
        browsing * 10 < updates,
        "{browsing} round trips for {updates} browse updates"
    );

    // A customer's chosen language comes back from the database after a restart, with
    // the rest of the store's customers, in one read.
    let chooser = newcomers[0];
    shop.say(chooser, "/language").await;
    shop.text_containing(chooser, "Pilih bahasa").await;
    shop.say(chooser, "🇬🇧 English").await;
    shop.text_containing(chooser, "Language saved: English.")
        .await;
    let Shop {
        slug,
        bot,
        secret,
        tenant,
        ..
    } = shop;
    host.restart().await;
    let shop = Shop {
        host: &host,
        slug,
        bot,
        secret,
        tenant,
    };
    shop.say(chooser, "/start").await;
    shop.text_containing(chooser, "Welcome to").await;

    // The others come back after the restart: known to the database, new to this process.
    let before = update_round_trips(&host).await;
    round(&shop, &newcomers[1..], Step::Say("/start")).await;
    let returning = update_round_trips(&host).await - before;
    assert!(
        returning * 10 < CUSTOMERS as u64,
        "{returning} round trips for {CUSTOMERS} returning customers"
    );
}

#[tokio::test]
async fn an_unpaid_order_expires_through_the_queue_and_a_paid_one_leaves_it() {
    let host = browsing_host().await;
    let shop = Shop::open(&host, "toko-antre", 3602, json!({})).await;
    shop.import(sample_catalog(&["nfx-a", "nfx-b"], 25_000))
        .await;
    let nfx = shop.product_id("NFX").await;
    let buyer = 8_400_001;
    shop.credit(buyer, 25_000).await;
    let add = Callback::Add {
        id: nfx,
        qty: 1,
        price: 25_000,
    };

    // Two orders: one left unpaid, one paid from the balance.
    shop.say(buyer, "/start").await;
    shop.press(buyer, add).await;
    shop.answer_containing("masuk keranjang").await;
    shop.press(buyer, Callback::Checkout).await;
    shop.text_containing(buyer, "Pesanan INV").await;
    let (unpaid, _, _) = shop.last_order(buyer).await.unwrap();
    shop.press(buyer, add).await;
    shop.press(buyer, Callback::Checkout).await;
    let (paid, _, _) = wait_new_order(&shop, buyer, unpaid).await;
    shop.press(buyer, Callback::PayBalance { order: paid })
        .await;
    shop.text_containing(buyer, "ini barang kamu").await;

    // Only the unpaid order is queued, due when its hold runs out; nothing is due yet.
    assert_eq!(queued(&host).await, [unpaid]);
    assert_eq!(expire_due(host_of(&host)).await.unwrap(), 0);
    assert_eq!(shop.last_order_status(unpaid).await, "awaiting_payment");

    // Its hold runs out: the queue follows the order's own expiry time.
    let mut tx = shop.tx().await;
    sqlx::query("update orders set expires_at = now() - interval '1 second' where id = $1")
        .bind(unpaid)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(expire_due(host_of(&host)).await.unwrap(), 1);

    assert_eq!(shop.last_order_status(unpaid).await, "expired");
    assert!(queued(&host).await.is_empty());
    shop.text_containing(buyer, "kedaluwarsa karena belum dibayar")
        .await;
    let mut tx = shop.tx().await;
    let available: i64 = sqlx::query_scalar(
        "select count(*) from stock_items where product_id = $1 and status = 'available'",
    )
    .bind(nfx)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(available, 1, "the unpaid order's item is back on the shelf");
    // A second pass finds nothing: the order expired once.
    assert_eq!(expire_due(host_of(&host)).await.unwrap(), 0);
}

fn host_of(host: &TestHost) -> &tokobot::host::Host {
    &host.app.as_ref().expect("the host runs").host
}

/// The orders in `order_expiry_queue`.
async fn queued(host: &TestHost) -> Vec<i64> {
    sqlx::query_scalar("select order_id from order_expiry_queue order by order_id")
        .fetch_all(host.db().registry())
        .await
        .unwrap()
}

/// Waits for the customer's order after `previous`: (id, status, total).
async fn wait_new_order(shop: &Shop<'_>, user: i64, previous: i64) -> (i64, String, i64) {
    for _ in 0..200 {
        if let Some(order) = shop.last_order(user).await.filter(|o| o.0 != previous) {
            return order;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no second order for {user}");
}

impl Shop<'_> {
    async fn last_order_status(&self, order: i64) -> String {
        let mut tx = self.tx().await;
        sqlx::query_scalar("select status from orders where id = $1")
            .bind(order)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    }
}

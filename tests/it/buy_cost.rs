//! What a purchase costs the database on the update path. A sale changes only the catalog's
//! stock counts, so the next customer adding to the cart reads no catalog (only the cart's own
//! transaction), and the stock shown afterwards is the new one.

use std::time::Duration;

use serde_json::json;
use tokobot::{bot::antispam::Limits, bot::callbacks::Callback};

use crate::support::{
    TestHost,
    shop::{Shop, sample_catalog},
    spawn_host_with,
};

/// The host's count of database round trips made while handling updates.
async fn update_round_trips(host: &TestHost) -> u64 {
    host.metrics()
        .await
        .lines()
        .find(|line| line.starts_with("tokobot_db_round_trips_total{path=\"update\"}"))
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0, |value| value.parse::<f64>().unwrap() as u64)
}

/// The update path's round trips once they stop changing (the last handler's work after its
/// answer has finished).
async fn settled_round_trips(host: &TestHost) -> u64 {
    let mut last = update_round_trips(host).await;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = update_round_trips(host).await;
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("the update path kept making round trips");
}

#[tokio::test]
async fn adding_to_the_cart_after_a_sale_reads_no_catalog_and_the_stock_board_shows_the_sale() {
    let host = spawn_host_with(|config| {
        config.antispam = Limits {
            burst: 1_000,
            per_second: 1_000,
            cooldown: Duration::from_secs(1),
        }
    })
    .await;
    let shop = Shop::open(&host, "toko-laris", 3621, json!({})).await;
    shop.import(sample_catalog(&["laris-1", "laris-2", "laris-3"], 10_000))
        .await;
    let nfx = shop.product_id("NFX").await;
    let (buyer, next) = (8_500_001, 8_500_002);

    // The store's catalog is in memory: the board shows the three items.
    shop.say(next, "🏷 Cek Stok").await;
    let board = shop.text_containing(next, "Stok produk").await;
    assert!(board.contains("Netflix 1 Bulan: 3"), "{board}");

    // A sale: the checkout reserves an item and the payment sells it. Its handler records the
    // goods sent after the customer has them: that is let finish before counting.
    shop.buy_with_balance(buyer, "NFX", 1).await;
    settled_round_trips(&host).await;

    // The next customer's add reads the product's price from the snapshot the sale left
    // (its counts out of date): what it costs is the cart's own transaction (its begin and
    // commit, and the one statement that writes the line), no catalog rebuild.
    let before = settled_round_trips(&host).await;
    shop.press(
        next,
        Callback::Add {
            id: nfx,
            qty: 1,
            price: 10_000,
        },
    )
    .await;
    shop.answer_containing("masuk keranjang").await;
    let adding = update_round_trips(&host).await - before;
    assert!(
        adding <= 3,
        "adding to the cart after a sale made {adding} round trips"
    );

    // Whatever shows the stock reads the counts again: one item is sold.
    shop.say(next, "🏷 Cek Stok").await;
    shop.text_containing(next, "Netflix 1 Bulan: 2").await;

    // And the cart's line checks out as usual, from the snapshot's price.
    shop.press(next, Callback::Checkout).await;
    shop.text_containing(next, "Pesanan INV").await;
}

//! A customer's store end to end: browse, cart, checkout, balance, delivery, orders.

use std::time::Duration;

use serde_json::json;
use tokobot::{
    bot::{antispam::Limits, callbacks::Callback},
    store::orders,
};

use crate::support::{
    shop::{Shop, sample_catalog},
    spawn_host, spawn_host_with,
};

#[tokio::test]
async fn a_customer_browses_fills_the_cart_pays_from_balance_and_receives_the_goods() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-lengkap", 3001, json!({})).await;
    shop.import(sample_catalog(
        &[
            "nfx-a@mail.com:pw-a",
            "nfx-b@mail.com:pw-b",
            "nfx-c@mail.com:pw-c",
        ],
        25_000,
    ))
    .await;
    let (nfx, category) = (
        shop.product_id("NFX").await,
        shop.category_id("Akun Premium").await,
    );
    let buyer = 41_001;
    shop.credit(buyer, 60_000).await;

    shop.say(buyer, "/start").await;
    let welcome = shop.text_containing(buyer, "Selamat datang").await;
    assert!(
        welcome.contains("3 produk terjual") || welcome.contains("0 produk terjual"),
        "{welcome}"
    );
    shop.say(buyer, "🛍 Semua Produk").await;
    shop.text_containing(buyer, "Pilih kategori").await;
    shop.press(
        buyer,
        Callback::Category {
            id: Some(category),
            page: 0,
        },
    )
    .await;
    let listing = shop
        .text_containing(buyer, "Netflix 1 Bulan — Rp 25.000")
        .await;
    assert!(listing.contains("Spotify 1 Bulan — Rp 15.000"), "{listing}");
    shop.press(buyer, Callback::Product { id: nfx, qty: 2 })
        .await;
    let page = shop.text_containing(buyer, "<b>Netflix 1 Bulan</b>").await;
    assert!(
        page.contains("Stok: 3") && page.contains("Jangan ganti password."),
        "{page}"
    );
    shop.press(
        buyer,
        Callback::Add {
            id: nfx,
            qty: 2,
            price: 25_000,
        },
    )
    .await;
    shop.answer_containing("2× Netflix 1 Bulan masuk keranjang")
        .await;
    shop.press(buyer, Callback::Checkout).await;
    let invoice = shop.text_containing(buyer, "Pesanan INV").await;
    assert!(invoice.contains("Rp 50.000"), "{invoice}");
    let (order, status, total) = shop.last_order(buyer).await.unwrap();
    assert_eq!((status.as_str(), total), ("awaiting_payment", 50_000));

    shop.press(buyer, Callback::PayBalance { order }).await;

    let goods = shop.text_containing(buyer, "ini barang kamu").await;
    let delivered: Vec<&str> = [
        "nfx-a@mail.com:pw-a",
        "nfx-b@mail.com:pw-b",
        "nfx-c@mail.com:pw-c",
    ]
    .into_iter()
    .filter(|item| goods.contains(&format!("<code>{item}</code>")))
    .collect();
    assert_eq!(delivered.len(), 2, "exactly the two bought items: {goods}");
    assert_eq!(shop.balance(buyer).await, 10_000);
    let mut tx = shop.tx().await;
    let ledger: Vec<(i64, String)> = sqlx::query_as(
        "select amount, reason from balance_ledger where customer_id = $1 order by id",
    )
    .bind(buyer)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(
        ledger,
        [
            (60_000, "adjustment".to_owned()),
            (-50_000, "purchase".to_owned())
        ]
    );
    let (sold_count,): (i64,) = sqlx::query_as("select sold_count from products where id = $1")
        .bind(nfx)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(sold_count, 2);
    let sold: i64 = sqlx::query_scalar(
        "select count(*) from stock_items where status = 'sold' and order_id = $1",
    )
    .bind(order)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(sold, 2);
    drop(tx);
    for _ in 0..100 {
        if shop.last_order(buyer).await.unwrap().1 == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(shop.last_order(buyer).await.unwrap().1, "delivered");

    // The order history lists it and can send the goods again.
    shop.say(buyer, "/orders").await;
    shop.text_containing(buyer, "Pesanan kamu").await;
    let before = host
        .telegram
        .sent_texts(&crate::support::bot_token(3001), buyer)
        .len();
    shop.press(buyer, Callback::Resend { id: order }).await;
    shop.texts(buyer, before + 1).await;
    let resent = host
        .telegram
        .sent_texts(&crate::support::bot_token(3001), buyer)
        .pop()
        .unwrap();
    assert_eq!(resent, goods);
}

#[tokio::test]
async fn fifty_customers_racing_for_ten_items_buy_exactly_ten_and_never_the_same_one() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-rebutan", 3002, json!({})).await;
    let items: Vec<String> = (0..10).map(|i| format!("voucher-{i:02}-XYZ")).collect();
    let item_refs: Vec<&str> = items.iter().map(String::as_str).collect();
    shop.import(sample_catalog(&item_refs, 10_000)).await;
    let nfx = shop.product_id("NFX").await;
    let customers: Vec<i64> = (0..50).map(|i| 42_000 + i).collect();
    for &c in &customers {
        shop.credit(c, 10_000).await;
        shop.press(
            c,
            Callback::Add {
                id: nfx,
                qty: 1,
                price: 10_000,
            },
        )
        .await;
    }
    shop.answer_containing("masuk keranjang").await;
    // Every customer's cart holds the product before the race starts.
    for _ in 0..200 {
        let mut tx = shop.tx().await;
        let carts: i64 = sqlx::query_scalar("select count(*) from cart_items")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        if carts == 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    futures::future::join_all(customers.iter().map(|&c| shop.press(c, Callback::Checkout))).await;
    let mut orders = Vec::new();
    for &c in &customers {
        let text = crate::support::fake_telegram::wait_any(
            &host.telegram,
            &crate::support::bot_token(3002),
            c,
            &["Pesanan INV", "stok tidak cukup"],
        )
        .await;
        if text.contains("Pesanan INV") {
            orders.push((c, shop.last_order(c).await.unwrap().0));
        } else {
            assert!(
                shop.last_order(c).await.is_none(),
                "a refused customer has no order"
            );
        }
    }
    assert_eq!(orders.len(), 10, "exactly as many orders as items");
    futures::future::join_all(
        orders
            .iter()
            .map(|&(c, o)| shop.press(c, Callback::PayBalance { order: o })),
    )
    .await;
    for &(c, _) in &orders {
        shop.text_containing(c, "ini barang kamu").await;
    }

    let mut tx = shop.tx().await;
    let sold: Vec<(i64, i64)> = sqlx::query_as(
        "select order_id, count(*) from stock_items where status = 'sold' group by order_id",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(sold.len(), 10);
    assert!(
        sold.iter().all(|(_, n)| *n == 1),
        "one item per order: {sold:?}"
    );
    let left: i64 = sqlx::query_scalar("select count(*) from stock_items where status <> 'sold'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(left, 1, "only the other product's item is left");
    let spent: i64 = sqlx::query_scalar(
        "select -sum(amount)::bigint from balance_ledger where reason = 'purchase'",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(spent, 100_000);
    let balances: i64 = sqlx::query_scalar("select sum(balance)::bigint from balances")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let ledger: i64 = sqlx::query_scalar("select sum(amount)::bigint from balance_ledger")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(balances, ledger, "the balances are the sum of the ledger");
    assert_eq!(balances, 400_000);
    // Every item went to exactly one customer.
    let mut delivered = Vec::new();
    for &(c, _) in &orders {
        let goods = shop.text_containing(c, "ini barang kamu").await;
        delivered.extend(items.iter().filter(|i| goods.contains(i.as_str())).cloned());
    }
    delivered.sort();
    assert_eq!(delivered, items);
}

#[tokio::test]
async fn concurrent_balance_payments_never_take_the_balance_below_zero() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-saldo", 3003, json!({})).await;
    let stock: Vec<String> = (0..10).map(|i| format!("kode-{i}")).collect();
    shop.import(sample_catalog(
        &stock.iter().map(String::as_str).collect::<Vec<_>>(),
        10_000,
    ))
    .await;
    let nfx = shop.product_id("NFX").await;
    let buyer = 43_001;
    shop.credit(buyer, 35_000).await;
    // Ten unpaid orders of Rp10.000 each, made through the domain directly.
    let mut order_ids = Vec::new();
    for _ in 0..10 {
        let mut tx = shop.tx().await;
        tokobot::store::cart::add(&mut tx, shop.tenant, buyer, nfx, 1, 10_000)
            .await
            .unwrap();
        let limits = orders::Limits {
            hold: time::Duration::minutes(15),
            // Ten unpaid orders at once, more than any store allows its customers.
            max_unpaid: 10,
        };
        let order = orders::checkout(&mut tx, shop.tenant, buyer, limits)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        order_ids.push(order.id);
    }

    // All ten pay at once, each in its own transaction.
    let shop = &shop;
    let results = futures::future::join_all(order_ids.iter().map(|&id| async move {
        let mut tx = shop.tx().await;
        let paid = orders::pay_with_balance(&mut tx, shop.tenant, buyer, id).await;
        tx.commit().await.unwrap();
        paid.is_ok()
    }))
    .await;

    assert_eq!(
        results.iter().filter(|ok| **ok).count(),
        3,
        "Rp35.000 pays for three"
    );
    assert_eq!(shop.balance(buyer).await, 5_000);
    let mut tx = shop.tx().await;
    let ledger: i64 =
        sqlx::query_scalar("select sum(amount)::bigint from balance_ledger where customer_id = $1")
            .bind(buyer)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(ledger, 5_000);
}

#[tokio::test]
async fn an_empty_cart_cannot_be_checked_out() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-kosong", 3004, json!({})).await;
    shop.import(sample_catalog(&["a"], 10_000)).await;

    shop.press(44_001, Callback::Checkout).await;

    shop.text_containing(44_001, "Keranjang kosong").await;
    assert!(shop.last_order(44_001).await.is_none());
}

#[tokio::test]
async fn a_price_changed_between_cart_and_checkout_is_shown_before_any_charge() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-harga", 3005, json!({})).await;
    shop.import(sample_catalog(&["a1", "a2"], 20_000)).await;
    let nfx = shop.product_id("NFX").await;
    let buyer = 45_001;
    shop.credit(buyer, 100_000).await;
    shop.add_to_cart(buyer, nfx, 1, 20_000).await;
    shop.import(sample_catalog(&["a1", "a2"], 27_500)).await;

    shop.press(buyer, Callback::Checkout).await;

    let warning = shop.text_containing(buyer, "Harga berubah").await;
    assert!(
        warning.contains("Rp 20.000") && warning.contains("Rp 27.500"),
        "{warning}"
    );
    assert!(
        shop.last_order(buyer).await.is_none(),
        "no order before the customer agrees"
    );
    assert_eq!(shop.balance(buyer).await, 100_000);

    shop.press(buyer, Callback::AcceptPrices).await;
    let invoice = shop.text_containing(buyer, "Pesanan INV").await;
    assert!(invoice.contains("Rp 27.500"), "{invoice}");

    // A product page shown at the old price cannot add at that price either.
    shop.press(
        buyer,
        Callback::Add {
            id: nfx,
            qty: 1,
            price: 20_000,
        },
    )
    .await;
    shop.answer_containing("berubah menjadi Rp 27.500").await;
}

#[tokio::test]
async fn old_buttons_of_a_deleted_product_or_a_closed_order_answer_clearly() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-lama", 3006, json!({})).await;
    shop.import(sample_catalog(&["x1", "x2"], 10_000)).await;
    let spt = shop.product_id("SPT").await;
    let buyer = 46_001;
    let mut document = sample_catalog(&["x1", "x2"], 10_000);
    document["products"]
        .as_array_mut()
        .unwrap()
        .retain(|p| p["code"] != "SPT");
    shop.import(document).await;

    shop.press(buyer, Callback::Product { id: spt, qty: 1 })
        .await;
    shop.answer_containing("Produk ini sudah tidak tersedia")
        .await;
    shop.press(
        buyer,
        Callback::Add {
            id: spt,
            qty: 1,
            price: 15_000,
        },
    )
    .await;
    shop.press_raw(buyer, "zz:old-button").await;
    shop.answer_containing("Tombol ini sudah tidak berlaku")
        .await;

    // A cancelled order's pay button charges nothing.
    let nfx = shop.product_id("NFX").await;
    shop.credit(buyer, 50_000).await;
    shop.press(
        buyer,
        Callback::Add {
            id: nfx,
            qty: 1,
            price: 10_000,
        },
    )
    .await;
    shop.press(buyer, Callback::Checkout).await;
    shop.text_containing(buyer, "Pesanan INV").await;
    let (order, _, _) = shop.last_order(buyer).await.unwrap();
    shop.press(buyer, Callback::Cancel { order }).await;
    shop.text_containing(buyer, "Pesanan dibatalkan").await;
    shop.press(buyer, Callback::PayBalance { order }).await;
    shop.answer_containing("sudah dibatalkan").await;
    assert_eq!(shop.balance(buyer).await, 50_000);
    let mut tx = shop.tx().await;
    let available: i64 = sqlx::query_scalar(
        "select count(*) from stock_items where status = 'available' and product_id = $1",
    )
    .bind(nfx)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(available, 2, "the cancelled order's item is back");
}

#[tokio::test]
async fn a_burst_gets_one_polite_cool_down_that_ends_on_time() {
    let host = spawn_host_with(|config| config.antispam = Limits::default()).await;
    let shop = Shop::open(&host, "toko-spam", 3007, json!({})).await;
    let spammer = 47_001;

    for _ in 0..10 {
        shop.say(spammer, "/help").await;
    }
    let texts = shop.texts(spammer, 6).await;
    let settled = host.settled_texts(3007, spammer).await;
    // The burst of five is served; a slow machine may let one more through as the bucket
    // refills (one action a second), but never the whole flood.
    let served = settled.iter().filter(|t| t.contains("Perintah:")).count();
    assert!((5..=6).contains(&served), "{served} served: {texts:?}");
    assert_eq!(
        settled.iter().filter(|t| t.contains("Pelan-pelan")).count(),
        1,
        "one notice, not a flood"
    );

    tokio::time::sleep(Limits::default().cooldown + Duration::from_millis(300)).await;
    shop.say(spammer, "/help").await;
    let after = shop.texts(spammer, settled.len() + 1).await;
    assert!(
        after.last().unwrap().contains("Perintah:"),
        "served again after the cool-down"
    );
}

#[tokio::test]
async fn texts_are_indonesian_by_default_and_english_for_an_english_store() {
    let host = spawn_host().await;
    let id_shop = Shop::open(&host, "toko-indo", 3008, json!({})).await;
    let en_shop = Shop::open(&host, "shop-english", 3009, json!({"locale": "en"})).await;
    en_shop.import(sample_catalog(&["e1"], 12_000)).await;

    id_shop.say(48_001, "/start").await;
    en_shop.say(48_001, "/start").await;
    en_shop.say(48_001, "🛍 All Products").await;

    assert!(
        id_shop
            .text_containing(48_001, "Selamat datang")
            .await
            .contains("pelanggan")
    );
    let welcome = en_shop.text_containing(48_001, "Welcome to").await;
    assert!(welcome.contains("customers"), "{welcome}");
    en_shop.text_containing(48_001, "Choose a category").await;
    let markup = host
        .telegram
        .calls(&crate::support::bot_token(3009), "sendMessage")[0]
        .body["reply_markup"]
        .to_string();
    assert!(
        markup.contains("All Products") && markup.contains("How to Order"),
        "{markup}"
    );
    assert_eq!(
        host.settled_texts(3008, 48_001).await.len(),
        1,
        "exactly one welcome"
    );
}

#[tokio::test]
async fn the_cart_and_an_open_conversation_survive_a_restart_mid_checkout() {
    let mut host = spawn_host().await;
    let (slug, bot) = ("toko-tahan-restart", 3010);
    let buyer = 49_001;
    let (secret, tenant, nfx) = {
        let shop = Shop::open(&host, slug, bot, json!({})).await;
        shop.import(sample_catalog(&["r1", "r2"], 10_000)).await;
        let nfx = shop.product_id("NFX").await;
        shop.add_to_cart(buyer, nfx, 2, 10_000).await;
        shop.press(buyer, Callback::Coupon).await;
        shop.text_containing(buyer, "Ketik kode kupon").await;
        (shop.secret.clone(), shop.tenant, nfx)
    };
    let _ = nfx;

    host.restart().await;

    let shop = Shop {
        host: &host,
        slug: slug.into(),
        bot,
        secret,
        tenant,
    };
    let mut tx = shop.tx().await;
    sqlx::query(
        "insert into coupons (tenant_id, code, kind, value) values ($1, 'HEMAT10', 'percent', 10)",
    )
    .bind(tenant)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    shop.say(buyer, "hemat10").await;
    let cart = shop.text_containing(buyer, "Diskon (HEMAT10)").await;
    assert!(
        cart.contains("Rp 20.000") && cart.contains("-Rp 2.000") && cart.contains("Rp 18.000"),
        "{cart}"
    );
    shop.press(buyer, Callback::Checkout).await;
    let invoice = shop.text_containing(buyer, "Pesanan INV").await;
    assert!(invoice.contains("Rp 18.000"), "{invoice}");
}

#[tokio::test]
async fn the_stock_board_and_the_store_texts_come_from_the_catalog() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-info", 3011, json!({})).await;
    shop.import(sample_catalog(&["s1", "s2", "s3"], 10_000))
        .await;
    let customer = 50_001;

    shop.say(customer, "🏷 Cek Stok").await;
    let board = shop.text_containing(customer, "Stok produk").await;
    assert!(
        board.contains("Netflix 1 Bulan: 3") && board.contains("Spotify 1 Bulan: 1"),
        "{board}"
    );
    shop.say(customer, "ℹ️ Informasi").await;
    shop.text_containing(customer, "Toko buka 24 jam.").await;
    shop.say(customer, "📘 Cara Order").await;
    shop.text_containing(customer, "Pilih produk, checkout, bayar.")
        .await;
    shop.say(customer, "💰 Deposit").await;
    shop.text_containing(customer, "Saldo kamu: <b>Rp 0</b>")
        .await;
    // The admin button is for admins only.
    shop.say(customer, "⚙️ Admin Settings").await;
    shop.text_containing(customer, "perintah tidak dikenal")
        .await;
    shop.say(777_000, "⚙️ Admin Settings").await;
    let summary = shop.text_containing(777_000, "Menu Admin").await;
    assert!(
        summary.contains("Spotify 1 Bulan (1)"),
        "low stock is listed: {summary}"
    );
}

#[tokio::test]
async fn the_stats_show_customers_orders_and_revenue_to_the_owner_only() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-angka", 3012, json!({})).await;
    Shop::open(&host, "toko-tetangga", 3013, json!({})).await;
    shop.import(sample_catalog(&["k1", "k2"], 20_000)).await;
    let nfx = shop.product_id("NFX").await;
    let buyer = 51_001;
    shop.credit(buyer, 50_000).await;
    shop.say(51_002, "/start").await;
    shop.press(
        buyer,
        Callback::Add {
            id: nfx,
            qty: 1,
            price: 20_000,
        },
    )
    .await;
    shop.press(buyer, Callback::Checkout).await;
    shop.text_containing(buyer, "Pesanan INV").await;
    let (order, _, _) = shop.last_order(buyer).await.unwrap();
    shop.press(buyer, Callback::PayBalance { order }).await;
    shop.text_containing(buyer, "ini barang kamu").await;

    let owner = host.owner_token("toko-angka").await;
    let (status, stats) = host
        .api(
            reqwest::Method::GET,
            "/api/v1/tenants/toko-angka/stats",
            Some(&owner),
            None,
        )
        .await;

    assert_eq!(status, reqwest::StatusCode::OK, "{stats}");
    assert_eq!(stats["customers"]["total"], 2);
    assert_eq!(stats["customers"]["active_7_days"], 2);
    let paid = stats["orders"]["by_status"]["paid"].as_i64().unwrap_or(0)
        + stats["orders"]["by_status"]["delivered"]
            .as_i64()
            .unwrap_or(0);
    assert_eq!(paid, 1, "{stats}");
    assert_eq!(stats["by_day"][0]["orders"], 1);
    assert_eq!(stats["by_day"][0]["revenue"], 20_000);
    assert_eq!(stats["handler_errors"], 0);

    let neighbour = host.owner_token("toko-tetangga").await;
    let (status, _) = host
        .api(
            reqwest::Method::GET,
            "/api/v1/tenants/toko-angka/stats",
            Some(&neighbour),
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN);
    let (status, body) = host
        .api(
            reqwest::Method::GET,
            "/api/v1/tenants/toko-angka/stats?days=0",
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{body}");
}

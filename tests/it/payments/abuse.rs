//! What one customer, or anyone who knows an order id, can make the host do: webhooks that ask
//! Pakasir at most once per payment and window, one open deposit per customer, a cap on unpaid
//! orders, and a payments pass that no single store can hold up.

use std::time::Duration;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;
use time::OffsetDateTime;
use tokobot::{
    bot::callbacks::Callback,
    pakasir::{Credentials, Method as PayMethod, PakasirClient},
    secret::Secret,
    store::payments::{self, Kind, NewPayment},
};

use super::{API_KEY, OWNER, Shop, goods_title, pass_after};
use crate::support::{TestHost, fake_pakasir::FakeFailure, spawn_host};

const BUYER: i64 = 65001;
const OTHER_BUYER: i64 = 65002;
const THIRD_BUYER: i64 = 65003;

/// `transactiondetail` calls the fake Pakasir received for `order_id`.
fn detail_calls(host: &TestHost, order_id: &str) -> usize {
    host.pakasir
        .calls()
        .iter()
        .filter(|(path, query)| {
            path == "GET /api/transactiondetail" && query["order_id"] == order_id
        })
        .count()
}

#[tokio::test]
async fn repeated_webhooks_ask_pakasir_nothing_for_a_settled_payment_and_once_a_window_for_a_pending_one()
 {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-banjir", 3501).await;
    let settled = shop.buy_by_qris(BUYER, "NFX", 1).await;
    shop.simulate_payment(&settled).await;
    shop.wait_text(BUYER, &goods_title(&settled.code)).await;
    let pending = shop.buy_by_qris(OTHER_BUYER, "ML", 1).await;
    let checked_before = detail_calls(&host, &settled.code);

    // Thirty replays of the settled payment's webhook, all at once.
    let genuine = host.pakasir.webhook_body(&settled.code);
    let replays = join_all((0..30).map(|_| shop.post_webhook(&genuine))).await;
    // Thirty claims that the pending payment was paid, all at once.
    let mut claim = host.pakasir.webhook_body(&pending.code);
    claim["status"] = json!("completed");
    claim["completed_at"] = json!("2026-12-03T10:00:00.000+07:00");
    let claims = join_all((0..30).map(|_| shop.post_webhook(&claim))).await;

    assert!(replays.iter().all(|s| *s == StatusCode::OK), "{replays:?}");
    assert_eq!(detail_calls(&host, &settled.code), checked_before);
    assert_eq!(
        detail_calls(&host, &pending.code),
        1,
        "one check per window"
    );
    let refused = |status| claims.iter().filter(|s| **s == status).count();
    assert_eq!(refused(StatusCode::CONFLICT), 1, "{claims:?}");
    assert_eq!(refused(StatusCode::TOO_MANY_REQUESTS), 29, "{claims:?}");
    let answer = host
        .http
        .post(host.pakasir_webhook_url(&shop.slug))
        .json(&claim)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["retry-after"], "30");
    assert_eq!(shop.payment_status(&pending.code).await, "pending");

    // The limit is per payment: another customer's genuine payment settles at once.
    let third = shop.buy_by_qris(THIRD_BUYER, "ML", 1).await;
    shop.simulate_payment(&third).await;
    shop.wait_text(THIRD_BUYER, &goods_title(&third.code)).await;

    // The pending payment is paid now; its webhook falls in the window, so the
    // reconciliation pass settles it.
    host.pakasir.pay(&pending.code);
    assert_eq!(host.pakasir.fire_webhook(&pending.code).await, Ok(429));
    assert_eq!(shop.payment_status(&pending.code).await, "pending");
    let pass = pass_after(&host, 2).await;
    assert_eq!(pass.settled, 1, "{pass:?}");
    shop.wait_text(OTHER_BUYER, &goods_title(&pending.code))
        .await;
    assert_eq!(shop.payment_status(&pending.code).await, "completed");
}

#[tokio::test]
async fn a_second_deposit_request_shows_the_open_invoice_and_the_database_refuses_a_second_one() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-satu-deposit", 3502).await;
    shop.say(BUYER, "💰 Deposit").await;
    shop.wait_text(BUYER, "minimal Rp 10.000").await;
    shop.say(BUYER, "25000").await;
    shop.wait_photos(BUYER, 1).await;

    // Four more requests in a row: each shows the open invoice again.
    for shown in 2..=5 {
        shop.say(BUYER, "💰 Deposit").await;
        shop.wait_photos(BUYER, shown).await;
    }

    let texts = shop
        .wait_text(BUYER, "masih punya invoice deposit Rp 25.000")
        .await;
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("minimal Rp 10.000"))
            .count(),
        1,
        "the amount is asked once: {texts:#?}"
    );
    let creates = host
        .pakasir
        .calls()
        .iter()
        .filter(|(path, _)| path.starts_with("POST /api/transactioncreate"))
        .count();
    assert_eq!(creates, 1);
    let open: Vec<(i64, i64)> = {
        let mut tx = shop.tx().await;
        sqlx::query_as(
            "select id, amount from payments where kind = 'deposit' and status = 'pending'",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap()
    };
    assert_eq!(open.len(), 1, "{open:?}");
    let (open_id, _) = open[0];

    // The database holds the rule too: a second pending deposit of the customer is refused.
    let mut tx = shop.tx().await;
    let expires = OffsetDateTime::now_utc() + time::Duration::minutes(15);
    let second = NewPayment {
        kind: Kind::Deposit,
        order_id: None,
        customer_id: BUYER,
        gateway_order_id: "DEPRACE00001",
        method: "qris",
        amount: 30_000,
        fee: 0,
        total_payment: 30_000,
        payment_number: "000201",
        expired_at: expires,
        expires_at: expires,
    };
    let refused = payments::insert(&mut tx, shop.tenant, &second)
        .await
        .expect_err("a second pending deposit is refused");
    assert!(payments::is_second_pending_deposit(&refused), "{refused}");
    drop(tx);

    // Cancelling the open invoice lets the customer ask for a new amount.
    shop.press(BUYER, Callback::CancelPayment { payment: open_id })
        .await;
    shop.wait_text(BUYER, "Invoice deposit Rp 25.000 dibatalkan")
        .await;
    shop.say(BUYER, "💰 Deposit").await;
    shop.say(BUYER, "30000").await;
    let photos = shop.wait_photos(BUYER, 6).await;
    let caption = photos.last().unwrap().body["caption"].as_str().unwrap();
    assert!(caption.contains("Rp 30.000"), "{caption}");
    let mut tx = shop.tx().await;
    let pending: Vec<i64> = sqlx::query_scalar(
        "select amount from payments where kind = 'deposit' and status = 'pending'",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(pending, [30_000]);
}

#[tokio::test]
async fn the_fourth_unpaid_order_is_refused_politely_until_one_is_paid_or_cancelled() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-penimbun", 3503).await;
    let mut orders = Vec::new();
    for _ in 0..3 {
        orders.push(shop.checkout(BUYER, "ML", 1).await);
    }

    let (ml, price) = shop.product("ML").await;
    shop.press(
        BUYER,
        Callback::Add {
            id: ml,
            qty: 1,
            price,
        },
    )
    .await;
    shop.press(BUYER, Callback::Checkout).await;

    shop.wait_text(
        BUYER,
        "Kamu masih punya 3 pesanan yang belum dibayar (batasnya 3)",
    )
    .await;
    let mut tx = shop.tx().await;
    let unpaid: i64 = sqlx::query_scalar(
        "select count(*) from orders where customer_id = $1 and status = 'awaiting_payment'",
    )
    .bind(BUYER)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    drop(tx);
    assert_eq!(unpaid, 3);
    assert_eq!(shop.stock("ML", "reserved").await, 3);
    assert_eq!(shop.stock("ML", "available").await, 2);

    // Another customer is not held to this one's orders.
    shop.checkout(OTHER_BUYER, "ML", 1).await;
    assert_eq!(shop.stock("ML", "reserved").await, 4);

    // Cancelling one makes room; the cart kept its item, so checkout goes through.
    shop.press(
        BUYER,
        Callback::Cancel {
            order: orders[0].order_id,
        },
    )
    .await;
    shop.wait_text(BUYER, "Pesanan dibatalkan").await;
    shop.press(BUYER, Callback::Checkout).await;
    let telegram = host.telegram.clone();
    let token = shop.token();
    host.telegram
        .wait_for("a fourth order created", |_| {
            let texts = telegram.sent_texts(&token, BUYER);
            texts
                .iter()
                .filter(|t| t.contains("Selesaikan pembayaran"))
                .count()
                == 4
        })
        .await;
    assert_eq!(shop.stock("ML", "reserved").await, 4);

    // The store sets its own cap, within 1 to 20.
    let token = host.owner_token(&shop.slug).await;
    let path = format!("/api/v1/tenants/{}", shop.slug);
    let patch = |cap: u32| {
        let body = json!({"settings": {"max_unpaid_orders": cap}});
        host.api(Method::PATCH, &path, Some(&token), Some(body))
    };
    for refused in [0, 21] {
        let (status, answer) = patch(refused).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(
            answer["error"]["fields"][0]["field"],
            "settings.max_unpaid_orders"
        );
    }
    let (status, answer) = patch(5).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["settings"]["max_unpaid_orders"], 5);

    // The owner changes it from the bot's settings screen too.
    shop.press_raw(OWNER, "a:se").await;
    shop.text_containing(OWNER, "Pesanan belum dibayar per pelanggan: maksimal 5")
        .await;
    shop.press_raw(OWNER, "a:se:n:unp").await;
    shop.text_containing(OWNER, "Sekarang: 5").await;
    shop.say(OWNER, "2").await;
    shop.text_containing(OWNER, "Pengaturan disimpan").await;
    let (_, store) = host.api(Method::GET, &path, Some(&token), None).await;
    assert_eq!(store["settings"]["max_unpaid_orders"], 2);
}

#[tokio::test]
async fn a_store_with_a_backlog_of_due_payments_does_not_keep_another_store_out_of_the_pass() {
    let host = spawn_host().await;
    let crowded = Shop::open(&host, "toko-ramai", 3504).await;
    let quiet = Shop::open(&host, "toko-sepi", 3505).await;
    // Two hundred and fifty unpaid deposits of the crowded store, all due before the quiet
    // store's: created at Pakasir and recorded as the bot records them.
    let pakasir = PakasirClient::new(reqwest::Client::new(), &host.pakasir.url());
    let key = Secret::new(API_KEY.to_owned());
    let project = crowded.project();
    let creds = Credentials {
        project: &project,
        api_key: &key,
    };
    let mut tx = crowded.tx().await;
    for n in 0..250 {
        let code = format!("DEPBULK{n:05}");
        let invoice = pakasir
            .create(&creds, PayMethod::Qris, &code, 10_000)
            .await
            .unwrap();
        let deposit = NewPayment {
            kind: Kind::Deposit,
            order_id: None,
            customer_id: 900_000 + n,
            gateway_order_id: &code,
            method: &invoice.payment_method,
            amount: invoice.amount,
            fee: invoice.fee,
            total_payment: invoice.total_payment,
            payment_number: &invoice.payment_number,
            expired_at: invoice.expired_at,
            expires_at: invoice.expired_at,
        };
        payments::insert(&mut tx, crowded.tenant, &deposit)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let paid = quiet.buy_by_qris(BUYER, "NFX", 1).await;
    // The customer paid but the webhook was lost: only the pass can tell.
    host.pakasir.pay(&paid.code);

    let pass = pass_after(&host, 2).await;

    assert_eq!(pass.settled, 1, "{pass:?}");
    assert_eq!(pass.pending, 10, "{pass:?}");
    quiet.wait_text(BUYER, &goods_title(&paid.code)).await;
    // The crowded store had its share, no more: the rest wait for the next passes.
    let checked = host
        .pakasir
        .calls()
        .iter()
        .filter(|(path, query)| {
            path == "GET /api/transactiondetail" && query["project"] == crowded.project()
        })
        .count();
    assert_eq!(checked, 10, "{pass:?}");
}

#[tokio::test]
async fn a_store_whose_pakasir_is_slow_does_not_delay_another_stores_settlement() {
    let host = spawn_host().await;
    let slow = Shop::open(&host, "toko-lambat", 3506).await;
    let quick = Shop::open(&host, "toko-cepat", 3507).await;
    for buyer in [BUYER, OTHER_BUYER, THIRD_BUYER] {
        slow.buy_by_qris(buyer, "ML", 1).await;
    }
    let paid = quick.buy_by_qris(BUYER, "NFX", 1).await;
    host.pakasir.pay(&paid.code);
    // Every status check of the slow store's invoices takes five seconds.
    let project = format!("project={}", slow.project());
    host.pakasir
        .fail_next(&project, FakeFailure::Slow(Duration::from_secs(5)), 10);

    // The quick store's payment is settled while the slow store's first check still waits
    // (one after another, it would wait for all three: fifteen seconds).
    let settled = async {
        let started = tokio::time::Instant::now();
        while quick.payment_status(&paid.code).await != "completed" {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        started.elapsed()
    };
    let (pass, settled_after) = tokio::join!(pass_after(&host, 2), settled);

    // Less than one slow check: the quick store waited for none of the slow store's.
    assert!(
        settled_after < Duration::from_secs(5),
        "the quick store's payment waited {settled_after:?} for the slow store's"
    );
    quick.wait_text(BUYER, &goods_title(&paid.code)).await;
    assert_eq!(pass.settled, 1, "{pass:?}");
    assert_eq!(pass.pending, 3, "{pass:?}");
}

//! The Pakasir webhook: replays and duplicates change nothing twice, forgeries change nothing,
//! and a webhook that cannot be verified is left to reconciliation.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use super::{OWNER, Shop, goods_title, pass_after};
use crate::support::{fake_pakasir::FakeFailure, spawn_host};

const BUYER: i64 = 62001;

#[tokio::test]
async fn the_same_webhook_twenty_times_at_once_and_replayed_ten_times_delivers_once() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-replay", 3201).await;
    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;
    // The customer pays; the webhook is then delivered twenty times at once.
    host.pakasir.pay(&invoice.code);
    let body = host.pakasir.webhook_body(&invoice.code);

    let answers = join_all((0..20).map(|_| shop.post_webhook(&body))).await;
    for _ in 0..10 {
        assert_eq!(host.pakasir.fire_webhook(&invoice.code).await, Ok(200));
    }

    assert!(answers.iter().all(|s| *s == StatusCode::OK), "{answers:?}");
    // The messages go out after the answer, in a task of their own: wait for each first.
    shop.wait_text(BUYER, &goods_title(&invoice.code)).await;
    shop.wait_text(BUYER, "Pembayaran Rp 25.485").await;
    shop.wait_text(OWNER, "Pembayaran masuk").await;
    assert_eq!(
        shop.count_texts(BUYER, &goods_title(&invoice.code)).await,
        1
    );
    assert_eq!(shop.count_texts(BUYER, "Pembayaran Rp 25.485").await, 1);
    assert_eq!(shop.count_texts(OWNER, "Pembayaran masuk").await, 1);
    assert_eq!(shop.outbox_rows("deliver_order").await, 1);
    assert_eq!(shop.outbox_rows("payment_received").await, 1);
    assert_eq!(shop.stock("NFX", "sold").await, 1);
    let mut tx = shop.tx().await;
    let ledger: i64 = sqlx::query_scalar("select count(*) from balance_ledger")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(ledger, 0, "an order paid once is not credited too");
}

#[tokio::test]
async fn forged_webhooks_deliver_nothing() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-asli", 3202).await;
    let other = Shop::open(&host, "toko-lain", 3203).await;
    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;
    let elsewhere = other.buy_by_qris(BUYER, "NFX", 1).await;
    host.pakasir.pay(&elsewhere.code);
    let genuine = host.pakasir.webhook_body(&invoice.code);
    let claim = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut body = genuine.clone();
        body["status"] = json!("completed");
        body["completed_at"] = json!("2026-11-24T10:00:00.000+07:00");
        change(&mut body);
        body
    };

    // Pakasir's transactiondetail says the invoice is still pending.
    assert_eq!(
        shop.post_webhook(&claim(&|_| {})).await,
        StatusCode::CONFLICT
    );
    // The total instead of the base amount, or any other amount.
    let total = claim(&|b| b["amount"] = json!(25_485));
    assert_eq!(shop.post_webhook(&total).await, StatusCode::CONFLICT);
    let wrong_project = claim(&|b| b["project"] = json!("proj-toko-lain"));
    assert_eq!(
        shop.post_webhook(&wrong_project).await,
        StatusCode::CONFLICT
    );
    let unknown = claim(&|b| b["order_id"] = json!("INV999999ZZZZZ"));
    assert_eq!(shop.post_webhook(&unknown).await, StatusCode::NOT_FOUND);
    // Another store's paid order on this store's path.
    let foreign = host.pakasir.webhook_body(&elsewhere.code);
    assert_eq!(shop.post_webhook(&foreign).await, StatusCode::NOT_FOUND);
    let nowhere = host
        .http
        .post(host.pakasir_webhook_url("no-such-store"))
        .json(&genuine)
        .send()
        .await
        .unwrap();
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    let garbage = host
        .http
        .post(host.pakasir_webhook_url(&shop.slug))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);

    assert_eq!(shop.payment_status(&invoice.code).await, "pending");
    assert_eq!(
        shop.order_status(invoice.order_id).await,
        "awaiting_payment"
    );
    assert_eq!(shop.stock("NFX", "reserved").await, 1);
    assert_eq!(
        shop.count_texts(BUYER, &goods_title(&invoice.code)).await,
        0
    );
    assert_eq!(other.payment_status(&elsewhere.code).await, "pending");
    assert_eq!(
        other
            .count_texts(BUYER, &goods_title(&elsewhere.code))
            .await,
        0
    );
    // The genuine webhook on the right path is still accepted.
    assert_eq!(other.post_webhook(&foreign).await, StatusCode::OK);
    other.wait_text(BUYER, &goods_title(&elsewhere.code)).await;
}

#[tokio::test]
async fn a_webhook_that_cannot_be_verified_changes_nothing_and_reconciliation_delivers_later() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-sabar", 3204).await;
    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;
    // transactiondetail fails all three attempts the client makes.
    host.pakasir
        .fail_next("transactiondetail", FakeFailure::Down, 3);

    shop.simulate_payment(&invoice).await;
    let pakasir = host.pakasir.clone();
    host.telegram
        .wait_for("the webhook to be answered", |_| {
            !pakasir.deliveries().is_empty()
        })
        .await;

    assert_eq!(host.pakasir.deliveries()[0].status, Some(503));
    assert_eq!(shop.payment_status(&invoice.code).await, "pending");
    assert_eq!(
        shop.order_status(invoice.order_id).await,
        "awaiting_payment"
    );
    assert_eq!(shop.stock("NFX", "reserved").await, 1);
    assert_eq!(
        shop.count_texts(BUYER, &goods_title(&invoice.code)).await,
        0
    );

    // Pakasir answers again; the next reconciliation pass finds the payment completed.
    let pass = pass_after(&host, 2).await;
    assert_eq!(pass.settled, 1, "{pass:?}");
    shop.wait_text(BUYER, &goods_title(&invoice.code)).await;
    assert_eq!(host.pakasir.fire_webhook(&invoice.code).await, Ok(200));
    assert_eq!(
        shop.count_texts(BUYER, &goods_title(&invoice.code)).await,
        1
    );
    assert_eq!(shop.payment_status(&invoice.code).await, "completed");
}

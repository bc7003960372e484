//! Unpaid invoices expire (cancelled at Pakasir first); payments that arrive late or while
//! the host is down are never lost.

use super::{OWNER, Shop, goods_title, pass_after};
use crate::support::spawn_host;

const BUYER: i64 = 63001;
const OTHER_BUYER: i64 = 63002;

#[tokio::test]
async fn expiry_cancels_at_pakasir_releases_stock_and_a_late_payment_is_still_delivered() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-kedaluwarsa", 3301).await;
    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;
    assert_eq!(shop.stock("NFX", "reserved").await, 1);

    let pass = pass_after(&host, 60).await;

    assert_eq!(pass.closed, 1, "{pass:?}");
    let cancelled = host.pakasir.calls().into_iter().any(|(path, body)| {
        path == "POST /api/transactioncancel" && body["order_id"] == invoice.code
    });
    assert!(cancelled, "the invoice was cancelled at Pakasir");
    assert_eq!(
        host.pakasir.status_of(&invoice.code).as_deref(),
        Some("cancelled")
    );
    assert_eq!(shop.payment_status(&invoice.code).await, "expired");
    assert_eq!(shop.order_status(invoice.order_id).await, "expired");
    assert_eq!(shop.stock("NFX", "reserved").await, 0);
    assert_eq!(shop.stock("NFX", "available").await, 2);
    shop.wait_text(BUYER, &format!("Pesanan {} kedaluwarsa", invoice.code))
        .await;
    host.telegram
        .wait_for("the invoice photo deleted", |requests| {
            requests.iter().any(|r| r.method == "deletemessage")
        })
        .await;

    // The customer had paid at the last moment: Pakasir reports it afterwards.
    host.pakasir.pay(&invoice.code);
    assert_eq!(host.pakasir.fire_webhook(&invoice.code).await, Ok(200));

    let texts = shop.wait_text(BUYER, &goods_title(&invoice.code)).await;
    assert!(
        texts
            .iter()
            .any(|t| t.contains("setelah invoice kedaluwarsa")),
        "{texts:#?}"
    );
    shop.wait_text(OWNER, "Masuk setelah kedaluwarsa").await;
    assert_eq!(shop.payment_status(&invoice.code).await, "completed");
    assert_eq!(shop.stock("NFX", "sold").await, 1);
    assert_eq!(shop.stock("NFX", "available").await, 1);
    assert_eq!(host.pakasir.fire_webhook(&invoice.code).await, Ok(200));
    assert_eq!(
        shop.count_texts(BUYER, &goods_title(&invoice.code)).await,
        1
    );
}

#[tokio::test]
async fn a_late_payment_whose_goods_are_gone_is_credited_to_the_balance_once() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-telat", 3302).await;
    let late = shop.buy_by_qris(BUYER, "SPT", 1).await;
    assert_eq!(pass_after(&host, 60).await.closed, 1);
    // Meanwhile another customer buys the last Spotify account.
    let sold = shop.buy_by_qris(OTHER_BUYER, "SPT", 1).await;
    shop.simulate_payment(&sold).await;
    shop.wait_text(OTHER_BUYER, &goods_title(&sold.code)).await;

    host.pakasir.pay(&late.code);
    assert_eq!(host.pakasir.fire_webhook(&late.code).await, Ok(200));
    assert_eq!(host.pakasir.fire_webhook(&late.code).await, Ok(200));

    let texts = shop.wait_text(BUYER, "masuk ke saldo kamu").await;
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Rp 15.000") && t.contains(&late.code)),
        "{texts:#?}"
    );
    shop.wait_text(OWNER, "dana masuk ke saldo pelanggan").await;
    assert_eq!(shop.order_status(late.order_id).await, "expired");
    let mut tx = shop.tx().await;
    let ledger: Vec<(i64, String, String)> = sqlx::query_as(
        "select amount, reason, reference from balance_ledger where customer_id = $1",
    )
    .bind(BUYER)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(
        ledger,
        [(15_000, "late_payment".to_owned(), late.code.clone())]
    );
    let balance: i64 = sqlx::query_scalar("select balance from balances where customer_id = $1")
        .bind(BUYER)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(balance, 15_000);
    drop(tx);
    assert_eq!(shop.count_texts(BUYER, &goods_title(&late.code)).await, 0);
}

#[tokio::test]
async fn a_payment_made_while_the_host_was_down_is_delivered_once_after_the_restart() {
    let mut host = spawn_host().await;
    let invoice = {
        let shop = Shop::open(&host, "toko-mati", 3303).await;
        shop.buy_by_qris(BUYER, "NFX", 1).await
    };

    // The host goes away; Pakasir marks the payment paid and its webhook finds nobody.
    host.stop().await;
    host.pakasir.pay(&invoice.code);
    assert!(host.pakasir.fire_webhook(&invoice.code).await.is_err());
    host.start().await;

    let shop = Shop::reopen(&host, "toko-mati", 3303).await;
    let pass = pass_after(&host, 2).await;
    assert_eq!(pass.settled, 1, "{pass:?}");
    shop.wait_text(BUYER, &goods_title(&invoice.code)).await;
    // The webhook Pakasir retries arrives after all.
    assert_eq!(host.pakasir.fire_webhook(&invoice.code).await, Ok(200));
    assert_eq!(pass_after(&host, 5).await, Default::default());
    assert_eq!(
        shop.count_texts(BUYER, &goods_title(&invoice.code)).await,
        1
    );
    assert_eq!(shop.outbox_rows("deliver_order").await, 1);
}

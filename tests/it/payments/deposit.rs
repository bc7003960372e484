//! Balance top-ups by QRIS.

use futures::future::join_all;
use reqwest::StatusCode;

use super::{Invoiced, OWNER, Shop};
use crate::support::spawn_host;

const CUSTOMER: i64 = 64001;

#[tokio::test]
async fn a_deposit_credits_the_base_amount_not_the_total_exactly_once() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-deposit", 3401).await;

    // A menu button instead of an amount leaves the conversation.
    shop.say(CUSTOMER, "💰 Deposit").await;
    shop.wait_text(CUSTOMER, "minimal Rp 10.000").await;
    shop.say(CUSTOMER, "🏷 Cek Stok").await;
    shop.wait_text(CUSTOMER, "Stok produk").await;
    shop.say(CUSTOMER, "💰 Deposit").await;
    let asked = shop.wait_text(CUSTOMER, "minimal Rp 10.000").await;
    assert!(
        asked.iter().any(|t| t.contains("Saldo kamu: <b>Rp 0</b>")),
        "{asked:#?}"
    );
    shop.say(CUSTOMER, "5.000").await;
    shop.wait_text(CUSTOMER, "Jumlah tidak valid").await;
    shop.say(CUSTOMER, "Rp 25.000").await;
    let photo = shop.wait_photos(CUSTOMER, 1).await.pop().unwrap();

    let caption = photo.body["caption"].as_str().unwrap();
    assert!(caption.contains("Deposit saldo"), "{caption}");
    assert!(caption.contains("Total bayar: Rp 25.485"), "{caption}");
    let code: String = {
        let mut tx = shop.tx().await;
        sqlx::query_scalar("select gateway_order_id from payments where kind = 'deposit'")
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    let deposit = Invoiced {
        order_id: 0,
        code: code.clone(),
        amount: 25_000,
    };
    shop.simulate_payment(&deposit).await;
    shop.wait_text(CUSTOMER, "Deposit Rp 25.000 masuk").await;
    // Replays, in a row and at once.
    for _ in 0..3 {
        assert_eq!(host.pakasir.fire_webhook(&code).await, Ok(200));
    }
    let body = host.pakasir.webhook_body(&code);
    let answers = join_all((0..10).map(|_| shop.post_webhook(&body))).await;
    assert!(answers.iter().all(|s| *s == StatusCode::OK), "{answers:?}");

    let mut tx = shop.tx().await;
    let ledger: Vec<(i64, String, String)> = sqlx::query_as(
        "select amount, reason, reference from balance_ledger where customer_id = $1",
    )
    .bind(CUSTOMER)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(ledger, [(25_000, "deposit".to_owned(), code.clone())]);
    let balance: i64 = sqlx::query_scalar("select balance from balances where customer_id = $1")
        .bind(CUSTOMER)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(balance, 25_000);
    drop(tx);
    assert_eq!(
        shop.count_texts(CUSTOMER, "Deposit Rp 25.000 masuk").await,
        1
    );
    assert_eq!(shop.count_texts(OWNER, "Deposit saldo").await, 1);
    assert_eq!(shop.payment_status(&code).await, "completed");
}

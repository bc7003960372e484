//! When the gateway fails: the customer can retry, the owner is alerted once per streak, and
//! an admin can mark an order paid by hand.

use std::time::Duration;

use serde_json::json;
use tokobot::bot::callbacks::Callback;

use super::{OWNER, Shop, goods_title};
use crate::support::{fake_pakasir::FakeFailure, spawn_host};

const BUYER: i64 = 66001;

#[tokio::test]
async fn three_gateway_failures_alert_the_owner_once_and_the_customer_can_retry() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-gangguan", 3601).await;
    // Four creates fail (a 500 is not retried by the client), then Pakasir recovers.
    host.pakasir
        .fail_next("transactioncreate", FakeFailure::ServerError, 4);

    // Four customers run into the outage, one after another.
    let mut orders = Vec::new();
    for customer in BUYER..BUYER + 4 {
        let order = shop.checkout(customer, "ML", 1).await;
        shop.press(
            customer,
            Callback::PayQris {
                order: order.order_id,
            },
        )
        .await;
        shop.wait_text(customer, "Gateway pembayaran sedang gangguan")
            .await;
        orders.push(order);
    }
    let retry = host
        .telegram
        .calls(&shop.token(), "editmessagetext")
        .into_iter()
        .rfind(|r| r.body["chat_id"] == BUYER)
        .expect("the order message offers a retry");
    let buttons = retry.body["reply_markup"]["inline_keyboard"].to_string();
    assert!(buttons.contains("🔄 Coba lagi"), "{buttons}");
    assert!(buttons.contains("💼 Saldo"), "{buttons}");
    // The first customer retries once Pakasir is back.
    shop.press(
        BUYER,
        Callback::PayQris {
            order: orders[0].order_id,
        },
    )
    .await;
    shop.wait_photos(BUYER, 1).await;

    assert_eq!(shop.count_texts(OWNER, "gagal 3× berturut-turut").await, 1);
    let alert = shop.wait_text(OWNER, "gagal 3×").await;
    assert!(!alert.iter().any(|t| t.contains("pk_test")), "{alert:#?}");
    let mut tx = shop.tx().await;
    let failures: i32 = sqlx::query_scalar("select consecutive_failures from gateway_health")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(failures, 0, "the successful create ended the streak");
}

#[tokio::test]
async fn an_admin_marks_an_order_paid_by_hand_and_the_audit_log_records_it() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-manual", 3602).await;
    let order = shop.checkout(BUYER, "NFX", 1).await;

    shop.say(BUYER, &format!("/lunas {}", order.code)).await;
    shop.wait_text(BUYER, "Hanya admin").await;
    assert_eq!(shop.order_status(order.order_id).await, "awaiting_payment");
    shop.say(OWNER, &format!("/lunas {}", order.code.to_lowercase()))
        .await;
    shop.wait_text(OWNER, "ditandai lunas secara manual").await;
    let texts = shop.wait_text(BUYER, &goods_title(&order.code)).await;
    assert!(
        texts.iter().any(|t| t.contains("dikonfirmasi admin")),
        "{texts:#?}"
    );
    shop.wait_text(BUYER, "Kirim screenshot login").await;
    shop.say(OWNER, &format!("/lunas {}", order.code)).await;
    shop.wait_text(OWNER, "sudah dibayar").await;

    assert_eq!(shop.count_texts(BUYER, &goods_title(&order.code)).await, 1);
    assert_eq!(shop.stock("NFX", "sold").await, 1);
    let mut tx = shop.tx().await;
    let method: Option<String> =
        sqlx::query_scalar("select payment_method from orders where id = $1")
            .bind(order.order_id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(method.as_deref(), Some("manual"));
    let audit: Vec<(
        Option<i64>,
        String,
        String,
        serde_json::Value,
        serde_json::Value,
    )> = sqlx::query_as(
        // The catalog import that set the store up has its own row; this test is about orders.
        "select actor, action, subject, before, after from audit_log where action like 'order.%'",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(
        audit,
        [(
            Some(OWNER),
            "order.mark_paid".to_owned(),
            order.code.clone(),
            json!({"status": "awaiting_payment"}),
            json!({"status": "paid", "payment_method": "manual"}),
        )]
    );
}

#[tokio::test]
async fn a_slow_gateway_holds_up_neither_the_customer_nor_the_store() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-lambat", 3603).await;
    let order = shop.checkout(BUYER, "ML", 1).await;
    let photos = shop.photos(BUYER).len();
    host.pakasir.fail_next(
        "transactioncreate",
        FakeFailure::Slow(Duration::from_secs(4)),
        1,
    );
    shop.press(
        BUYER,
        Callback::PayQris {
            order: order.order_id,
        },
    )
    .await;
    // While Pakasir makes the invoice, the same customer's next message is answered at once:
    // the update that asked for the invoice does not wait for it.
    let (token, telegram) = (shop.token(), host.telegram.clone());
    let before = telegram.sent_texts(&token, BUYER).len();
    shop.say(BUYER, "/start").await;
    host.telegram
        .wait_for("the answer to /start", |_| {
            telegram.sent_texts(&token, BUYER).len() > before
        })
        .await;
    // Answered before the invoice exists: had the update waited for Pakasir, the invoice would
    // have come first. (An order, not a time: a loaded machine slows both alike.)
    assert_eq!(
        shop.photos(BUYER).len(),
        photos,
        "the answer to /start waited for the invoice"
    );
    // A second press meanwhile asks Pakasir for nothing more.
    shop.press(
        BUYER,
        Callback::PayQris {
            order: order.order_id,
        },
    )
    .await;
    // And the invoice arrives when it is ready, once.
    shop.wait_photos(BUYER, photos + 1).await;
    let creates = host
        .pakasir
        .calls()
        .into_iter()
        .filter(|(path, _)| path.contains("transactioncreate"))
        .count();
    assert_eq!(creates, 1);
}

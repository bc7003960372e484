//! Balance top-ups by QRIS.

use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;

use super::{Invoiced, OWNER, Shop};
use crate::support::{fake_pakasir::FakeFailure, spawn_host};

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

/// The deposits of `customer` still pending, by amount.
async fn pending_deposits(shop: &Shop<'_>, customer: i64) -> Vec<i64> {
    let mut tx = shop.tx().await;
    sqlx::query_scalar(
        "select amount from payments \
         where kind = 'deposit' and status = 'pending' and customer_id = $1",
    )
    .bind(customer)
    .fetch_all(&mut *tx)
    .await
    .unwrap()
}

/// Whether a message to the customer was edited into a text containing `needle`.
fn edited(host: &crate::support::TestHost, token: &str, needle: &str) -> bool {
    host.telegram
        .calls(token, "editmessagetext")
        .iter()
        .any(|r| {
            r.body["chat_id"] == CUSTOMER
                && r.body["text"].as_str().is_some_and(|t| t.contains(needle))
        })
}

fn creates(host: &crate::support::TestHost) -> usize {
    host.pakasir
        .calls()
        .iter()
        .filter(|(path, _)| path.contains("transactioncreate"))
        .count()
}

#[tokio::test]
async fn a_slow_pakasir_holds_up_no_top_up_the_waiting_message_is_edited_when_the_invoice_is_sent()
{
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-deposit-lambat", 3402).await;
    shop.say(CUSTOMER, "💰 Deposit").await;
    shop.wait_text(CUSTOMER, "minimal Rp 10.000").await;
    host.pakasir.fail_next(
        "transactioncreate",
        FakeFailure::Slow(Duration::from_secs(4)),
        1,
    );

    shop.say(CUSTOMER, "25000").await;
    // The amount is answered while Pakasir is still making the invoice: had the update waited
    // for Pakasir, the photo would have come first. (An order, not a time.)
    shop.wait_text(CUSTOMER, "Sedang membuat QRIS").await;
    assert!(
        shop.photos(CUSTOMER).is_empty(),
        "the answer waited for the invoice"
    );
    // The amount typed again meanwhile asks Pakasir for nothing more.
    shop.say(CUSTOMER, "25000").await;
    let token = shop.token();
    let telegram = host.telegram.clone();
    host.telegram
        .wait_for("the second 'one moment'", |_| {
            telegram
                .sent_texts(&token, CUSTOMER)
                .iter()
                .filter(|t| t.contains("Sedang membuat QRIS"))
                .count()
                >= 2
        })
        .await;
    assert!(shop.photos(CUSTOMER).is_empty());

    // The invoice arrives when it is ready, and the first waiting message says so.
    let photo = shop.wait_photos(CUSTOMER, 1).await.pop().unwrap();
    let caption = photo.body["caption"].as_str().unwrap();
    assert!(caption.contains("Total bayar: Rp 25.485"), "{caption}");
    shop.wait_text(CUSTOMER, "Invoice deposit Rp 25.000 sudah dibuat")
        .await;
    assert!(
        edited(&host, &token, "sudah dibuat"),
        "the waiting message itself is edited"
    );
    assert_eq!(creates(&host), 1);
    assert_eq!(pending_deposits(&shop, CUSTOMER).await, [25_000]);
}

#[tokio::test]
async fn a_top_up_pakasir_cannot_make_is_told_on_the_waiting_message_and_leaves_no_pending_deposit()
{
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-deposit-gagal", 3403).await;
    shop.say(CUSTOMER, "💰 Deposit").await;
    shop.wait_text(CUSTOMER, "minimal Rp 10.000").await;
    // A 500 is not retried by the client: the create fails once.
    host.pakasir
        .fail_next("transactioncreate", FakeFailure::ServerError, 1);

    shop.say(CUSTOMER, "25000").await;
    let texts = shop
        .wait_text(CUSTOMER, "Invoice deposit Rp 25.000 belum bisa dibuat")
        .await;
    assert!(
        texts.iter().any(|t| t.contains("Saldo kamu tidak berubah")),
        "{texts:#?}"
    );
    assert!(edited(&host, &shop.token(), "belum bisa dibuat"));
    host.telegram.settle().await;
    assert!(shop.photos(CUSTOMER).is_empty());
    assert!(pending_deposits(&shop, CUSTOMER).await.is_empty());
    let recorded: i64 = {
        let mut tx = shop.tx().await;
        sqlx::query_scalar("select count(*) from payments")
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    assert_eq!(recorded, 0, "a failed create records nothing");

    // The customer is still asked for an amount, and typing it again works once Pakasir is back.
    shop.say(CUSTOMER, "30000").await;
    let photo = shop.wait_photos(CUSTOMER, 1).await.pop().unwrap();
    let caption = photo.body["caption"].as_str().unwrap();
    assert!(caption.contains("Rp 30.000"), "{caption}");
    assert_eq!(pending_deposits(&shop, CUSTOMER).await, [30_000]);
}

#[tokio::test]
async fn a_deposit_prompt_opened_again_while_an_invoice_is_made_is_not_ended_by_that_invoice() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-deposit-lagi", 3404).await;
    let (token, telegram) = (shop.token(), host.telegram.clone());
    let prompts = move || {
        telegram
            .sent_texts(&token, CUSTOMER)
            .iter()
            .filter(|t| t.contains("minimal Rp 10.000"))
            .count()
    };
    shop.say(CUSTOMER, "💰 Deposit").await;
    shop.wait_text(CUSTOMER, "minimal Rp 10.000").await;
    host.pakasir.fail_next(
        "transactioncreate",
        FakeFailure::Slow(Duration::from_secs(3)),
        1,
    );
    shop.say(CUSTOMER, "25000").await;
    shop.wait_text(CUSTOMER, "Sedang membuat QRIS").await;

    // While Pakasir makes the invoice the customer opens `💰 Deposit` again and is asked anew.
    shop.say(CUSTOMER, "💰 Deposit").await;
    let asked = prompts.clone();
    host.telegram
        .wait_for("the second prompt", |_| asked() >= 2)
        .await;
    assert!(shop.photos(CUSTOMER).is_empty(), "asked before the invoice");

    // The invoice is made and its task is done: the new prompt is still open.
    shop.wait_photos(CUSTOMER, 1).await;
    shop.wait_text(CUSTOMER, "Invoice deposit Rp 25.000 sudah dibuat")
        .await;
    host.telegram.settle().await;
    let state: Option<String> = {
        let mut tx = shop.tx().await;
        sqlx::query_scalar("select state->>'state' from dialogues where chat_id = $1")
            .bind(CUSTOMER)
            .fetch_optional(&mut *tx)
            .await
            .unwrap()
    };
    assert_eq!(state.as_deref(), Some("entering_deposit_amount"));

    // An amount typed now answers that prompt: the open invoice is shown again.
    shop.say(CUSTOMER, "30000").await;
    shop.wait_text(CUSTOMER, "masih punya invoice deposit Rp 25.000")
        .await;
    assert_eq!(creates(&host), 1);
    assert_eq!(pending_deposits(&shop, CUSTOMER).await, [25_000]);
    assert_eq!(prompts(), 2);
}

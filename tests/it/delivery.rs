//! Goods of any size reach the customer whole, and one stopped store's outbox never holds up
//! another store's messages.

use serde_json::json;
use tokobot::{
    bot::callbacks::Callback,
    store::outbox::{self, Message},
};

use crate::support::{
    bot_token,
    shop::{Shop, sample_catalog},
    spawn_host,
};

#[tokio::test]
async fn licences_longer_than_a_message_are_delivered_whole_and_as_a_file() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-lisensi", 4201, json!({})).await;
    // Three licences of 3,000 characters and one of 4,000 with characters HTML escapes.
    let licences: Vec<String> = vec![
        format!("A{}", "a".repeat(2999)),
        format!("B{}", "b".repeat(2999)),
        format!("C{}", "c".repeat(2999)),
        format!("D<&>{}", "d".repeat(3996)),
    ];
    let lines: Vec<&str> = licences.iter().map(String::as_str).collect();
    shop.import(sample_catalog(&lines, 10_000)).await;
    let buyer = 88001;
    shop.credit(buyer, 100_000).await;
    let nfx = shop.product_id("NFX").await;
    shop.say(buyer, "/start").await;
    shop.add_to_cart(buyer, nfx, 4, 10_000).await;
    shop.press(buyer, Callback::Checkout).await;
    shop.text_containing(buyer, "Pesanan INV").await;
    let (order, _, _) = shop.last_order(buyer).await.unwrap();
    shop.press(buyer, Callback::PayBalance { order }).await;
    shop.text_containing(buyer, "Terima kasih").await;

    let token = bot_token(shop.bot);
    host.telegram
        .wait_for("the goods file", |_| {
            !host.telegram.sent_documents(&token, buyer).is_empty()
        })
        .await;
    let refused = host
        .telegram
        .requests()
        .into_iter()
        .filter(|r| r.token == token && r.status != 200)
        .count();
    assert_eq!(refused, 0, "Telegram refused none of the messages");
    let texts = host.telegram.sent_texts(&token, buyer).join("\n");
    let shown = texts
        .replace("<code>", "")
        .replace("</code>", "")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace('\n', "");
    for licence in &licences {
        assert!(shown.contains(licence.as_str()), "a licence arrived whole");
    }
    let file = String::from_utf8(host.telegram.sent_documents(&token, buyer).remove(0)).unwrap();
    for licence in &licences {
        assert!(
            file.lines().any(|line| line == licence),
            "the file has every licence"
        );
    }
    // The order is marked delivered once its goods went out.
    let mut status = String::new();
    for _ in 0..50 {
        status = shop.last_order(buyer).await.unwrap().1;
        if status == "delivered" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "delivered");
}

#[tokio::test]
async fn a_suspended_stores_backlog_does_not_hold_up_another_stores_outbox() {
    let host = spawn_host().await;
    let stopped = Shop::open(&host, "toko-berhenti", 4202, json!({})).await;
    let running = Shop::open(&host, "toko-jalan", 4203, json!({})).await;
    let (status, _) = host
        .operator(
            reqwest::Method::POST,
            "/api/v1/tenants/toko-berhenti/suspend",
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    // More due messages than an outbox pass reads, all of a store that cannot send.
    {
        let mut tx = stopped.tx().await;
        for n in 0..250 {
            let text = format!("pesan {n}");
            outbox::enqueue(
                &mut tx,
                stopped.tenant,
                9000 + n,
                &Message::Text { text },
                0,
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    // Then one message of a running store whose fast path did not send it.
    {
        let mut tx = running.tx().await;
        let text = "Pesanan kamu sudah dikirim ulang.".to_owned();
        outbox::enqueue(&mut tx, running.tenant, 88002, &Message::Text { text }, 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    running.text_containing(88002, "sudah dikirim ulang").await;
    assert!(
        host.telegram
            .sent_texts(&bot_token(stopped.bot), 9000)
            .is_empty(),
        "the suspended store sends nothing"
    );
}

#[tokio::test]
async fn a_store_that_protects_its_goods_delivers_them_unforwardable() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-lindung", 4204, json!({})).await;
    shop.import(sample_catalog(&["akun-rahasia:pw"], 10_000))
        .await;
    let (status, body) = host
        .operator(
            reqwest::Method::PATCH,
            "/api/v1/tenants/toko-lindung",
            Some(json!({"settings": {"protect_content": true}})),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["settings"]["protect_content"], true);
    let buyer = 88003;
    shop.credit(buyer, 50_000).await;
    let nfx = shop.product_id("NFX").await;
    shop.add_to_cart(buyer, nfx, 1, 10_000).await;
    shop.press(buyer, Callback::Checkout).await;
    shop.text_containing(buyer, "Pesanan INV").await;
    let (order, _, _) = shop.last_order(buyer).await.unwrap();
    shop.press(buyer, Callback::PayBalance { order }).await;
    shop.text_containing(buyer, "akun-rahasia:pw").await;

    let goods = host
        .telegram
        .calls(&bot_token(shop.bot), "sendMessage")
        .into_iter()
        .find(|r| {
            r.body["text"]
                .as_str()
                .unwrap_or("")
                .contains("akun-rahasia:pw")
        })
        .expect("the goods message");
    assert_eq!(goods.body["protect_content"], true);
    // The store's other messages (the receipt, the menus) are not protected.
    let others = host.telegram.calls(&bot_token(shop.bot), "sendMessage");
    assert!(
        others
            .iter()
            .filter(|r| !r.body["text"]
                .as_str()
                .unwrap_or("")
                .contains("akun-rahasia"))
            .all(|r| r.body.get("protect_content") != Some(&json!(true)))
    );
}

#[tokio::test]
async fn goods_that_cannot_be_opened_fail_alone_and_the_payments_other_messages_still_go_out() {
    use crate::payments::{OWNER, Shop as PayShop, goods_title};

    let host = spawn_host().await;
    let shop = PayShop::open(&host, "toko-segel", 3141).await;
    let buyer = 61_401;
    let invoice = shop.buy_by_qris(buyer, "SPT", 1).await;
    // The reserved item's sealed goods are damaged, as a lost key or a disk fault would leave
    // them: they cannot be opened any more.
    {
        let mut tx = shop.tx().await;
        sqlx::query("update stock_items set content = '\\x00'::bytea where order_id = $1")
            .bind(invoice.order_id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    shop.simulate_payment(&invoice).await;

    // The payment's messages are read with their claim; the goods fail there, the others
    // are sent: the customer's notice of the payment and the owner's of the paid order.
    let texts = shop.wait_text(buyer, "Pembayaran Rp").await;
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Pembayaran Rp") && t.contains(&invoice.code)),
        "{texts:#?}"
    );
    shop.wait_text(OWNER, "Pembayaran masuk").await;

    // The goods' message failed alone and is retried later, with its reason; nothing of the
    // goods reached the customer and the order is paid, not delivered.
    let mut goods = None;
    for _ in 0..250 {
        let mut tx = shop.tx().await;
        let row: (String, i32, Option<String>) = sqlx::query_as(
            "select status, attempts, last_error from outbox \
             where kind = 'deliver_order' and (payload->>'order_id')::bigint = $1",
        )
        .bind(invoice.order_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        if row.2.is_some() {
            goods = Some(row);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, attempts, _) = goods.expect("the goods' failed send was recorded");
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    assert_eq!(
        shop.count_texts(buyer, &goods_title(&invoice.code)).await,
        0
    );
    assert_eq!(shop.order_status(invoice.order_id).await, "paid");
}

#[tokio::test]
async fn a_payments_messages_are_claimed_by_its_settlement_and_sent_once() {
    use crate::payments::{Shop as PayShop, goods_title, host_of};
    use crate::support::fake_telegram::Failure;

    let host = spawn_host().await;
    let shop = PayShop::open(&host, "toko-klaim", 3142).await;
    let buyer = 61_402;
    let invoice = shop.buy_by_qris(buyer, "SPT", 1).await;
    // Telegram asks the first message after the payment to wait three seconds, and the bot
    // waits and sends it again: the fast path is held mid-way with its rows claimed.
    host.telegram.fail_next(
        &shop.token(),
        "sendMessage",
        Failure::TooManyRequests { retry_after: 3 },
        1,
    );

    shop.simulate_payment(&invoice).await;

    // The settlement wrote the goods already claimed for its own fast path: the first attempt
    // counted and leased, and the worker's queue entry due when the lease ends, not after the
    // shorter grace an unclaimed row gets. Nothing else claimed them.
    let mut claimed = None;
    for _ in 0..250 {
        let mut tx = shop.tx().await;
        let row: Option<(String, i32, bool, bool)> = sqlx::query_as(
            "select o.status, o.attempts, \
                    o.next_attempt_at > now() + interval '45 seconds', \
                    q.due_at > now() + interval '45 seconds' \
             from outbox o join outbox_queue q on q.outbox_id = o.id \
             where o.kind = 'deliver_order' and (o.payload->>'order_id')::bigint = $1",
        )
        .bind(invoice.order_id)
        .fetch_optional(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        if row.is_some() {
            claimed = row;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        claimed.expect("the settlement wrote the goods"),
        ("pending".to_owned(), 1, true, true)
    );
    // The outbox worker leaves a claimed row alone while its lease runs.
    tokobot::jobs::store::send_due(host_of(&host))
        .await
        .expect("the outbox pass runs");

    // The fast path goes on once Telegram takes messages again: the goods arrive once,
    // recorded sent after their one attempt, and the order is delivered.
    shop.wait_text(buyer, &goods_title(&invoice.code)).await;
    tokobot::jobs::store::send_due(host_of(&host))
        .await
        .expect("the outbox pass runs");
    assert_eq!(
        shop.count_texts(buyer, &goods_title(&invoice.code)).await,
        1
    );
    let mut tx = shop.tx().await;
    let (status, attempts): (String, i32) = sqlx::query_as(
        "select status, attempts from outbox \
         where kind = 'deliver_order' and (payload->>'order_id')::bigint = $1",
    )
    .bind(invoice.order_id)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((status.as_str(), attempts), ("sent", 1));
    assert_eq!(shop.order_status(invoice.order_id).await, "delivered");
}

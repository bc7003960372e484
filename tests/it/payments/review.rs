//! A payment whose Pakasir record keeps disagreeing with ours is held for review: no more
//! checks every minute, the owner alerted once (if they want gateway notices), and the order
//! flagged in the admins' list.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokobot::bot::callbacks::Callback;

use super::{OWNER, Shop, pass_after};
use crate::support::{TestHost, shop, spawn_host};

const BUYER: i64 = 66001;
const OTHER_BUYER: i64 = 66002;

/// The `transactiondetail` calls Pakasir received about `code`.
fn detail_calls(host: &TestHost, code: &str) -> usize {
    host.pakasir
        .calls()
        .iter()
        .filter(|(path, query)| path == "GET /api/transactiondetail" && query["order_id"] == code)
        .count()
}

#[tokio::test]
async fn a_pakasir_record_that_keeps_disagreeing_is_held_for_review_and_the_owner_alerted() {
    let host = spawn_host().await;
    let slug = "toko-selisih";
    let shop = Shop::open(&host, slug, 3601).await;
    let disputed = shop.buy_by_qris(BUYER, "NFX", 1).await;
    // The first customer's three presses answered, so the next checkout counts only its own.
    shop.answered(3).await;
    let fine = shop.buy_by_qris(OTHER_BUYER, "ML", 1).await;
    host.pakasir.misreport_amount(&disputed.code, 30_000);

    for _ in 0..3 {
        pass_after(&host, 2).await;
    }

    assert_eq!(shop.payment_status(&disputed.code).await, "review");
    assert_eq!(shop.payment_status(&fine.code).await, "pending");
    let alert = shop.text_containing(OWNER, "Pembayaran perlu dicek").await;
    assert!(alert.contains(&disputed.code), "{alert}");
    assert!(alert.contains("amount 30000 ≠ 25000"), "{alert}");
    // No more retries: later passes leave the held payment alone.
    let asked = detail_calls(&host, &disputed.code);
    assert_eq!(asked, 3);
    pass_after(&host, 10).await;
    assert_eq!(detail_calls(&host, &disputed.code), asked);
    assert_eq!(shop.count_texts(OWNER, "Pembayaran perlu dicek").await, 1);
    // The explicit rule: the order keeps its goods until its own hold ends.
    assert_eq!(
        shop.order_status(disputed.order_id).await,
        "awaiting_payment"
    );
    assert_eq!(shop.stock("NFX", "reserved").await, 1);

    // The customer is not shown the disputed invoice again.
    let photos = shop.photos(BUYER).len();
    let order = disputed.order_id;
    shop.press(BUYER, Callback::PayQris { order }).await;
    shop.answer_containing("sedang diperiksa oleh toko").await;
    assert_eq!(shop.photos(BUYER).len(), photos);

    // The admins find it through the API's filter, with the facts in the order's detail.
    let token = host.owner_token(slug).await;
    let orders = format!("/api/v1/tenants/{slug}/orders");
    let (status, page) = host
        .api(
            Method::GET,
            &format!("{orders}?review=true"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().expect("a page of orders");
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["code"], disputed.code.as_str());
    assert_eq!(items[0]["payment_review"], true);
    let (_, all) = host.api(Method::GET, &orders, Some(&token), None).await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2), "{all}");
    let (status, detail) = host
        .api(
            Method::GET,
            &format!("{orders}/{}", disputed.code),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["payment"]["status"], "review");
    assert_eq!(detail["payment"]["review_reason"], "amount 30000 ≠ 25000");

    // And in the bot's orders area, under its own filter.
    shop.press_raw(OWNER, "a:or:l:rv:0").await;
    shop.text_containing(OWNER, "Pesanan</b> · ⚠️ Perlu dicek")
        .await;
    let (token, flagged) = (shop.token(), format!("⚠️ {}", disputed.code));
    host.telegram
        .wait_for("the held order listed with its flag", |requests| {
            requests
                .iter()
                .any(|r| r.token == token && r.body["reply_markup"].to_string().contains(&flagged))
        })
        .await;
}

#[tokio::test]
async fn with_gateway_notices_off_a_disagreeing_payment_is_held_without_an_alert() {
    let host = spawn_host().await;
    let settings = json!({"settings": {"notifications": {"gateway_failure": false}}});
    let base = shop::Shop::open(&host, "toko-selisih-diam", 3602, settings).await;
    base.import(super::catalog()).await;
    let shop = Shop { base };
    let disputed = shop.buy_by_qris(BUYER, "NFX", 1).await;
    host.pakasir.misreport_amount(&disputed.code, 30_000);

    for _ in 0..3 {
        pass_after(&host, 2).await;
    }

    assert_eq!(shop.payment_status(&disputed.code).await, "review");
    assert_eq!(shop.count_texts(OWNER, "Pembayaran perlu dicek").await, 0);
    assert_eq!(shop.outbox_rows("payment_review").await, 0);
}

#[tokio::test]
async fn an_invoice_pakasir_keeps_open_after_its_cancel_is_held_for_review_at_its_expiry() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-tak-batal", 3603).await;
    let stuck = shop.buy_by_qris(BUYER, "NFX", 1).await;
    host.pakasir.ignore_cancel(&stuck.code);

    for _ in 0..3 {
        pass_after(&host, 60).await;
    }

    assert_eq!(shop.payment_status(&stuck.code).await, "review");
    let alert = shop.text_containing(OWNER, "Pembayaran perlu dicek").await;
    assert!(alert.contains("status pending ≠ expired"), "{alert}");
    let asked = host.pakasir.calls().len();
    pass_after(&host, 120).await;
    assert_eq!(host.pakasir.calls().len(), asked, "no more retries");
}

#[tokio::test]
async fn only_disagreements_in_a_row_hold_a_payment_an_agreeing_answer_starts_the_count_again() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-selisih-sesekali", 3604).await;
    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;

    // Two disagreeing answers, then Pakasir's record agrees again (a glitch).
    host.pakasir.misreport_amount(&invoice.code, 30_000);
    for _ in 0..2 {
        pass_after(&host, 2).await;
    }
    host.pakasir.misreport_amount(&invoice.code, 25_000);
    pass_after(&host, 2).await;
    // Two more disagreements: four in all, but never three in a row.
    host.pakasir.misreport_amount(&invoice.code, 30_000);
    for _ in 0..2 {
        pass_after(&host, 2).await;
    }
    assert_eq!(detail_calls(&host, &invoice.code), 5);
    assert_eq!(shop.payment_status(&invoice.code).await, "pending");
    assert_eq!(shop.outbox_rows("payment_review").await, 0);

    // The third in a row holds it.
    pass_after(&host, 2).await;
    assert_eq!(shop.payment_status(&invoice.code).await, "review");
}

#[tokio::test]
async fn an_order_the_owner_decided_no_longer_awaits_review_in_the_filter_the_flag_or_the_stats() {
    let host = spawn_host().await;
    let slug = "toko-selisih-putus";
    let shop = Shop::open(&host, slug, 3605).await;
    let disputed = shop.buy_by_qris(BUYER, "NFX", 1).await;
    host.pakasir.misreport_amount(&disputed.code, 30_000);
    for _ in 0..3 {
        pass_after(&host, 2).await;
    }
    assert_eq!(shop.payment_status(&disputed.code).await, "review");
    let token = host.owner_token(slug).await;
    let orders = format!("/api/v1/tenants/{slug}/orders");
    let awaiting = async || {
        let (status, page) = host
            .api(
                Method::GET,
                &format!("{orders}?review=true"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let (status, stats) = host
            .api(
                Method::GET,
                &format!("/api/v1/tenants/{slug}/stats"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{stats}");
        let listed = page["items"].as_array().map_or(0, Vec::len);
        (listed, stats["orders"]["awaiting_review"].as_i64())
    };
    assert_eq!(awaiting().await, (1, Some(1)));

    // The owner checked Pakasir's dashboard and marks the order paid: decided.
    let (status, detail) = host
        .api(
            Method::POST,
            &format!("{orders}/{}/mark-paid", disputed.code),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");

    assert_eq!(awaiting().await, (0, Some(0)));
    let (_, all) = host.api(Method::GET, &orders, Some(&token), None).await;
    assert_eq!(all["items"][0]["code"], disputed.code.as_str(), "{all}");
    assert_eq!(all["items"][0]["payment_review"], false, "{all}");
    // The payment itself keeps its history: held once, with the facts.
    assert_eq!(shop.payment_status(&disputed.code).await, "review");
}

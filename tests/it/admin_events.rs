//! The store's events: its own texts at each event, the staff's notices of paid orders and low
//! stock (each switchable), and the audit rows of changes to the store itself.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokobot::bot::callbacks::Callback;

use crate::{
    payments::{OWNER, Shop, goods_title, pass_after},
    support::fake_pakasir::FakeFailure,
};

const BUYER: i64 = 64001;
const ADMIN: i64 = 64900;

/// The payments catalog with every template written by the store, each using placeholders,
/// and the vouchers numbered `vouchers` in stock.
fn catalog_with_templates(vouchers: std::ops::RangeInclusive<u32>) -> Value {
    let vouchers: Vec<String> = vouchers.map(|i| format!("ML-{i}")).collect();
    json!({
        "version": 1,
        "categories": [{"name": "Akun Premium", "sort": 1, "active": true}],
        "products": [
            {"code": "NFX", "name": "Netflix 1 Bulan", "description": "Akun sharing.",
             "price": 25000, "category": "Akun Premium", "active": true, "sort": 0,
             "snk": "Kirim screenshot login dalam 1x24 jam.",
             "stock": ["nfx1@mail.com:pass1", "nfx2@mail.com:pass2"]},
            {"code": "ML", "name": "86 Diamond <ML>", "description": "Kode voucher.",
             "price": 20000, "category": "Akun Premium", "active": true, "sort": 2,
             "stock": vouchers}
        ],
        "templates": {
            "welcome": "Halo {name}, selamat datang di {store}! Saldo: {balance}",
            "info": "{store} buka 24 jam untuk {name}.",
            "how_to_order": "Cara order di {store}: pilih, bayar, terima.",
            "payment_received": "Terima kasih {name}! {order_id} lunas ({total}).",
            "goods_delivered": "Isi pesanan {order_id}:\n{items}\nSelamat menikmati.",
            "invoice_expired": "Yah {name}, tagihan {order_id} ({total}) hangus."
        }
    })
}

/// PATCHes the store as its owner; returns the answer.
async fn patch(shop: &Shop<'_>, body: Value) -> (StatusCode, Value) {
    let token = shop.host.owner_token(&shop.slug).await;
    let path = format!("/api/v1/tenants/{}", shop.slug);
    shop.host
        .api(Method::PATCH, &path, Some(&token), Some(body))
        .await
}

/// The store's audit rows of `action`, oldest first: (actor_kind, actor_name, before, after).
async fn audit_rows(shop: &Shop<'_>, action: &str) -> Vec<(String, Option<String>, Value, Value)> {
    shop.audit_columns("actor_kind, actor_name, before, after", action)
        .await
}

/// Checks out `qty` of `code` and pays from the balance; returns (order id, order code).
async fn buy_with_balance(shop: &Shop<'_>, user: i64, code: &str, qty: u32) -> (i64, String) {
    let order = shop.checkout(user, code, qty).await;
    shop.press(
        user,
        Callback::PayBalance {
            order: order.order_id,
        },
    )
    .await;
    shop.wait_text(user, &goods_title(&order.code)).await;
    (order.order_id, order.code)
}

#[tokio::test]
async fn every_store_template_is_used_at_its_event_with_its_placeholders_filled() {
    let host = crate::support::spawn_host().await;
    let shop = Shop::open(&host, "toko-template", 3401).await;
    shop.import(catalog_with_templates(1..=5)).await;
    // The store's name reaches customers escaped, like every value filled into a template.
    let (status, body) = patch(&shop, json!({"display_name": "Toko A&B"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    shop.credit(BUYER, 100_000).await;

    shop.say(BUYER, "/start").await;
    shop.wait_text(
        BUYER,
        "Halo Budi, selamat datang di Toko A&amp;B! Saldo: Rp 100.000",
    )
    .await;
    shop.say(BUYER, "ℹ️ Informasi").await;
    shop.wait_text(BUYER, "Toko A&amp;B buka 24 jam untuk Budi.")
        .await;
    shop.say(BUYER, "📘 Cara Order").await;
    shop.wait_text(BUYER, "Cara order di Toko A&amp;B: pilih, bayar, terima.")
        .await;

    // Paid from the balance: the button's answer and the goods' closing line.
    let (_, code) = buy_with_balance(&shop, BUYER, "ML", 2).await;
    shop.wait_text(
        BUYER,
        &format!("Terima kasih Budi! {code} lunas (Rp 40.000)."),
    )
    .await;
    let goods = shop.text_containing(BUYER, &goods_title(&code)).await;
    assert!(
        goods.contains(&format!(
            "Isi pesanan {code}:\n• 86 Diamond &lt;ML&gt; × 2\nSelamat menikmati."
        )),
        "{goods}"
    );

    // Paid by QRIS: the receipt the outbox sends.
    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;
    shop.simulate_payment(&invoice).await;
    shop.wait_text(
        BUYER,
        &format!("Terima kasih Budi! {} lunas (Rp 25.000).", invoice.code),
    )
    .await;

    // An invoice left unpaid expires.
    let unpaid = shop.buy_by_qris(BUYER, "ML", 1).await;
    let pass = pass_after(&host, 60).await;
    assert_eq!(pass.closed, 1, "{pass:?}");
    shop.wait_text(
        BUYER,
        &format!("Yah Budi, tagihan {} (Rp 20.000) hangus.", unpaid.code),
    )
    .await;
}

#[tokio::test]
async fn a_template_with_an_unknown_placeholder_is_refused_and_nothing_is_stored() {
    let host = crate::support::spawn_host().await;
    let shop = Shop::open(&host, "toko-salah-tulis", 3402).await;
    let mut document = catalog_with_templates(1..=5);
    document["templates"] = json!({"welcome": "Halo {nama}, pesanan {order_id}"});

    let path = format!("/api/v1/tenants/{}/catalog", shop.slug);
    let (status, body) = host.operator(Method::PUT, &path, Some(document)).await;

    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let problems = body.to_string();
    assert!(problems.contains("templates.welcome"), "{problems}");
    assert!(problems.contains("{nama}"), "{problems}");
    assert!(problems.contains("{order_id}"), "{problems}");
    assert!(
        problems.contains("{name}, {store}, {balance}"),
        "the allowed placeholders are listed: {problems}"
    );
    let mut tx = shop.tx().await;
    let stored: i64 = sqlx::query_scalar("select count(*) from templates")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn an_order_paid_from_balance_gets_its_terms_and_the_staff_notice() {
    let host = crate::support::spawn_host().await;
    let shop = Shop::open(&host, "toko-saldo-snk", 3403).await;
    let (status, body) = patch(&shop, json!({"admin_telegram_ids": [ADMIN]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    shop.credit(BUYER, 50_000).await;

    let (order_id, code) = buy_with_balance(&shop, BUYER, "NFX", 1).await;

    let (product, _) = shop.product("NFX").await;
    let fulfil = Callback::SnkFulfil {
        order: order_id,
        product,
    }
    .to_string();
    host.telegram
        .wait_for("the terms with their button", |requests| {
            requests.iter().any(|r| {
                r.method == "sendmessage"
                    && r.body["chat_id"].as_i64() == Some(BUYER)
                    && r.body["reply_markup"].to_string().contains(&fulfil)
            })
        })
        .await;
    for member in [OWNER, ADMIN] {
        let notices = shop.wait_text(member, "Pembayaran masuk").await;
        let notice = notices
            .iter()
            .find(|t| t.contains("Pembayaran masuk"))
            .unwrap();
        assert!(notice.contains(&code), "{notice}");
        assert!(notice.contains("saldo"), "{notice}");
        assert!(notice.contains("Netflix 1 Bulan × 1"), "{notice}");
        assert!(notice.contains("Rp 25.000"), "{notice}");
    }
    assert_eq!(shop.count_texts(OWNER, "Pembayaran masuk").await, 1);
    assert_eq!(shop.outbox_rows("snk").await, 1);
}

#[tokio::test]
async fn low_stock_is_announced_once_per_crossing_of_the_threshold() {
    let host = crate::support::spawn_host().await;
    let shop = Shop::open(&host, "toko-stok-tipis", 3404).await;
    shop.import(catalog_with_templates(1..=6)).await;
    let (status, body) = patch(&shop, json!({"settings": {"low_stock_threshold": 3}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    shop.credit(BUYER, 500_000).await;

    // 6 → 4: above the threshold, nothing to say.
    buy_with_balance(&shop, BUYER, "ML", 2).await;
    // 4 → 3 and 3 → 2: two sales at or below the threshold, one notice.
    buy_with_balance(&shop, BUYER, "ML", 1).await;
    buy_with_balance(&shop, BUYER, "ML", 1).await;
    let notice = shop.text_containing(OWNER, "Stok menipis").await;
    assert!(
        notice.contains("86 Diamond &lt;ML&gt;: sisa 3 (batas 3)"),
        "{notice}"
    );
    assert_eq!(shop.count_texts(OWNER, "Stok menipis").await, 1);

    // Restocked above the threshold, then sold below it again: a second notice.
    shop.import(catalog_with_templates(5..=14)).await;
    assert_eq!(shop.stock("ML", "available").await, 10);
    buy_with_balance(&shop, BUYER, "ML", 8).await;
    shop.wait_count(OWNER, "Stok menipis", 2).await;
    assert_eq!(shop.count_texts(OWNER, "Stok menipis").await, 2);
    shop.wait_text(OWNER, "86 Diamond &lt;ML&gt;: sisa 2 (batas 3)")
        .await;
}

#[tokio::test]
async fn switched_off_notices_are_not_sent_and_the_goods_still_are() {
    let host = crate::support::spawn_host().await;
    let shop = Shop::open(&host, "toko-hening", 3405).await;
    let switches = json!({"settings": {"low_stock_threshold": 5,
        "notifications": {"new_order": false, "low_stock": false}}});
    let (status, body) = patch(&shop, switches).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["settings"]["notifications"]["new_order"], false);
    assert_eq!(body["settings"]["notifications"]["snk_submission"], true);
    shop.credit(BUYER, 100_000).await;

    buy_with_balance(&shop, BUYER, "ML", 2).await;
    let invoice = shop.buy_by_qris(BUYER, "SPT", 1).await;
    shop.simulate_payment(&invoice).await;
    shop.wait_text(BUYER, &goods_title(&invoice.code)).await;

    assert_eq!(shop.count_texts(OWNER, "Pembayaran masuk").await, 0);
    assert_eq!(shop.count_texts(OWNER, "Stok menipis").await, 0);
    assert_eq!(shop.outbox_rows("order_paid").await, 0);
    assert_eq!(shop.outbox_rows("low_stock").await, 0);
}

#[tokio::test]
async fn patch_and_secret_rotation_write_audit_rows_without_secret_values() {
    let host = crate::support::spawn_host().await;
    let shop = Shop::open(&host, "toko-jejak", 3406).await;

    let body = json!({"admin_telegram_ids": [ADMIN], "settings": {"invoice_ttl_minutes": 30}});
    let (status, answer) = patch(&shop, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // The same PATCH again changes nothing and writes nothing.
    let body = json!({"admin_telegram_ids": [ADMIN]});
    assert_eq!(patch(&shop, body).await.0, StatusCode::OK);
    // A refused PATCH writes nothing either.
    let body = json!({"settings": {"invoice_ttl_minutes": 1}});
    assert_eq!(patch(&shop, body).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    let rows = audit_rows(&shop, "store.update").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (kind, name, before, after) = &rows[0];
    assert_eq!((kind.as_str(), name.as_deref()), ("api", Some("owner")));
    assert_eq!(before["admin_telegram_ids"], json!([]));
    assert_eq!(after["admin_telegram_ids"], json!([ADMIN]));
    assert_eq!(before["settings"]["invoice_ttl_minutes"], 15);
    assert_eq!(after["settings"]["invoice_ttl_minutes"], 30);
    assert!(
        before.get("display_name").is_none(),
        "only changed fields: {before}"
    );

    let new_key = "pk_live_rotated_0123456789";
    host.pakasir.add_project(&shop.project(), new_key);
    let path = format!("/api/v1/tenants/{}/secrets", shop.slug);
    let rotation = json!({"pakasir": {"project": shop.project(), "api_key": new_key}});
    let (status, answer) = host.operator(Method::PUT, &path, Some(rotation)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    let rows = audit_rows(&shop, "store.rotate_secrets").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (kind, name, _, after) = &rows[0];
    assert_eq!((kind.as_str(), name.as_deref()), ("api", Some("tests")));
    assert_eq!(
        after["rotated"],
        json!({"bot_token": false, "pakasir": true})
    );
    let written = format!("{rows:?}");
    assert!(
        !written.contains(new_key),
        "no secret in the log: {written}"
    );
    assert!(
        !written.contains("pk_test"),
        "no secret in the log: {written}"
    );
}

#[tokio::test]
async fn with_their_switches_off_snk_submissions_and_gateway_failures_reach_nobody() {
    let host = crate::support::spawn_host().await;
    let shop = Shop::open(&host, "toko-sunyi", 3407).await;
    let switches = json!({"settings": {"notifications":
        {"snk_submission": false, "gateway_failure": false}}});
    let (status, body) = patch(&shop, switches).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    shop.credit(BUYER, 50_000).await;

    // An SNK submission is kept for the review list, but nobody is told at once.
    let (order_id, _) = buy_with_balance(&shop, BUYER, "NFX", 1).await;
    let (product, _) = shop.product("NFX").await;
    shop.press(
        BUYER,
        Callback::SnkFulfil {
            order: order_id,
            product,
        },
    )
    .await;
    shop.wait_text(BUYER, "Kirim bukti untuk memenuhi SNK")
        .await;
    shop.say(BUYER, "Sudah login, profil Budi").await;
    shop.wait_text(BUYER, "diteruskan ke admin").await;
    let mut tx = shop.tx().await;
    let pending: i64 =
        sqlx::query_scalar("select count(*) from snk_submissions where status = 'pending'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    drop(tx);
    assert_eq!(pending, 1);

    // Three gateway failures in a row count as a streak, and alert nobody.
    host.pakasir
        .fail_next("transactioncreate", FakeFailure::ServerError, 3);
    for customer in BUYER + 1..BUYER + 4 {
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
    }
    let mut tx = shop.tx().await;
    let failures: i32 = sqlx::query_scalar("select consecutive_failures from gateway_health")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    drop(tx);
    assert_eq!(failures, 3);

    assert_eq!(shop.count_texts(OWNER, "Bukti SNK masuk").await, 0);
    assert_eq!(shop.count_texts(OWNER, "berturut-turut").await, 0);
    assert_eq!(shop.outbox_rows("gateway_alert").await, 0);
}

//! The store's orders through the API (`/api/v1/tenants/{slug}/orders`): list and detail, mark
//! paid, cancel (with and without an open invoice), refund to balance exactly once, resend —
//! each leaving its audit row, and no other store's owner reaching any of it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokobot::bot::callbacks::Callback;

use crate::{
    payments::{Shop, goods_title},
    support::{TestHost, spawn_host},
};

const BUYER: i64 = 5101;

impl Shop<'_> {
    /// Calls an order route of this store with the store owner's token.
    async fn orders_api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = self.host.owner_token(&self.slug).await;
        let path = format!("/api/v1/tenants/{}/orders{path}", self.slug);
        self.host.api(method, &path, Some(&token), body).await
    }

    /// A paid order: the buyer tops up and pays `qty` of `code` from the balance.
    async fn paid_order(&self, user: i64, code: &str, qty: u32) -> crate::payments::Invoiced {
        let (_, price) = self.product(code).await;
        self.credit(user, price * i64::from(qty)).await;
        let order = self.checkout(user, code, qty).await;
        self.press(
            user,
            Callback::PayBalance {
                order: order.order_id,
            },
        )
        .await;
        self.wait_text(user, &goods_title(&order.code)).await;
        order
    }

    /// Ledger rows of a customer: (amount, reason, reference, note).
    async fn ledger(&self, user: i64) -> Vec<(i64, String, String, Option<String>)> {
        let mut tx = self.tx().await;
        sqlx::query_as(
            "select amount, reason, reference, note from balance_ledger where customer_id = $1 order by id",
        )
        .bind(user)
        .fetch_all(&mut *tx)
        .await
        .unwrap()
    }

    /// Audit rows of an action: (subject, actor kind, actor name, before, after).
    async fn audit(&self, action: &str) -> Vec<(String, String, Option<String>, Value, Value)> {
        self.audit_columns("subject, actor_kind, actor_name, before, after", action)
            .await
    }
}

#[tokio::test]
async fn a_refund_credits_part_of_a_paid_order_once_with_its_reason_and_tells_the_buyer() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "refund-toko", 6101).await;
    let order = shop.paid_order(BUYER, "ML", 2).await;
    assert_eq!(shop.balance(BUYER).await, 0);

    let body = json!({ "amount": 15000, "reason": "Satu kode tidak bisa dipakai" });
    let (status, refunded) = shop
        .orders_api(
            Method::POST,
            &format!("/{}/refund", order.code),
            Some(body.clone()),
        )
        .await;

    assert_eq!(status, StatusCode::OK, "{refunded}");
    assert_eq!(refunded["amount"], 15000);
    assert_eq!(refunded["balance"], 15000);
    assert_eq!(shop.balance(BUYER).await, 15000);
    let ledger = shop.ledger(BUYER).await;
    let refund = ledger.last().unwrap();
    assert_eq!(
        (
            refund.0,
            refund.1.as_str(),
            refund.2.as_str(),
            refund.3.as_deref()
        ),
        (
            15000,
            "refund",
            order.code.as_str(),
            Some("Satu kode tidak bisa dipakai")
        )
    );
    shop.wait_text(BUYER, "dikembalikan ke saldo").await;
    let audit = shop.audit("order.refund").await;
    assert_eq!(audit.len(), 1);
    let (subject, kind, name, before, after) = &audit[0];
    assert_eq!(
        (subject.as_str(), kind.as_str(), name.as_deref()),
        (order.code.as_str(), "api", Some("owner"))
    );
    assert_eq!(before["refunded_amount"], Value::Null);
    assert_eq!(after["refunded_amount"], 15000);
    assert_eq!(after["reason"], "Satu kode tidak bisa dipakai");

    // A second refund, even of the rest, changes nothing.
    let (status, error) = shop
        .orders_api(
            Method::POST,
            &format!("/{}/refund", order.code),
            Some(json!({ "reason": "Sisanya juga" })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"]["code"], "already_refunded");
    assert_eq!(shop.balance(BUYER).await, 15000);
    assert_eq!(shop.ledger(BUYER).await.len(), ledger.len());
    assert_eq!(shop.audit("order.refund").await.len(), 1);
    let (_, detail) = shop
        .orders_api(Method::GET, &format!("/{}", order.code), None)
        .await;
    assert_eq!(detail["refunded_amount"], 15000);
}

#[tokio::test]
async fn the_buyers_refund_notice_repeats_the_admins_reason_as_text() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "refund-alasan", 6111).await;
    let order = shop.paid_order(BUYER, "ML", 1).await;

    let reason = "Kode <b>ML-1</b> & sudah terpakai";
    let body = json!({ "amount": 5000, "reason": reason });
    let (status, refunded) = shop
        .orders_api(Method::POST, &format!("/{}/refund", order.code), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{refunded}");

    let texts = shop.wait_text(BUYER, "dikembalikan ke saldo").await;
    let notice = texts
        .iter()
        .find(|t| t.contains("dikembalikan ke saldo"))
        .unwrap();
    // The admin's words are shown as they were typed, never read as markup.
    assert!(
        notice.contains("Alasan: Kode &lt;b&gt;ML-1&lt;/b&gt; &amp; sudah terpakai"),
        "{notice}"
    );
}

#[tokio::test]
async fn two_concurrent_refunds_of_one_order_credit_it_once() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "race-refund", 6102).await;
    let order = shop.paid_order(BUYER, "SPT", 1).await;
    let path = format!("/{}/refund", order.code);

    let (first, second) = tokio::join!(
        shop.orders_api(Method::POST, &path, Some(json!({ "reason": "pertama" }))),
        shop.orders_api(Method::POST, &path, Some(json!({ "reason": "ganda" }))),
    );

    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} / {}",
        first.1,
        second.1
    );
    assert_eq!(shop.balance(BUYER).await, 15000);
    let refunds = shop
        .ledger(BUYER)
        .await
        .into_iter()
        .filter(|r| r.1 == "refund")
        .count();
    assert_eq!(refunds, 1);
    assert_eq!(shop.audit("order.refund").await.len(), 1);
}

#[tokio::test]
async fn bad_refunds_are_refused_and_change_nothing() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "bad-refund", 6103).await;
    let paid = shop.paid_order(BUYER, "SPT", 1).await;
    let unpaid = shop.checkout(BUYER + 1, "ML", 1).await;
    let ledger = shop.ledger(BUYER).await.len();

    for body in [
        json!({ "amount": 0, "reason": "salah" }),
        json!({ "amount": -5, "reason": "salah" }),
        json!({ "amount": 15001, "reason": "salah" }),
        json!({ "reason": "x".repeat(501) }),
        json!({ "reason": "nul\u{0}" }),
        json!({}),
        json!({ "amount": 1000, "reason": "   " }),
    ] {
        let (status, error) = shop
            .orders_api(
                Method::POST,
                &format!("/{}/refund", paid.code),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
    }
    let (status, error) = shop
        .orders_api(
            Method::POST,
            &format!("/{}/refund", paid.code),
            Some(json!({ "amount": "lots" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, error) = shop
        .orders_api(
            Method::POST,
            &format!("/{}/refund", unpaid.code),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_paid"))
    );
    let (status, _) = shop
        .orders_api(Method::POST, "/INV999999NOPE/refund", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    assert_eq!(shop.balance(BUYER).await, 0);
    assert_eq!(shop.ledger(BUYER).await.len(), ledger);
    assert!(shop.audit("order.refund").await.is_empty());
}

#[tokio::test]
async fn cancelling_an_unpaid_order_puts_its_goods_back_where_customers_see_them() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "cancel-toko", 6104).await;
    let order = shop.checkout(BUYER, "ML", 3).await;
    assert_eq!(shop.stock("ML", "available").await, 2);

    let (status, detail) = shop
        .orders_api(Method::POST, &format!("/{}/cancel", order.code), None)
        .await;

    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["status"], "cancelled");
    assert_eq!(shop.stock("ML", "available").await, 5);
    shop.wait_text(
        BUYER,
        &format!("Pesanan <code>{}</code> dibatalkan oleh toko", order.code),
    )
    .await;
    let (id, _) = shop.product("ML").await;
    let viewer = BUYER + 7;
    shop.press(viewer, Callback::Product { id, qty: 1 }).await;
    shop.text_containing(viewer, "Stok: 5").await;
    let audit = shop.audit("order.cancel").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].3["status"], "awaiting_payment");
    assert_eq!(audit[0].4["status"], "cancelled");

    // A cancelled order cannot be cancelled again, nor an unknown one.
    let (status, error) = shop
        .orders_api(Method::POST, &format!("/{}/cancel", order.code), None)
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_cancellable"))
    );
    assert_eq!(shop.audit("order.cancel").await.len(), 1);
}

#[tokio::test]
async fn cancelling_an_order_with_an_open_invoice_cancels_it_at_pakasir_first() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "cancel-qris", 6105).await;
    let order = shop.buy_by_qris(BUYER, "NFX", 1).await;
    assert_eq!(shop.stock("NFX", "available").await, 1);

    let (status, detail) = shop
        .orders_api(Method::POST, &format!("/{}/cancel", order.code), None)
        .await;

    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["status"], "cancelled");
    assert_eq!(detail["payment"]["status"], "cancelled");
    assert_eq!(shop.payment_status(&order.code).await, "cancelled");
    assert_eq!(shop.stock("NFX", "available").await, 2);
    shop.wait_text(BUYER, "dibatalkan").await;
    let audit = shop.audit("order.cancel").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].4["invoice"], "cancelled");
    assert_eq!(
        host.pakasir.status_of(&order.code).as_deref(),
        Some("cancelled")
    );
}

#[tokio::test]
async fn an_order_paid_at_pakasir_before_the_cancel_is_delivered_not_cancelled() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "cancel-late", 6110).await;
    let order = shop.buy_by_qris(BUYER, "NFX", 1).await;
    // The buyer paid, but the webhook has not arrived yet.
    host.pakasir.pay(&order.code);

    let (status, error) = shop
        .orders_api(Method::POST, &format!("/{}/cancel", order.code), None)
        .await;

    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"]["code"], "paid_meanwhile");
    shop.wait_text(BUYER, &goods_title(&order.code)).await;
    assert_eq!(shop.payment_status(&order.code).await, "completed");
    assert!(shop.audit("order.cancel").await.is_empty());
}

#[tokio::test]
async fn marking_paid_and_resending_deliver_the_goods_and_are_audited() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "manual-api", 6106).await;
    let order = shop.checkout(BUYER, "SPT", 1).await;

    let (status, detail) = shop
        .orders_api(
            Method::POST,
            &format!("/{}/mark-paid", order.code.to_lowercase()),
            None,
        )
        .await;

    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["payment_method"], "manual");
    shop.wait_text(BUYER, "spot1@mail.com:rahasia").await;
    let (status, error) = shop
        .orders_api(Method::POST, &format!("/{}/mark-paid", order.code), None)
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_paid"))
    );

    let (status, detail) = shop
        .orders_api(Method::POST, &format!("/{}/resend", order.code), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let title = goods_title(&order.code);
    shop.wait_count(BUYER, &title, 2).await;
    let (_, detail) = shop
        .orders_api(Method::GET, &format!("/{}", order.code), None)
        .await;
    assert_eq!(detail["delivery"]["status"], "sent");
    assert_eq!(detail["status"], "delivered");
    assert_eq!(detail["items"][0]["product_code"], "SPT");
    assert_eq!(detail["customer"]["telegram_id"], BUYER);

    let marked = shop.audit("order.mark_paid").await;
    assert_eq!(marked.len(), 1);
    assert_eq!(
        (marked[0].1.as_str(), marked[0].3["status"].as_str()),
        ("api", Some("awaiting_payment"))
    );
    assert_eq!(marked[0].4["status"], "paid");
    let resent = shop.audit("order.resend").await;
    assert_eq!(resent.len(), 1);
    assert!(resent[0].4["outbox_id"].is_i64());

    // An unpaid order's goods are never sent.
    let unpaid = shop.checkout(BUYER, "ML", 1).await;
    let (status, _) = shop
        .orders_api(Method::POST, &format!("/{}/resend", unpaid.code), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_list_filters_by_status_and_day_and_pages_with_a_cursor() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "list-toko", 6107).await;
    let first = shop.checkout(BUYER, "ML", 1).await;
    let second = shop.checkout(BUYER + 1, "ML", 1).await;
    let paid = shop.paid_order(BUYER + 2, "SPT", 1).await;

    let (status, page) = shop
        .orders_api(Method::GET, "?status=awaiting_payment&limit=1", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["code"], second.code.as_str());
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (_, page) = shop
        .orders_api(
            Method::GET,
            &format!("?status=awaiting_payment&limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(page["items"][0]["code"], first.code.as_str());
    assert_eq!(page["next_cursor"], Value::Null);

    let (_, page) = shop
        .orders_api(Method::GET, "?status=delivered", None)
        .await;
    let codes: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, [paid.code.as_str()]);

    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Asia/Jakarta").unwrap())
        .date();
    let tomorrow = today.tomorrow().unwrap();
    let (_, page) = shop
        .orders_api(Method::GET, &format!("?from={today}&to={today}"), None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let (_, page) = shop
        .orders_api(Method::GET, &format!("?from={tomorrow}"), None)
        .await;
    assert!(page["items"].as_array().unwrap().is_empty());

    for bad in [
        "?status=lost",
        "?limit=0",
        "?limit=201",
        "?cursor=abc",
        "?from=03-12-2026",
        "?colour=red",
    ] {
        let (status, error) = shop.orders_api(Method::GET, bad, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {error}");
    }
    let (status, _) = shop
        .orders_api(Method::GET, &format!("?from={tomorrow}&to={today}"), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn another_stores_owner_reaches_none_of_the_orders() {
    let host: TestHost = spawn_host().await;
    let shop = Shop::open(&host, "mine-toko", 6108).await;
    let _other = Shop::open(&host, "other-toko", 6109).await;
    let order = shop.paid_order(BUYER, "SPT", 1).await;
    let unpaid = shop.checkout(BUYER, "ML", 1).await;
    let foreign = host.owner_token("other-toko").await;

    let base = format!("/api/v1/tenants/{}/orders", shop.slug);
    let attempts = [
        (Method::GET, base.clone(), None),
        (Method::GET, format!("{base}/{}", order.code), None),
        (
            Method::POST,
            format!("{base}/{}/refund", order.code),
            Some(json!({})),
        ),
        (Method::POST, format!("{base}/{}/resend", order.code), None),
        (
            Method::POST,
            format!("{base}/{}/mark-paid", unpaid.code),
            None,
        ),
        (Method::POST, format!("{base}/{}/cancel", unpaid.code), None),
    ];
    for (method, path, body) in attempts {
        let (status, _) = host.api(method.clone(), &path, Some(&foreign), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    let (status, _) = host.api(Method::GET, &base, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    assert_eq!(shop.balance(BUYER).await, 0);
    assert_eq!(shop.order_status(unpaid.order_id).await, "awaiting_payment");
    let mut tx = shop.tx().await;
    // The store's catalog import that set the test up is the only change in the log.
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action <> 'catalog.import'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(audited, 0);
}

#[tokio::test]
async fn the_openapi_document_describes_the_order_and_customer_routes_truly() {
    let host = spawn_host().await;
    let (_, doc) = host.api(Method::GET, "/api/openapi.json", None, None).await;

    let list = &doc["paths"]["/api/v1/tenants/{slug}/orders"]["get"];
    let params = list["parameters"].as_array().unwrap();
    for name in ["status", "from", "to", "cursor", "limit"] {
        let param = params
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(param["in"], "query", "{name}");
        assert_ne!(param["required"], true, "{name}");
    }
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["maximum"], 200);
    for (path, method) in [
        ("/api/v1/tenants/{slug}/orders/{code}", "get"),
        ("/api/v1/tenants/{slug}/orders/{code}/mark-paid", "post"),
        ("/api/v1/tenants/{slug}/orders/{code}/cancel", "post"),
        ("/api/v1/tenants/{slug}/orders/{code}/refund", "post"),
        ("/api/v1/tenants/{slug}/orders/{code}/resend", "post"),
        ("/api/v1/tenants/{slug}/customers", "get"),
        ("/api/v1/tenants/{slug}/customers/{telegram_id}", "get"),
        (
            "/api/v1/tenants/{slug}/customers/{telegram_id}/block",
            "post",
        ),
        (
            "/api/v1/tenants/{slug}/customers/{telegram_id}/unblock",
            "post",
        ),
        (
            "/api/v1/tenants/{slug}/customers/{telegram_id}/balance",
            "post",
        ),
    ] {
        let operation = &doc["paths"][path][method];
        for status in ["200", "401", "403", "404"] {
            assert!(
                operation["responses"][status].is_object(),
                "{method} {path} {status}"
            );
        }
    }
    let refund = &doc["paths"]["/api/v1/tenants/{slug}/orders/{code}/refund"]["post"];
    assert!(refund["responses"]["409"].is_object() && refund["responses"]["422"].is_object());
}

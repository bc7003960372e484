//! The store's customers through the API (`/api/v1/tenants/{slug}/customers`): search and
//! profile, blocking (a blocked customer is told politely and cannot check out or top up), and
//! balance adjustments with a reason that never take a balance below zero — each change with
//! its audit row, and no other store's owner reaching any of it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokobot::bot::callbacks::Callback;

use crate::{payments::Shop, support::spawn_host};

const CUSTOMER: i64 = 5201;
const BLOCKED_TEXT: &str = "tidak bisa berbelanja atau deposit";

impl Shop<'_> {
    /// Calls a customer route of this store with the store owner's token.
    async fn customers_api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = self.host.owner_token(&self.slug).await;
        let path = format!("/api/v1/tenants/{}/customers{path}", self.slug);
        self.host.api(method, &path, Some(&token), body).await
    }

    /// The customer writes to the bot, which records them.
    async fn meet(&self, user: i64) {
        self.say(user, "/start").await;
        self.texts(user, 1).await;
    }

    async fn audit_count(&self, action: &str) -> i64 {
        let mut tx = self.tx().await;
        sqlx::query_scalar("select count(*) from audit_log where action = $1")
            .bind(action)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    }

    async fn ledger_count(&self, user: i64) -> i64 {
        let mut tx = self.tx().await;
        sqlx::query_scalar("select count(*) from balance_ledger where customer_id = $1")
            .bind(user)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn search_finds_customers_by_username_or_id_and_pages_through_them() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "cari-toko", 6201).await;
    for user in [CUSTOMER, CUSTOMER + 1, CUSTOMER + 2] {
        shop.meet(user).await;
    }

    let (status, page) = shop
        .customers_api(Method::GET, &format!("?q=@budi{}", CUSTOMER + 1), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["telegram_id"], CUSTOMER + 1);

    let (_, page) = shop
        .customers_api(Method::GET, &format!("?q={CUSTOMER}"), None)
        .await;
    assert_eq!(page["items"][0]["telegram_id"], CUSTOMER);

    let (_, page) = shop
        .customers_api(Method::GET, "?q=budi&limit=2", None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (_, page) = shop
        .customers_api(
            Method::GET,
            &format!("?q=budi&limit=2&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(page["items"][0]["telegram_id"], CUSTOMER + 2);
    assert_eq!(page["next_cursor"], Value::Null);

    // Wildcards are matched literally.
    let (_, page) = shop.customers_api(Method::GET, "?q=%25", None).await;
    assert!(page["items"].as_array().unwrap().is_empty());
    let (status, _) = shop
        .customers_api(Method::GET, &format!("?q={}", "x".repeat(65)), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = shop.customers_api(Method::GET, "?q=bu%00di", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = shop.customers_api(Method::GET, "?cursor=bad", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_profile_shows_balance_order_counts_and_recent_orders() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "profil-toko", 6202).await;
    shop.meet(CUSTOMER).await;
    shop.credit(CUSTOMER, 50_000).await;
    let order = shop.checkout(CUSTOMER, "ML", 1).await;

    let (status, profile) = shop
        .customers_api(Method::GET, &format!("/{CUSTOMER}"), None)
        .await;

    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["balance"], 50_000);
    assert_eq!(profile["order_count"], 1);
    assert_eq!(profile["paid_order_count"], 0);
    assert_eq!(profile["recent_orders"][0]["code"], order.code.as_str());
    assert_eq!(profile["username"], format!("budi{CUSTOMER}"));
    assert_eq!(profile["blocked_by_store"], false);
    for missing in ["/999", "/abc"] {
        let (status, _) = shop.customers_api(Method::GET, missing, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }
}

#[tokio::test]
async fn a_balance_adjustment_needs_a_reason_and_never_takes_the_balance_below_zero() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "saldo-toko", 6203).await;
    shop.meet(CUSTOMER).await;
    let path = format!("/{CUSTOMER}/balance");

    let (status, adjusted) = shop
        .customers_api(
            Method::POST,
            &path,
            Some(json!({ "amount": 20000, "reason": "Bonus pelanggan setia" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{adjusted}");
    assert_eq!(
        (
            adjusted["balance_before"].as_i64(),
            adjusted["balance"].as_i64()
        ),
        (Some(0), Some(20000))
    );
    shop.wait_text(CUSTOMER, "Bonus pelanggan setia").await;

    let (status, error) = shop
        .customers_api(
            Method::POST,
            &path,
            Some(json!({ "amount": -20001, "reason": "Koreksi" })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"]["code"], "balance_too_low");
    assert_eq!(shop.balance(CUSTOMER).await, 20000);

    for body in [
        json!({ "amount": 5000 }),
        json!({ "amount": 5000, "reason": "   " }),
        json!({ "amount": 0, "reason": "nol" }),
        json!({ "amount": 100_000_001, "reason": "salah ketik" }),
        json!({ "amount": 5000, "reason": "x".repeat(501) }),
        json!({ "amount": 5000, "reason": "nul\u{0}" }),
        json!({ "amount": 1.5, "reason": "pecahan" }),
    ] {
        let (status, error) = shop
            .customers_api(Method::POST, &path, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
    }
    let (status, _) = shop
        .customers_api(
            Method::POST,
            "/424242/balance",
            Some(json!({ "amount": 5000, "reason": "siapa" })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, adjusted) = shop
        .customers_api(
            Method::POST,
            &path,
            Some(json!({ "amount": -20000, "reason": "Koreksi salah transfer" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{adjusted}");
    assert_eq!(shop.balance(CUSTOMER).await, 0);

    let mut tx = shop.tx().await;
    let ledger: Vec<(i64, String, Option<String>, i64)> = sqlx::query_as(
        "select amount, reason, note, balance_after from balance_ledger where customer_id = $1 order by id",
    )
    .bind(CUSTOMER)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(
        ledger,
        [
            (
                20000,
                "adjustment".into(),
                Some("Bonus pelanggan setia".into()),
                20000
            ),
            (
                -20000,
                "adjustment".into(),
                Some("Koreksi salah transfer".into()),
                0
            ),
        ]
    );
    let audit: Vec<(Value, Value)> = sqlx::query_as(
        "select before, after from audit_log where action = 'customer.balance' order by id",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(
        (
            audit[0].0["balance"].as_i64(),
            audit[0].1["balance"].as_i64()
        ),
        (Some(0), Some(20000))
    );
    assert_eq!(audit[1].1["reason"], "Koreksi salah transfer");
}

#[tokio::test]
async fn a_blocked_customer_is_told_politely_and_cannot_check_out_or_top_up() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "blokir-toko", 6204).await;
    shop.meet(CUSTOMER).await;

    let (status, profile) = shop
        .customers_api(Method::POST, &format!("/{CUSTOMER}/block"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["blocked_by_store"], true);

    let (id, price) = shop.product("ML").await;
    shop.press(CUSTOMER, Callback::Add { id, qty: 1, price })
        .await;
    shop.press(CUSTOMER, Callback::Checkout).await;
    shop.text_containing(CUSTOMER, BLOCKED_TEXT).await;
    assert_eq!(shop.last_order(CUSTOMER).await, None);
    assert_eq!(shop.stock("ML", "available").await, 5);
    shop.say(CUSTOMER, "💰 Deposit").await;
    shop.wait_count(CUSTOMER, BLOCKED_TEXT, 2).await;
    shop.say(CUSTOMER, "50000").await;
    host.telegram.settle().await;
    assert!(
        shop.photos(CUSTOMER).is_empty(),
        "no deposit invoice for a blocked customer"
    );

    // Blocking twice changes nothing more; unblocking lets them shop again.
    shop.customers_api(Method::POST, &format!("/{CUSTOMER}/block"), None)
        .await;
    assert_eq!(shop.audit_count("customer.block").await, 1);
    let (status, profile) = shop
        .customers_api(Method::POST, &format!("/{CUSTOMER}/unblock"), None)
        .await;
    assert_eq!(
        (status, profile["blocked_by_store"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    assert_eq!(shop.audit_count("customer.unblock").await, 1);
    shop.checkout(CUSTOMER, "ML", 1).await;
    assert!(shop.last_order(CUSTOMER).await.is_some());
}

#[tokio::test]
async fn another_stores_owner_cannot_block_or_credit_a_customer() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "pelanggan-a", 6205).await;
    let _other = Shop::open(&host, "pelanggan-b", 6206).await;
    shop.meet(CUSTOMER).await;
    let foreign = host.owner_token("pelanggan-b").await;
    let base = format!("/api/v1/tenants/{}/customers", shop.slug);

    let attempts = [
        (Method::GET, base.clone(), None),
        (Method::GET, format!("{base}/{CUSTOMER}"), None),
        (Method::POST, format!("{base}/{CUSTOMER}/block"), None),
        (Method::POST, format!("{base}/{CUSTOMER}/unblock"), None),
        (
            Method::POST,
            format!("{base}/{CUSTOMER}/balance"),
            Some(json!({ "amount": 100000, "reason": "hadiah" })),
        ),
    ];
    for (method, path, body) in attempts {
        let (status, _) = host.api(method.clone(), &path, Some(&foreign), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }

    assert_eq!(shop.balance(CUSTOMER).await, 0);
    assert_eq!(shop.ledger_count(CUSTOMER).await, 0);
    assert_eq!(shop.audit_count("customer.block").await, 0);
}

//! Payments through Pakasir: QRIS invoices, the verified webhook, exactly-once delivery,
//! reconciliation, expiry, late payments, deposits, SNK and gateway failures. Everything runs
//! through the real routes with the fake Telegram and the fake Pakasir.

mod abuse;
mod deposit;
mod expiry;
mod failures;
mod qris;
mod snk;
mod webhook;
// Money edge cases (issue 10, item 7).
mod fee_payer;
mod free_order;
mod last_look;
mod review;

use std::ops::Deref;

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokobot::{
    bot::callbacks::Callback,
    db::TenantId,
    host::Host,
    jobs::payments::{Pass, run_once},
    pakasir::{Credentials, PakasirClient},
    secret::Secret,
};

use crate::support::{TestHost, bot_token, fake_telegram::Recorded, shop};

/// The store owner every test store is created with (see `store_body`).
pub const OWNER: i64 = 777000;
pub const API_KEY: &str = "pk_test_0123456789abcdef";

/// The catalog every payments test sells from: Netflix with terms, one Spotify account, and
/// plenty of vouchers.
fn catalog() -> Value {
    json!({
        "version": 1,
        "categories": [{"name": "Akun Premium", "sort": 1, "active": true}],
        "products": [
            {"code": "NFX", "name": "Netflix 1 Bulan", "description": "Akun sharing.",
             "price": 25000, "category": "Akun Premium", "active": true, "sort": 0,
             "snk": "Kirim screenshot login dalam 1x24 jam.",
             "stock": ["nfx1@mail.com:pass1", "nfx2@mail.com:pass2"]},
            {"code": "SPT", "name": "Spotify 1 Bulan", "description": "",
             "price": 15000, "category": "Akun Premium", "active": true, "sort": 1,
             "stock": ["spot1@mail.com:rahasia"]},
            {"code": "ML", "name": "86 Diamond ML", "description": "Kode voucher.",
             "price": 20000, "category": "Akun Premium", "active": true, "sort": 2,
             "stock": ["ML-1", "ML-2", "ML-3", "ML-4", "ML-5"]}
        ]
    })
}

/// A store with the test catalog, driven like a customer would: the store helpers of
/// `support::shop` plus what payments need.
pub struct Shop<'a> {
    base: shop::Shop<'a>,
}

impl<'a> Deref for Shop<'a> {
    type Target = shop::Shop<'a>;

    fn deref(&self) -> &shop::Shop<'a> {
        &self.base
    }
}

/// An order a customer placed and asked to pay by QRIS.
#[derive(Debug)]
pub struct Invoiced {
    pub order_id: i64,
    /// The order's code, which is also Pakasir's order id.
    pub code: String,
    pub amount: i64,
}

impl<'a> Shop<'a> {
    pub async fn open(host: &'a TestHost, slug: &str, bot: u32) -> Shop<'a> {
        let base = shop::Shop::open(host, slug, bot, json!({})).await;
        base.import(catalog()).await;
        Shop { base }
    }

    /// The store `slug` created earlier (by `open`), after a restart of the host.
    pub async fn reopen(host: &'a TestHost, slug: &str, bot: u32) -> Shop<'a> {
        let id: uuid::Uuid = sqlx::query_scalar("select id from tenants where slug = $1")
            .bind(slug)
            .fetch_one(host.db().registry())
            .await
            .unwrap();
        let base = shop::Shop {
            host,
            slug: slug.to_owned(),
            bot,
            secret: host.webhook_secret(bot),
            tenant: TenantId(id),
        };
        Shop { base }
    }

    pub fn token(&self) -> String {
        bot_token(self.bot)
    }

    pub fn project(&self) -> String {
        format!("proj-{}", self.slug)
    }

    pub async fn product(&self, code: &str) -> (i64, i64) {
        let mut tx = self.tx().await;
        sqlx::query_as("select id, price from products where code = $1")
            .bind(code)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    }

    /// Waits until the bot answered every button press of `user` so far: presses are handled
    /// in the background, one after another per store.
    pub async fn answered(&self, presses: usize) {
        let token = self.token();
        self.host
            .telegram
            .wait_for(&format!("{presses} answered button(s)"), |requests| {
                requests
                    .iter()
                    .filter(|r| r.token == token && r.method == "answercallbackquery")
                    .count()
                    >= presses
            })
            .await;
    }

    fn answers(&self) -> usize {
        self.host
            .telegram
            .calls(&self.token(), "answercallbackquery")
            .len()
    }

    /// Puts `qty` of `code` in the cart and checks out; returns the order (id, code, total).
    pub async fn checkout(&self, user: i64, code: &str, qty: u32) -> Invoiced {
        let (id, price) = self.product(code).await;
        let before = self.answers();
        self.press(user, Callback::Add { id, qty, price }).await;
        self.press(user, Callback::Checkout).await;
        self.answered(before + 2).await;
        let mut tx = self.tx().await;
        let (order_id, code): (i64, String) = sqlx::query_as(
            "select id, code from orders where customer_id = $1 order by id desc limit 1",
        )
        .bind(user)
        .fetch_one(&mut *tx)
        .await
        .expect("the checkout created an order");
        Invoiced {
            order_id,
            code,
            amount: price * i64::from(qty),
        }
    }

    /// Checks out `qty` of `code` and presses `💠 QRIS`; returns once the invoice photo was sent.
    pub async fn buy_by_qris(&self, user: i64, code: &str, qty: u32) -> Invoiced {
        let photos = self.photos(user).len();
        let answers = self.answers();
        let order = self.checkout(user, code, qty).await;
        self.press(
            user,
            Callback::PayQris {
                order: order.order_id,
            },
        )
        .await;
        self.wait_photos(user, photos + 1).await;
        // The button is answered after the photo is sent; a purchase that follows must not
        // count this answer as one of its own.
        self.answered(answers + 3).await;
        order
    }

    /// The invoice photos sent to `user`.
    pub fn photos(&self, user: i64) -> Vec<Recorded> {
        self.host
            .telegram
            .calls(&self.token(), "sendphoto")
            .into_iter()
            .filter(|r| r.status == 200 && r.body["chat_id"].as_i64() == Some(user))
            .collect()
    }

    pub async fn wait_photos(&self, user: i64, count: usize) -> Vec<Recorded> {
        let token = self.token();
        self.host
            .telegram
            .wait_for(&format!("{count} photo(s) to {user}"), |requests| {
                requests
                    .iter()
                    .filter(|r| {
                        r.token == token
                            && r.method == "sendphoto"
                            && r.status == 200
                            && r.body["chat_id"].as_i64() == Some(user)
                    })
                    .count()
                    >= count
            })
            .await;
        self.photos(user)
    }

    /// Waits for a text to `chat` containing `needle`, and returns every text sent there.
    pub async fn wait_text(&self, chat: i64, needle: &str) -> Vec<String> {
        let token = self.token();
        let telegram = self.host.telegram.clone();
        self.host
            .telegram
            .wait_for(&format!("a text to {chat} containing {needle:?}"), |_| {
                telegram
                    .sent_texts(&token, chat)
                    .iter()
                    .any(|t| t.contains(needle))
            })
            .await;
        self.host.telegram.sent_texts(&token, chat)
    }

    /// Pays at Pakasir's sandbox, which fires the webhook as Pakasir does.
    pub async fn simulate_payment(&self, invoice: &Invoiced) {
        let client = PakasirClient::new(reqwest::Client::new(), &self.host.pakasir.url());
        let key = Secret::new(API_KEY.to_owned());
        let project = self.project();
        let creds = Credentials {
            project: &project,
            api_key: &key,
        };
        client
            .simulate(&creds, &invoice.code, invoice.amount)
            .await
            .expect("the sandbox simulates the payment");
    }

    /// POSTs a webhook body to this store's Pakasir route.
    pub async fn post_webhook(&self, body: &Value) -> StatusCode {
        self.host
            .http
            .post(self.host.pakasir_webhook_url(&self.slug))
            .json(body)
            .send()
            .await
            .expect("the webhook route answers")
            .status()
    }

    pub async fn payment_status(&self, gateway_order_id: &str) -> String {
        let mut tx = self.tx().await;
        sqlx::query_scalar("select status from payments where gateway_order_id = $1")
            .bind(gateway_order_id)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    }

    /// The id of the payment whose Pakasir order id is `gateway_order_id`.
    pub async fn payment_id(&self, gateway_order_id: &str) -> i64 {
        let mut tx = self.tx().await;
        sqlx::query_scalar("select id from payments where gateway_order_id = $1")
            .bind(gateway_order_id)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    }

    pub async fn order_status(&self, order_id: i64) -> String {
        let mut tx = self.tx().await;
        sqlx::query_scalar("select status from orders where id = $1")
            .bind(order_id)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    }

    /// Stock items of a product by status.
    pub async fn stock(&self, code: &str, status: &str) -> i64 {
        let mut tx = self.tx().await;
        sqlx::query_scalar(
            "select count(*) from stock_items s join products p on p.id = s.product_id \
             where p.code = $1 and s.status = $2",
        )
        .bind(code)
        .bind(status)
        .fetch_one(&mut *tx)
        .await
        .unwrap()
    }

    /// Outbox rows of a kind, sent or not.
    pub async fn outbox_rows(&self, kind: &str) -> i64 {
        let mut tx = self.tx().await;
        sqlx::query_scalar("select count(*) from outbox where kind = $1")
            .bind(kind)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    }
}

pub fn host_of(host: &TestHost) -> &Host {
    &host.app.as_ref().expect("the host runs").host
}

/// Runs one reconciliation and expiry pass as if `minutes` had passed.
pub async fn pass_after(host: &TestHost, minutes: i64) -> Pass {
    let horizon = OffsetDateTime::now_utc() + time::Duration::minutes(minutes);
    run_once(host_of(host), horizon)
        .await
        .expect("the payments pass runs")
}

/// The delivery message of an order, as the customer reads it.
pub fn goods_title(code: &str) -> String {
    format!("📦 <b>Pesanan {code}</b>")
}

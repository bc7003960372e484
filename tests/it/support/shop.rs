//! A store under test, driven like a customer would: messages and button presses through the
//! webhook route, answers read back from the fake Telegram.

use std::sync::atomic::{AtomicI64, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokobot::{
    bot::callbacks::Callback,
    db::{TenantId, TenantTx},
    store::wallet::{self, Reason},
};

use super::{TestHost, bot_token, callback_update, fake_telegram::document_update, text_update};

/// Update ids are unique across the whole test process, as Telegram's are per bot.
fn next_update_id() -> i64 {
    static NEXT: AtomicI64 = AtomicI64::new(1_000_000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The owner every test store is created with (see `store_body`).
pub const OWNER: i64 = 777_000;

pub struct Shop<'a> {
    pub host: &'a TestHost,
    pub slug: String,
    pub bot: u32,
    pub secret: String,
    pub tenant: TenantId,
}

impl<'a> Shop<'a> {
    /// Creates a store (with `extra` fields in the create body) ready to take updates.
    pub async fn open(host: &'a TestHost, slug: &str, bot: u32, extra: Value) -> Shop<'a> {
        let created = host.create_store(slug, bot, extra).await;
        let tenant = TenantId(created["id"].as_str().unwrap().parse().unwrap());
        Shop {
            host,
            slug: slug.to_owned(),
            bot,
            secret: host.webhook_secret(bot),
            tenant,
        }
    }

    /// Replaces the store's catalog through the API.
    pub async fn import(&self, document: Value) {
        let path = format!("/api/v1/tenants/{}/catalog", self.slug);
        let (status, body) = self.host.operator(Method::PUT, &path, Some(document)).await;
        assert_eq!(status, StatusCode::OK, "catalog import: {body}");
    }

    pub async fn say(&self, user: i64, text: &str) {
        let status = self
            .host
            .deliver(
                &self.slug,
                Some(&self.secret),
                &text_update(next_update_id(), user, text),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }

    pub async fn press(&self, user: i64, callback: Callback) {
        let update = callback_update(next_update_id(), user, 77, &callback.to_string());
        let status = self
            .host
            .deliver(&self.slug, Some(&self.secret), &update)
            .await;
        assert_eq!(status, StatusCode::OK);
    }

    /// Sends a document whose contents are `bytes`, as a user attaching a file.
    pub async fn send_file(&self, user: i64, file_name: &str, bytes: Vec<u8>) {
        let update_id = next_update_id();
        let file_id = format!("upload-{update_id}");
        let size = bytes.len();
        self.host.telegram.add_file(&file_id, bytes);
        let update = document_update(update_id, user, &file_id, file_name, size);
        let status = self
            .host
            .deliver(&self.slug, Some(&self.secret), &update)
            .await;
        assert_eq!(status, StatusCode::OK);
    }

    /// Presses a button whose data is not one the bot makes today (an old or foreign button).
    pub async fn press_raw(&self, user: i64, data: &str) {
        let update = callback_update(next_update_id(), user, 77, data);
        self.host
            .deliver(&self.slug, Some(&self.secret), &update)
            .await;
    }

    /// Waits until `count` texts reached `user` and returns them all.
    pub async fn texts(&self, user: i64, count: usize) -> Vec<String> {
        self.host.wait_texts(self.bot, user, count).await
    }

    /// Waits until some text to `user` contains `needle` and returns it.
    pub async fn text_containing(&self, user: i64, needle: &str) -> String {
        let token = bot_token(self.bot);
        let telegram = self.host.telegram.clone();
        self.host
            .telegram
            .wait_for(&format!("a text to {user} containing {needle:?}"), |_| {
                telegram
                    .sent_texts(&token, user)
                    .iter()
                    .any(|t| t.contains(needle))
            })
            .await;
        self.host
            .telegram
            .sent_texts(&token, user)
            .into_iter()
            .find(|t| t.contains(needle))
            .unwrap()
    }

    /// Waits until a button answer (a toast or alert) containing `needle` was given.
    pub async fn answer_containing(&self, needle: &str) -> String {
        let token = bot_token(self.bot);
        let telegram = self.host.telegram.clone();
        let answers = move || -> Vec<String> {
            telegram
                .calls(&token, "answerCallbackQuery")
                .iter()
                .filter_map(|r| {
                    r.body
                        .get("text")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect()
        };
        let probe = answers.clone();
        self.host
            .telegram
            .wait_for(&format!("a button answer containing {needle:?}"), |_| {
                probe().iter().any(|t| t.contains(needle))
            })
            .await;
        answers().into_iter().find(|t| t.contains(needle)).unwrap()
    }

    /// Waits until the bot sent `user` at least `n` texts containing `needle`.
    pub async fn wait_count(&self, user: i64, needle: &str, n: usize) {
        let token = bot_token(self.bot);
        let telegram = self.host.telegram.clone();
        self.host
            .telegram
            .wait_for(&format!("{n} text(s) to {user} with {needle:?}"), |_| {
                telegram
                    .sent_texts(&token, user)
                    .iter()
                    .filter(|t| t.contains(needle))
                    .count()
                    >= n
            })
            .await;
    }

    /// How many texts the bot sent `user` that contain `needle`, once everything settled.
    pub async fn count_texts(&self, user: i64, needle: &str) -> usize {
        self.host
            .settled_texts(self.bot, user)
            .await
            .iter()
            .filter(|t| t.contains(needle))
            .count()
    }

    pub async fn tx(&self) -> TenantTx {
        self.host.db().tenant(self.tenant).await.unwrap()
    }

    pub async fn product_id(&self, code: &str) -> i64 {
        let mut tx = self.tx().await;
        sqlx::query_scalar("select id from products where code = $1")
            .bind(code)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    }

    pub async fn category_id(&self, name: &str) -> i64 {
        let mut tx = self.tx().await;
        sqlx::query_scalar("select id from categories where name = $1")
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    }

    /// `user` presses the add button of product `id` (`qty` at `price`, as the button carries
    /// them) and sees it go into the cart.
    pub async fn add_to_cart(&self, user: i64, id: i64, qty: u32, price: i64) {
        self.press(user, Callback::Add { id, qty, price }).await;
        self.answer_containing("masuk keranjang").await;
    }

    /// The customer's latest order: (id, status, total).
    pub async fn last_order(&self, user: i64) -> Option<(i64, String, i64)> {
        let mut tx = self.tx().await;
        sqlx::query_as(
            "select id, status, total from orders where customer_id = $1 order by id desc limit 1",
        )
        .bind(user)
        .fetch_optional(&mut *tx)
        .await
        .unwrap()
    }

    /// Tops up a customer's balance as an admin adjustment would.
    pub async fn credit(&self, user: i64, amount: i64) {
        let mut tx = self.tx().await;
        let reference = format!("test-{}", next_update_id());
        wallet::credit(
            &mut tx,
            self.tenant,
            user,
            amount,
            Reason::Adjustment,
            &reference,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    /// The store's audit rows of `action`, oldest first: (actor, before, after).
    pub async fn audit_rows(&self, action: &str) -> Vec<(Option<i64>, Value, Value)> {
        self.audit_columns("actor, before, after", action).await
    }

    /// The `columns` of the store's audit rows of `action`, oldest first, for tests that look
    /// at other columns than [`Shop::audit_rows`] does.
    pub async fn audit_columns<R>(&self, columns: &str, action: &str) -> Vec<R>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        let mut tx = self.tx().await;
        let sql = format!("select {columns} from audit_log where action = $1 order by id");
        sqlx::query_as(&sql)
            .bind(action)
            .fetch_all(&mut *tx)
            .await
            .unwrap()
    }

    /// Calls the store's own API at `rest` (the path after `/api/v1/tenants/{slug}/`) with an
    /// owner token of the store.
    pub async fn owner_api(
        &self,
        method: Method,
        rest: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = self.host.owner_token(&self.slug).await;
        let path = format!("/api/v1/tenants/{}/{rest}", self.slug);
        self.host.api(method, &path, Some(&token), body).await
    }

    /// `user` buys `qty` of `code` paying from their balance, first credited with the total;
    /// returns the order's id once its goods were delivered.
    pub async fn buy_with_balance(&self, user: i64, code: &str, qty: u32) -> i64 {
        let (id, price): (i64, i64) = {
            let mut tx = self.tx().await;
            sqlx::query_as("select id, price from products where code = $1")
                .bind(code)
                .fetch_one(&mut *tx)
                .await
                .unwrap()
        };
        self.credit(user, price * i64::from(qty)).await;
        let before = self.last_order(user).await.map(|(order, _, _)| order);
        self.press(user, Callback::Add { id, qty, price }).await;
        self.press(user, Callback::Checkout).await;
        let mut order = None;
        for _ in 0..250 {
            order = self
                .last_order(user)
                .await
                .map(|(order, _, _)| order)
                .filter(|order| Some(*order) != before);
            if order.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let order = order.expect("the checkout created an order");
        let code: String = {
            let mut tx = self.tx().await;
            sqlx::query_scalar("select code from orders where id = $1")
                .bind(order)
                .fetch_one(&mut *tx)
                .await
                .unwrap()
        };
        self.press(user, Callback::PayBalance { order }).await;
        self.text_containing(user, &format!("📦 <b>Pesanan {code}</b>"))
            .await;
        order
    }

    pub async fn balance(&self, user: i64) -> i64 {
        let mut tx = self.tx().await;
        wallet::balance(&mut tx, user).await.unwrap()
    }
}

/// A small catalog: one category, two products with stock.
pub fn sample_catalog(netflix_stock: &[&str], price: i64) -> Value {
    json!({
        "version": 1,
        "categories": [{"name": "Akun Premium", "emoji": "👑", "sort": 1, "active": true}],
        "products": [
            {"code": "NFX", "name": "Netflix 1 Bulan", "description": "Akun sharing 1 profil", "price": price,
             "category": "Akun Premium", "active": true, "sort": 0, "snk": "Jangan ganti password.",
             "stock": netflix_stock},
            {"code": "SPT", "name": "Spotify 1 Bulan", "description": "", "price": 15000,
             "category": "Akun Premium", "active": true, "sort": 1, "stock": ["spotify-a@mail.com:pw1"]}
        ],
        "templates": {"how_to_order": "Pilih produk, checkout, bayar.", "info": "Toko buka 24 jam."}
    })
}

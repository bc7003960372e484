//! Stores created as an operator creates them: through the host's API, with a small catalog.

use std::{sync::Arc, time::Duration};

use anyhow::{Context, bail};
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use tokobot::http::api::auth::{JwtKeys, Role};

use crate::{host::JWT_SECRET, standin::Telegram};

/// How many stores are created at once.
const CREATING_AT_ONCE: usize = 16;

/// A store as the load generator needs it.
#[derive(Clone, Debug)]
pub struct Store {
    pub slug: String,
    pub secret: String,
    pub project: String,
    pub category: i64,
    /// (product id, price), in the catalog's order.
    pub products: Vec<(i64, i64)>,
}

/// What each store sells.
#[derive(Clone, Copy)]
pub enum Catalog {
    /// No catalog (idle stores).
    None,
    /// One category of six products, each with `stock` items.
    Small { stock: usize },
}

/// The host's API as an operator reaches it.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    token: Arc<str>,
}

impl Api {
    pub fn new(http: reqwest::Client, base: &str) -> anyhow::Result<Self> {
        let keys = JwtKeys::new(JWT_SECRET.as_bytes(), Duration::from_secs(90 * 24 * 3600));
        let token = keys.issue(
            "bench",
            Role::Operator,
            None,
            Duration::from_secs(24 * 3600),
        )?;
        Ok(Self {
            http,
            base: base.to_owned(),
            token: token.into(),
        })
    }

    /// Calls the API as the operator; the answer's JSON, or an error naming the status.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&*self.token)
            .timeout(Duration::from_secs(60));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{path}: {status} {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// The token of bench bot `n`, in BotFather's format.
pub fn bot_token(n: usize) -> String {
    format!("{}:AAH{n:0>10}xyzXYZ0123456789abcdefABCD", 100_000 + n)
}

/// Creates stores `from..to` (slugs `<prefix>-<n>`) through the API, a few at a time.
pub async fn create_stores(
    api: &Api,
    telegram: &Telegram,
    prefix: &str,
    range: std::ops::Range<usize>,
    catalog: Catalog,
) -> anyhow::Result<Vec<Store>> {
    let created: Vec<anyhow::Result<Store>> = stream::iter(range)
        .map(|n| create_store(api, telegram, prefix, n, catalog))
        .buffered(CREATING_AT_ONCE)
        .collect()
        .await;
    created.into_iter().collect()
}

async fn create_store(
    api: &Api,
    telegram: &Telegram,
    prefix: &str,
    n: usize,
    catalog: Catalog,
) -> anyhow::Result<Store> {
    let slug = format!("{prefix}-{n}");
    let token = bot_token(n);
    let project = format!("proj-{slug}");
    let body = json!({
        "slug": slug, "display_name": format!("Toko Bench {n}"), "bot_token": token,
        "pakasir": { "project": project, "api_key": "pk_bench_0123456789abcdef" },
        "owner_telegram_id": 777_000,
    });
    api.call(reqwest::Method::POST, "/api/v1/tenants", Some(body))
        .await
        .with_context(|| format!("creating store {slug}"))?;
    let secret = telegram
        .webhook_secret(&token)
        .with_context(|| format!("store {slug} registered no webhook"))?;
    let mut store = Store {
        slug,
        secret,
        project,
        category: 0,
        products: Vec::new(),
    };
    if let Catalog::Small { stock } = catalog {
        let products: Vec<Value> = (0..6)
            .map(|p| {
                json!({
                    "code": format!("P{p}"), "name": format!("Voucher {p}"),
                    "description": "Kode voucher.", "price": 10_000 + p * 1_000,
                    "category": "Voucher", "active": true, "sort": p,
                    "stock": (0..stock).map(|i| format!("code-{n}-{p}-{i}")).collect::<Vec<_>>(),
                })
            })
            .collect();
        let document = json!({
            "version": 1,
            "categories": [{ "name": "Voucher", "sort": 1, "active": true }],
            "products": products,
        });
        let path = format!("/api/v1/tenants/{}/catalog", store.slug);
        api.call(reqwest::Method::PUT, &path, Some(document))
            .await?;
        let path = format!("/api/v1/tenants/{}/products?limit=50", store.slug);
        let page = api.call(reqwest::Method::GET, &path, None).await?;
        let items = page["items"]
            .as_array()
            .context("a page of products has items")?;
        for item in items {
            let id = item["id"].as_i64().context("a product has an id")?;
            let price = item["price"].as_i64().context("a product has a price")?;
            store.category = item["category_id"].as_i64().unwrap_or(store.category);
            store.products.push((id, price));
        }
        if store.products.is_empty() {
            bail!("store {} lists no products after its import", store.slug);
        }
    }
    Ok(store)
}

//! The catalog document API: import and export through the real routes and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokobot::{db::TenantId, tenants::model::Settings};

use crate::support::{TestHost, spawn_host};

/// A realistic store: two categories, three products with stock and terms, two templates.
/// Canonical, so its export must be exactly it.
fn document() -> Value {
    json!({
        "version": 1,
        "categories": [
            {"name": "Akun Premium", "emoji": "👑", "sort": 1, "active": true},
            {"name": "Voucher Game", "sort": 2, "active": true}
        ],
        "products": [
            {"code": "NFX-1B", "name": "Netflix 1 Bulan", "description": "Akun sharing, 1 profil.",
             "price": 25000, "category": "Akun Premium", "active": true, "sort": 0,
             "snk": "Kirim screenshot login dalam 1x24 jam, garansi hangus setelahnya.",
             "stock": ["user1@mail.com:pass1", "user2@mail.com:pass2"]},
            {"code": "SPT-1B", "name": "Spotify Premium 1 Bulan", "description": "",
             "price": 15000, "category": "Akun Premium", "active": true, "sort": 0,
             "stock": ["spot1@mail.com:rahasia"]},
            {"code": "ML-86", "name": "86 Diamond Mobile Legends", "description": "Kode voucher.",
             "price": 20500, "category": "Voucher Game", "active": false, "sort": 5,
             "stock": ["MLBB-AAAA-1111", "MLBB-BBBB-2222", "MLBB-CCCC-3333"]}
        ],
        "templates": {
            "how_to_order": "1. Pilih produk\n2. Bayar QRIS\n3. Barang dikirim otomatis",
            "info": "Buka 24 jam. CS: @tokobudi_cs"
        }
    })
}

/// A version 1 `doc` as export writes it: version 2, with the store's coupons (none) and its
/// settings (the defaults).
fn exported(mut doc: Value) -> Value {
    doc["version"] = json!(2);
    doc["coupons"] = json!([]);
    doc["settings"] = serde_json::to_value(Settings::default()).unwrap();
    doc
}

fn catalog_path(slug: &str) -> String {
    format!("/api/v1/tenants/{slug}/catalog")
}

/// Creates a store and returns its id.
async fn store(host: &TestHost, slug: &str, bot_id: u32) -> TenantId {
    let created = host.create_store(slug, bot_id, json!({})).await;
    TenantId(created["id"].as_str().unwrap().parse().unwrap())
}

async fn import(host: &TestHost, slug: &str, doc: Value) -> (StatusCode, Value) {
    host.operator(Method::PUT, &catalog_path(slug), Some(doc))
        .await
}

async fn export(host: &TestHost, slug: &str) -> Value {
    let (status, doc) = host.operator(Method::GET, &catalog_path(slug), None).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    doc
}

fn bad_fields(body: &Value) -> Vec<&str> {
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect()
}

/// Puts a paid order for one unit of `code` into the store, as a checkout would, and returns
/// the order's id.
async fn order_for(host: &TestHost, tenant: TenantId, code: &str) -> i64 {
    let mut tx = host.db().tenant(tenant).await.unwrap();
    let (product_id, name, price): (i64, String, i64) =
        sqlx::query_as("select id, name, price from products where code = $1")
            .bind(code)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    let order_id: i64 = sqlx::query_scalar(
        "insert into orders (tenant_id, customer_id, code, status, subtotal, total, expires_at) \
         values ($1, 9001, $2, 'paid', $3, $3, now() + interval '15 minutes') returning id",
    )
    .bind(tenant)
    .bind(format!("INV-{code}"))
    .bind(price)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "insert into order_items (tenant_id, order_id, product_id, product_code, product_name, unit_price, quantity) \
         values ($1, $2, $3, $4, $5, $6, 1)",
    )
    .bind(tenant)
    .bind(order_id)
    .bind(product_id)
    .bind(code)
    .bind(name)
    .bind(price)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    order_id
}

#[tokio::test]
async fn an_imported_catalog_exports_as_the_same_document() {
    let host = spawn_host().await;
    store(&host, "toko-katalog", 2101).await;

    let (status, summary) = import(&host, "toko-katalog", document()).await;

    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(
        summary,
        json!({"categories": 2, "products": 3, "stock_items": 6, "archived": 0, "deleted": 0, "coupons": 0})
    );
    assert_eq!(export(&host, "toko-katalog").await, exported(document()));
    // Importing the export again changes nothing.
    let (status, _) = import(&host, "toko-katalog", document()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(export(&host, "toko-katalog").await, exported(document()));
}

#[tokio::test]
async fn a_bad_document_is_refused_with_every_bad_field_and_changes_nothing() {
    let host = spawn_host().await;
    store(&host, "toko-salah", 2201).await;
    import(&host, "toko-salah", document()).await;
    let mut bad = document();
    bad["categories"][1]["name"] = json!("Akun Premium");
    bad["products"][0]["price"] = json!(0);
    bad["products"][1]["code"] = json!("SPOTIFY 1 BULAN");
    bad["products"][2]["category"] = json!("Tidak Ada");
    bad["products"][2]["stock"][1] = json!("  ");
    bad["templates"]["jadwal"] = json!("Senin-Jumat");

    let (status, body) = import(&host, "toko-salah", bad).await;

    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        bad_fields(&body),
        [
            "categories[1].name",
            "products[0].price",
            "products[1].code",
            "products[2].category",
            "products[2].stock[1]",
            "templates.jadwal",
        ]
    );
    assert_eq!(export(&host, "toko-salah").await, exported(document()));
}

#[tokio::test]
async fn a_reimport_removes_products_and_archives_those_with_orders() {
    let host = spawn_host().await;
    let tenant = store(&host, "toko-ganti", 2301).await;
    import(&host, "toko-ganti", document()).await;
    order_for(&host, tenant, "SPT-1B").await;
    let mut next = document();
    let products = next["products"].as_array_mut().unwrap();
    products.retain(|p| p["code"] != "SPT-1B" && p["code"] != "ML-86");
    products[0]["stock"] = json!(["user2@mail.com:pass2", "user3@mail.com:pass3"]);
    next["categories"].as_array_mut().unwrap().truncate(1);

    let (status, summary) = import(&host, "toko-ganti", next.clone()).await;

    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(
        summary,
        json!({"categories": 1, "products": 1, "stock_items": 2, "archived": 1, "deleted": 1, "coupons": 0})
    );
    assert_eq!(export(&host, "toko-ganti").await, exported(next));
    let mut tx = host.db().tenant(tenant).await.unwrap();
    let kept: Vec<(String, bool, bool)> =
        sqlx::query_as("select code, archived, active from products order by code")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(
        kept,
        [
            ("NFX-1B".to_owned(), false, true),
            ("SPT-1B".to_owned(), true, false)
        ]
    );
}

#[tokio::test]
async fn a_stock_line_already_sold_is_refused() {
    let host = spawn_host().await;
    let tenant = store(&host, "toko-terjual", 2401).await;
    import(&host, "toko-terjual", document()).await;
    let order = order_for(&host, tenant, "ML-86").await;
    let mut tx = host.db().tenant(tenant).await.unwrap();
    let product: i64 = sqlx::query_scalar("select id from products where code = 'ML-86'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let until = time::OffsetDateTime::now_utc() + time::Duration::minutes(15);
    tokobot::store::stock::reserve(&mut tx, product, order, 1, until)
        .await
        .unwrap();
    tokobot::store::stock::sell(&mut tx, order).await.unwrap();
    tx.commit().await.unwrap();

    // The first item (MLBB-AAAA-1111) was sold; the document still lists it.
    let (status, body) = import(&host, "toko-terjual", document()).await;

    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(bad_fields(&body), ["products[2].stock[0]"]);
    let exported = export(&host, "toko-terjual").await;
    assert_eq!(
        exported["products"][2]["stock"],
        json!(["MLBB-BBBB-2222", "MLBB-CCCC-3333"])
    );
}

#[tokio::test]
async fn stock_contents_are_sealed_at_rest_and_export_in_plain() {
    let host = spawn_host().await;
    let tenant = store(&host, "toko-segel", 2501).await;
    import(&host, "toko-segel", document()).await;

    let mut tx = host.db().tenant(tenant).await.unwrap();
    let sealed: Vec<Vec<u8>> = sqlx::query_scalar("select content from stock_items")
        .fetch_all(&mut *tx)
        .await
        .unwrap();

    assert_eq!(sealed.len(), 6);
    for plain in ["user1@mail.com:pass1", "pass1", "MLBB-AAAA-1111", "rahasia"] {
        for content in &sealed {
            assert!(
                !content.windows(plain.len()).any(|w| w == plain.as_bytes()),
                "{plain} is stored in plain"
            );
        }
    }
    let exported = export(&host, "toko-segel").await;
    assert_eq!(
        exported["products"][0]["stock"],
        json!(["user1@mail.com:pass1", "user2@mail.com:pass2"])
    );
}

#[tokio::test]
async fn only_the_store_owner_or_an_operator_reaches_a_catalog() {
    let host = spawn_host().await;
    store(&host, "toko-milik", 2601).await;
    store(&host, "toko-tetangga", 2602).await;
    let owner = host.owner_token("toko-milik").await;
    let neighbour = host.owner_token("toko-tetangga").await;
    let path = catalog_path("toko-milik");

    let (status, _) = host.api(Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = host.api(Method::PUT, &path, None, Some(document())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = host.api(Method::GET, &path, Some(&neighbour), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = host
        .api(Method::PUT, &path, Some(&neighbour), Some(document()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _) = host
        .api(Method::PUT, &path, Some(&owner), Some(document()))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, doc) = host.api(Method::GET, &path, Some(&owner), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc, exported(document()));
    // The neighbour's catalog is still empty.
    let neighbours = export(&host, "toko-tetangga").await;
    assert_eq!(
        neighbours,
        exported(json!({"version": 1, "categories": [], "products": [], "templates": {}}))
    );
    let (status, _) = host
        .operator(Method::GET, &catalog_path("toko-tidak-ada"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, openapi) = host.api(Method::GET, "/api/openapi.json", None, None).await;
    let route = &openapi["paths"]["/api/v1/tenants/{slug}/catalog"];
    assert!(route["get"].is_object() && route["put"].is_object());
}

#[tokio::test]
async fn a_duplicate_stock_line_within_a_product_is_refused() {
    let host = spawn_host().await;
    store(&host, "toko-ganda", 2701).await;
    let mut doc = document();
    doc["products"][0]["stock"] = json!(["user1@mail.com:pass1", "user1@mail.com:pass1 "]);

    let (status, body) = import(&host, "toko-ganda", doc).await;

    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(bad_fields(&body), ["products[0].stock[1]"]);
    assert_eq!(export(&host, "toko-ganda").await["products"], json!([]));
}

#[tokio::test]
async fn a_catalog_larger_than_the_usual_body_limit_is_accepted() {
    let host = spawn_host().await;
    store(&host, "toko-besar", 2801).await;
    let mut doc = document();
    // About 1.5 MiB, over the 1 MiB every other route accepts.
    let stock: Vec<String> = (0..400)
        .map(|i| format!("{i:04}:{}", "x".repeat(3900)))
        .collect();
    doc["products"][0]["stock"] = json!(stock);

    let (status, summary) = import(&host, "toko-besar", doc).await;

    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["stock_items"], 404);
}

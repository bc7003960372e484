//! Version 2 of the catalog document: coupons and settings travel with the catalog, so a
//! backup restored into an empty store gives the same configuration; version 1 documents
//! still import; every import is all or nothing and leaves one audit row.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    admin_catalog::audit_rows,
    support::{
        TestHost,
        shop::{Shop, sample_catalog},
        spawn_host,
    },
};

fn catalog(slug: &str) -> String {
    format!("/api/v1/tenants/{slug}/catalog")
}

async fn put(host: &TestHost, slug: &str, doc: &Value) -> (StatusCode, Value) {
    host.api(
        Method::PUT,
        &catalog(slug),
        Some(&host.owner_token(slug).await),
        Some(doc.clone()),
    )
    .await
}

async fn get(host: &TestHost, slug: &str) -> Value {
    let (status, doc) = host
        .api(
            Method::GET,
            &catalog(slug),
            Some(&host.owner_token(slug).await),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    doc
}

async fn settings(host: &TestHost, slug: &str) -> Value {
    let (_, store) = host
        .operator(Method::GET, &format!("/api/v1/tenants/{slug}"), None)
        .await;
    store["settings"].clone()
}

/// A whole configuration: the sample catalog, two coupons and changed settings.
fn full_document(default_settings: &Value) -> Value {
    let mut doc = sample_catalog(&["a@mail.com:1", "b@mail.com:2"], 25_000);
    doc["version"] = json!(2);
    doc["coupons"] = json!([
        {"code": "HEMAT10", "kind": "percent", "value": 10, "max_uses": 100, "min_order": 20000,
         "active": true},
        {"code": "POTONG5K", "kind": "flat", "value": 5000, "min_order": 0,
         "valid_until": "2099-12-31T17:00:00Z", "active": false}
    ]);
    let mut settings = default_settings.clone();
    settings["invoice_ttl_minutes"] = json!(30);
    settings["deposit_minimum"] = json!(25000);
    doc["settings"] = settings;
    doc
}

#[tokio::test]
async fn a_backup_restored_into_an_empty_store_gives_the_same_configuration_and_the_bot_uses_it() {
    let host = spawn_host().await;
    let source = Shop::open(&host, "toko-asal", 5401, json!({})).await;
    let target = Shop::open(&host, "toko-tujuan", 5402, json!({})).await;
    let defaults = settings(&host, &source.slug).await;
    let (status, summary) = put(&host, &source.slug, &full_document(&defaults)).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["coupons"], 2);
    let backup = get(&host, &source.slug).await;
    assert_eq!(backup["version"], 2);
    assert_eq!(
        backup,
        full_document(&defaults),
        "the export is the canonical document"
    );

    let (status, _) = put(&host, &target.slug, &backup).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(get(&host, &target.slug).await, backup);
    assert_eq!(
        settings(&host, &target.slug).await["deposit_minimum"],
        25000
    );
    // The running bot took the restored settings at once.
    target.say(64_001, "💰 Deposit").await;
    target.text_containing(64_001, "minimal Rp 25.000").await;
    let rows = audit_rows(&host, &target.slug, "catalog.import").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            &rows[0]["before"]["holdings"]["products"],
            &rows[0]["after"]["holdings"]["products"]
        ),
        (&json!(0), &json!(2))
    );
    assert_eq!(rows[0]["after"]["holdings"]["coupons"], 2);
    assert_eq!(rows[0]["before"]["settings"], defaults);
    assert_eq!(rows[0]["after"]["settings"]["invoice_ttl_minutes"], 30);
    assert!(
        !rows[0].to_string().contains("a@mail.com"),
        "no goods in the audit log"
    );
}

#[tokio::test]
async fn a_version_1_document_still_imports_and_leaves_coupons_and_settings_alone() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-lama", 5403, json!({})).await;
    let defaults = settings(&host, &shop.slug).await;
    put(&host, &shop.slug, &full_document(&defaults)).await;

    let mut v1 = sample_catalog(&["c@mail.com:3"], 30_000);
    v1["products"].as_array_mut().unwrap().truncate(1);
    let (status, summary) = put(&host, &shop.slug, &v1).await;

    assert_eq!(status, StatusCode::OK, "{summary}");
    let doc = get(&host, &shop.slug).await;
    assert_eq!(doc["products"].as_array().unwrap().len(), 1);
    assert_eq!(doc["products"][0]["price"], 30000);
    assert_eq!(doc["coupons"].as_array().unwrap().len(), 2);
    assert_eq!(settings(&host, &shop.slug).await["invoice_ttl_minutes"], 30);
    assert_eq!(
        audit_rows(&host, &shop.slug, "catalog.import").await.len(),
        2
    );

    // A version 1 document that carries coupons is refused outright.
    let mut mixed = v1.clone();
    mixed["coupons"] = json!([{"code": "BARU", "kind": "flat", "value": 1000}]);
    let (status, body) = put(&host, &shop.slug, &mixed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn a_coupon_left_out_is_deleted_or_deactivated_when_used_and_keeps_its_uses() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-kupon-v2", 5404, json!({})).await;
    let defaults = settings(&host, &shop.slug).await;
    put(&host, &shop.slug, &full_document(&defaults)).await;
    let mut tx = shop.tx().await;
    sqlx::query("update coupons set used_count = 3 where code = 'HEMAT10'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut next = full_document(&defaults);
    next["coupons"] = json!([{"code": "BARU", "kind": "flat", "value": 2000}]);
    let (status, _) = put(&host, &shop.slug, &next).await;

    assert_eq!(status, StatusCode::OK);
    let (_, list) = host
        .api(
            Method::GET,
            &format!("/api/v1/tenants/{}/coupons", shop.slug),
            Some(&host.owner_token(&shop.slug).await),
            None,
        )
        .await;
    let coupons: Vec<(&str, bool, i64)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["code"].as_str().unwrap(),
                c["active"].as_bool().unwrap(),
                c["used_count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(coupons, [("BARU", true, 0), ("HEMAT10", false, 3)]);
}

#[tokio::test]
async fn a_document_with_one_bad_coupon_or_setting_changes_nothing_at_all() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-utuh", 5405, json!({})).await;
    let defaults = settings(&host, &shop.slug).await;
    put(&host, &shop.slug, &full_document(&defaults)).await;
    let before = get(&host, &shop.slug).await;

    let mut bad = full_document(&defaults);
    bad["products"][0]["price"] = json!(99_000);
    bad["settings"]["invoice_ttl_minutes"] = json!(2);
    bad["settings"]["deposit_minimum"] = json!(50000);
    bad["coupons"][1]["value"] = json!(0);
    let (status, body) = put(&host, &shop.slug, &bad).await;

    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["coupons[1].value", "settings.invoice_ttl_minutes"]);
    assert_eq!(get(&host, &shop.slug).await, before);
    assert_eq!(
        audit_rows(&host, &shop.slug, "catalog.import").await.len(),
        1
    );
}

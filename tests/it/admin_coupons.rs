//! Coupons through the API: created, listed with their uses after a customer used one at
//! checkout, changed, and deleted (a used one deactivated instead), each with its audit row.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokobot::bot::callbacks::Callback;

use crate::{
    admin_catalog::audit_rows,
    support::shop::{OWNER, Shop, sample_catalog},
    support::{spawn_host, store_path},
};

#[tokio::test]
async fn a_coupon_is_created_used_at_checkout_listed_with_its_use_and_deactivated_on_delete() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-kupon", 5301, json!({})).await;
    shop.import(sample_catalog(&["k1", "k2"], 20_000)).await;
    let (status, created) = shop
        .owner_api(
            Method::POST,
            "coupons",
            Some(
                json!({"code": "hemat10", "kind": "percent", "value": 10, "max_uses": 5,
                        "min_order": 10000, "valid_until": "2099-01-01T00:00:00Z"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (&created["code"], &created["used_count"]),
        (&json!("HEMAT10"), &json!(0))
    );

    let buyer = 63_001;
    let nfx = shop.product_id("NFX").await;
    shop.add_to_cart(buyer, nfx, 1, 20_000).await;
    shop.press(buyer, Callback::Coupon).await;
    shop.text_containing(buyer, "Ketik kode kupon").await;
    shop.say(buyer, "hemat10").await;
    shop.text_containing(buyer, "Diskon (HEMAT10)").await;
    shop.press(buyer, Callback::Checkout).await;
    let invoice = shop.text_containing(buyer, "Pesanan INV").await;
    assert!(invoice.contains("Rp 18.000"), "{invoice}");

    let (_, list) = shop.owner_api(Method::GET, "coupons", None).await;
    assert_eq!(list["items"][0]["used_count"], 1, "{list}");

    let (status, changed) = shop
        .owner_api(
            Method::PATCH,
            "coupons/HEMAT10",
            Some(json!({"value": 15, "max_uses": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (&changed["value"], &changed["max_uses"]),
        (&json!(15), &Value::Null)
    );

    let (status, removed) = shop
        .owner_api(Method::DELETE, "coupons/hemat10", None)
        .await;
    assert_eq!(
        (status, &removed["result"]),
        (StatusCode::OK, &json!("deactivated"))
    );
    let (_, list) = shop.owner_api(Method::GET, "coupons", None).await;
    assert_eq!(list["items"][0]["active"], false);

    let created = audit_rows(&host, &shop.slug, "coupon.create").await;
    assert_eq!(created[0]["after"]["value"], 10);
    let updated = audit_rows(&host, &shop.slug, "coupon.update").await;
    assert_eq!(
        (
            &updated[0]["before"]["max_uses"],
            &updated[0]["after"]["max_uses"]
        ),
        (&json!(5), &Value::Null)
    );
    let deactivated = audit_rows(&host, &shop.slug, "coupon.deactivate").await;
    assert_eq!(deactivated[0]["after"]["active"], false);
}

#[tokio::test]
async fn an_unused_coupon_is_deleted_and_bad_coupons_are_refused() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-kupon-teliti", 5302, json!({})).await;
    let token = host.owner_token(&shop.slug).await;
    let bad = [
        (json!({"code": "X", "kind": "flat", "value": 1000}), "code"),
        (
            json!({"code": "BESAR", "kind": "percent", "value": 101}),
            "value",
        ),
        (json!({"code": "NOL", "kind": "flat", "value": 0}), "value"),
        (
            json!({"code": "BATAS", "kind": "flat", "value": 5, "max_uses": 0}),
            "max_uses",
        ),
        (
            json!({"code": "WAKTU", "kind": "flat", "value": 5,
                "valid_from": "2030-01-02T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"}),
            "valid_until",
        ),
    ];
    host.assert_invalid_fields(
        Method::POST,
        &store_path(&shop.slug, "coupons"),
        &token,
        bad,
    )
    .await;
    let (status, _) = shop
        .owner_api(
            Method::POST,
            "coupons",
            Some(json!({"code": "POTONG", "kind": "flat", "value": 5000})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, taken) = shop
        .owner_api(
            Method::POST,
            "coupons",
            Some(json!({"code": "potong", "kind": "percent", "value": 5})),
        )
        .await;
    assert_eq!(
        (status, &taken["error"]["code"]),
        (StatusCode::CONFLICT, &json!("coupon_code_taken"))
    );
    let (status, _) = shop
        .owner_api(
            Method::PATCH,
            "coupons/POTONG",
            Some(json!({"kind": "percent"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "5000% is no percentage"
    );

    let (status, removed) = shop.owner_api(Method::DELETE, "coupons/POTONG", None).await;
    assert_eq!(
        (status, &removed["result"]),
        (StatusCode::OK, &json!("deleted"))
    );
    let (_, list) = shop.owner_api(Method::GET, "coupons", None).await;
    assert_eq!(list["items"], json!([]));
    assert_eq!(audit_rows(&host, &shop.slug, "coupon.").await.len(), 2);
}

/// The store's owner, as `store_body` provisions it.

#[tokio::test]
async fn the_owner_creates_coupons_in_the_bot_in_one_line_and_step_by_step_and_deactivates_one() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-kupon-bot", 5303, json!({})).await;
    shop.say(OWNER, "⚙️ Admin Settings").await;
    shop.press_raw(OWNER, "a:cp").await;
    shop.text_containing(OWNER, "Belum ada kupon").await;

    // One line: a bad line gets one line back, the question stands.
    shop.press_raw(OWNER, "a:cp:n").await;
    shop.text_containing(OWNER, "KODE | 10% | 100").await;
    shop.say(OWNER, "hemat10 | sepuluh | 100").await;
    shop.text_containing(OWNER, "Tulis persen 1–100").await;
    shop.say(OWNER, "hemat10 | 10% | 100").await;
    let summary = shop
        .text_containing(OWNER, "Kupon baru <code>HEMAT10</code>")
        .await;
    assert!(
        summary.contains("10%") && summary.contains("100"),
        "{summary}"
    );
    shop.press_raw(OWNER, "a:y").await;
    shop.text_containing(OWNER, "Kupon <code>HEMAT10</code> dibuat")
        .await;

    // A refusal of the store's state reads in the admin's language, not the API's English.
    shop.press_raw(OWNER, "a:cp:n").await;
    shop.say(OWNER, "HEMAT10 | 5% | 1").await;
    shop.text_containing(OWNER, "Potongan: 5%").await;
    shop.press_raw(OWNER, "a:y").await;
    shop.text_containing(OWNER, "Kode kupon itu sudah dipakai. Pilih kode lain.")
        .await;
    let token = crate::support::bot_token(shop.bot);
    let english: Vec<String> = host
        .telegram
        .sent_texts(&token, OWNER)
        .into_iter()
        .filter(|t| t.contains("already"))
        .collect();
    assert!(english.is_empty(), "{english:?}");

    // Step by step, with a wrong answer at each step.
    shop.press_raw(OWNER, "a:cp:s").await;
    shop.say(OWNER, "x").await;
    shop.text_containing(OWNER, "Kode harus 3–32 karakter")
        .await;
    shop.say(OWNER, "potong5k").await;
    shop.text_containing(OWNER, "Langkah 2/6").await;
    shop.say(OWNER, "Rp 5.000").await;
    shop.text_containing(OWNER, "Langkah 3/6").await;
    shop.say(OWNER, "nol").await;
    shop.text_containing(OWNER, "Tulis angka 1 sampai 1000000")
        .await;
    shop.say(OWNER, "-").await;
    shop.text_containing(OWNER, "Langkah 4/6").await;
    shop.say(OWNER, "murah").await;
    shop.text_containing(OWNER, "Tulis nominal rupiah 0 sampai")
        .await;
    shop.say(OWNER, "Rp 50.000").await;
    shop.text_containing(OWNER, "Langkah 5/6").await;
    shop.say(OWNER, "kemarin").await;
    shop.text_containing(OWNER, "Tanggalnya tidak terbaca")
        .await;
    shop.say(OWNER, "01/01/2099").await;
    shop.text_containing(OWNER, "Langkah 6/6").await;
    shop.say(OWNER, "01/01/2000").await;
    shop.text_containing(OWNER, "Tanggal itu sudah lewat").await;
    shop.say(OWNER, "2098-12-31").await;
    shop.text_containing(OWNER, "Hari terakhir harus sama dengan atau sesudah")
        .await;
    shop.say(OWNER, "31/01/2099").await;
    let summary = shop
        .text_containing(OWNER, "Kupon baru <code>POTONG5K</code>")
        .await;
    assert!(
        summary.contains("Potongan: Rp 5.000")
            && summary.contains("Batas pakai: ∞")
            && summary.contains("Minimal belanja: Rp 50.000")
            && summary.contains("Berlaku dari: 01/01/2099 00:00 WIB")
            && summary.contains("Berlaku sampai: 01/02/2099 00:00 WIB"),
        "{summary}"
    );
    shop.press_raw(OWNER, "a:y").await;
    shop.text_containing(OWNER, "Kupon <code>POTONG5K</code> dibuat")
        .await;

    shop.press_raw(OWNER, "a:cp:l:0").await;
    let list = shop.text_containing(OWNER, "<b>Kupon</b> (2)").await;
    assert!(
        list.contains("<code>HEMAT10</code> · 10% · dipakai 0/100 · aktif")
            && list.contains("<code>POTONG5K</code> · Rp 5.000 · dipakai 0/∞ · aktif"),
        "{list}"
    );
    shop.press_raw(OWNER, "a:cp:t:HEMAT10").await;
    shop.text_containing(OWNER, "<code>HEMAT10</code> sekarang nonaktif")
        .await;

    // A customer forging the coupon buttons changes nothing.
    let customer = 63_003;
    shop.press_raw(customer, "a:cp:t:HEMAT10").await;
    shop.press_raw(customer, "a:cp:d:POTONG5K").await;
    shop.press_raw(customer, "a:y").await;
    shop.press_raw(customer, "a:cp:n").await;
    shop.say(customer, "GRATIS | 100% | 1000").await;
    host.telegram.settle().await;

    let (_, coupons) = shop.owner_api(Method::GET, "coupons", None).await;
    let states: Vec<(&str, bool)> = coupons["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["code"].as_str().unwrap(), c["active"].as_bool().unwrap()))
        .collect();
    assert_eq!(states, [("HEMAT10", false), ("POTONG5K", true)]);
    // The steps' answers are stored: the store's days, from the first moment of the first day
    // to the first moment after the last one (Asia/Jakarta is UTC+7).
    let potong = &coupons["items"][1];
    let at = |field: &str| {
        time::OffsetDateTime::parse(
            potong[field].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
        .unix_timestamp()
    };
    assert_eq!(potong["min_order"], 50_000, "{potong}");
    assert_eq!(at("valid_from"), 4_070_883_600, "{potong}");
    assert_eq!(at("valid_until"), 4_073_562_000, "{potong}");
    let rows = audit_rows(&host, &shop.slug, "coupon.").await;
    let actions: Vec<(&str, i64)> = rows
        .iter()
        .map(|r| (r["action"].as_str().unwrap(), r["actor"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("coupon.update", OWNER),
            ("coupon.create", OWNER),
            ("coupon.create", OWNER)
        ]
    );
}

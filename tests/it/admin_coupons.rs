//! Coupons through the API: created, listed with their uses after a customer used one at
//! checkout, changed, and deleted (a used one deactivated instead), each with its audit row.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokobot::bot::callbacks::Callback;

use crate::{
    admin_catalog::audit_rows,
    support::shop::{Shop, sample_catalog},
    support::spawn_host,
};

fn path(slug: &str, rest: &str) -> String {
    format!("/api/v1/tenants/{slug}/{rest}")
}

#[tokio::test]
async fn a_coupon_is_created_used_at_checkout_listed_with_its_use_and_deactivated_on_delete() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-kupon", 5301, json!({})).await;
    shop.import(sample_catalog(&["k1", "k2"], 20_000)).await;
    let token = host.owner_token(&shop.slug);
    let (status, created) = host
        .api(
            Method::POST,
            &path(&shop.slug, "coupons"),
            Some(&token),
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
    shop.press(
        buyer,
        Callback::Add {
            id: nfx,
            qty: 1,
            price: 20_000,
        },
    )
    .await;
    shop.answer_containing("masuk keranjang").await;
    shop.press(buyer, Callback::Coupon).await;
    shop.text_containing(buyer, "Ketik kode kupon").await;
    shop.say(buyer, "hemat10").await;
    shop.text_containing(buyer, "Diskon (HEMAT10)").await;
    shop.press(buyer, Callback::Checkout).await;
    let invoice = shop.text_containing(buyer, "Pesanan INV").await;
    assert!(invoice.contains("Rp 18.000"), "{invoice}");

    let (_, list) = host
        .api(
            Method::GET,
            &path(&shop.slug, "coupons"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(list["items"][0]["used_count"], 1, "{list}");

    let (status, changed) = host
        .api(
            Method::PATCH,
            &path(&shop.slug, "coupons/HEMAT10"),
            Some(&token),
            Some(json!({"value": 15, "max_uses": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (&changed["value"], &changed["max_uses"]),
        (&json!(15), &Value::Null)
    );

    let (status, removed) = host
        .api(
            Method::DELETE,
            &path(&shop.slug, "coupons/hemat10"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, &removed["result"]),
        (StatusCode::OK, &json!("deactivated"))
    );
    let (_, list) = host
        .api(
            Method::GET,
            &path(&shop.slug, "coupons"),
            Some(&token),
            None,
        )
        .await;
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
    let token = host.owner_token(&shop.slug);
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
    for (body, field) in bad {
        let (status, error) = host
            .api(
                Method::POST,
                &path(&shop.slug, "coupons"),
                Some(&token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["fields"][0]["field"], field, "{body}");
    }
    let (status, _) = host
        .api(
            Method::POST,
            &path(&shop.slug, "coupons"),
            Some(&token),
            Some(json!({"code": "POTONG", "kind": "flat", "value": 5000})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, taken) = host
        .api(
            Method::POST,
            &path(&shop.slug, "coupons"),
            Some(&token),
            Some(json!({"code": "potong", "kind": "percent", "value": 5})),
        )
        .await;
    assert_eq!(
        (status, &taken["error"]["code"]),
        (StatusCode::CONFLICT, &json!("coupon_code_taken"))
    );
    let (status, _) = host
        .api(
            Method::PATCH,
            &path(&shop.slug, "coupons/POTONG"),
            Some(&token),
            Some(json!({"kind": "percent"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "5000% is no percentage"
    );

    let (status, removed) = host
        .api(
            Method::DELETE,
            &path(&shop.slug, "coupons/POTONG"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, &removed["result"]),
        (StatusCode::OK, &json!("deleted"))
    );
    let (_, list) = host
        .api(
            Method::GET,
            &path(&shop.slug, "coupons"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(list["items"], json!([]));
    assert_eq!(audit_rows(&host, &shop.slug, "coupon.").await.len(), 2);
}

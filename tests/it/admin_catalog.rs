//! Products and categories through the API: created, edited and deleted with their audit rows,
//! bad input refused with nothing changed, customers seeing each change at once, and another
//! store's owner kept out.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokobot::bot::callbacks::Callback;

use crate::support::{
    TestHost,
    shop::{OWNER, Shop, sample_catalog},
    spawn_host, store_path,
};

/// The store's audit rows for `action`, newest first, through the audit API.
pub async fn audit_rows(host: &TestHost, slug: &str, action: &str) -> Vec<Value> {
    let path = format!("/api/v1/tenants/{slug}/audit?action={action}");
    let (status, page) = host
        .api(
            Method::GET,
            &path,
            Some(&host.owner_token(slug).await),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_owner_creates_edits_and_deletes_products_and_each_change_is_audited() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-produk", 5101, json!({})).await;
    let (status, category) = shop
        .owner_api(
            Method::POST,
            "categories",
            Some(json!({"name": "Voucher Game", "emoji": "🎮"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{category}");
    let category_id = category["id"].as_i64().unwrap();

    let (status, product) = shop
        .owner_api(
            Method::POST,
            "products",
            Some(
                json!({"code": "ML-86", "name": "86 Diamond", "price": 20500,
                        "category_id": category_id, "snk": "Kirim ID game."}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    assert_eq!(product["snk"], "Kirim ID game.");

    let (status, edited) = shop
        .owner_api(
            Method::PATCH,
            "products/ML-86",
            Some(json!({"name": "86 Diamond Mobile Legends", "price": 19000, "snk": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (
            &edited["name"],
            &edited["price"],
            &edited["snk"],
            &edited["category_id"]
        ),
        (
            &json!("86 Diamond Mobile Legends"),
            &json!(19000),
            &Value::Null,
            &json!(category_id)
        )
    );

    // A customer sees the new name and price at once: the catalog cache was dropped.
    let id = shop.product_id("ML-86").await;
    shop.press(61_001, Callback::Product { id, qty: 1 }).await;
    let page = shop
        .text_containing(61_001, "<b>86 Diamond Mobile Legends</b>")
        .await;
    assert!(page.contains("Rp 19.000"), "{page}");

    let (status, removed) = shop.owner_api(Method::DELETE, "products/ML-86", None).await;
    assert_eq!(
        (status, &removed["result"]),
        (StatusCode::OK, &json!("deleted"))
    );
    let (status, _) = shop.owner_api(Method::GET, "products/ML-86", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let created = audit_rows(&host, &shop.slug, "product.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(
        (
            &created[0]["actor_kind"],
            &created[0]["actor_name"],
            &created[0]["before"]
        ),
        (&json!("api"), &json!("owner"), &Value::Null)
    );
    assert_eq!(created[0]["after"]["price"], 20500);
    let updated = audit_rows(&host, &shop.slug, "product.update").await;
    assert_eq!(
        (
            &updated[0]["before"]["price"],
            &updated[0]["after"]["price"]
        ),
        (&json!(20500), &json!(19000))
    );
    let deleted = audit_rows(&host, &shop.slug, "product.delete").await;
    assert_eq!(
        (
            &deleted[0]["subject"],
            &deleted[0]["before"]["name"],
            &deleted[0]["after"]
        ),
        (
            &json!("ML-86"),
            &json!("86 Diamond Mobile Legends"),
            &Value::Null
        )
    );
    assert_eq!(audit_rows(&host, &shop.slug, "category.").await.len(), 1);
}

#[tokio::test]
async fn a_product_with_sold_history_or_an_open_order_is_deactivated_not_deleted() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-riwayat", 5102, json!({})).await;
    shop.import(sample_catalog(&["n1", "n2"], 25_000)).await;
    let buyer = 61_002;
    let nfx = shop.product_id("NFX").await;
    shop.add_to_cart(buyer, nfx, 1, 25_000).await;
    shop.press(buyer, Callback::Checkout).await;
    shop.text_containing(buyer, "Pesanan INV").await;

    let (status, removed) = shop.owner_api(Method::DELETE, "products/NFX", None).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(removed["result"], "deactivated_open_orders");
    let (_, detail) = shop.owner_api(Method::GET, "products/NFX", None).await;
    assert_eq!(detail["product"]["active"], false);
    assert_eq!(
        detail["stock"],
        json!({"available": 1, "reserved": 1, "sold": 0})
    );

    let (order, _, _) = shop.last_order(buyer).await.unwrap();
    shop.credit(buyer, 25_000).await;
    shop.press(buyer, Callback::PayBalance { order }).await;
    shop.text_containing(buyer, "ini barang kamu").await;
    let (_, removed) = shop.owner_api(Method::DELETE, "products/NFX", None).await;
    assert_eq!(removed["result"], "deactivated_sold_history");
    let rows = audit_rows(&host, &shop.slug, "product.deactivate").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (&rows[1]["before"]["active"], &rows[1]["after"]["active"]),
        (&json!(true), &json!(false))
    );
}

#[tokio::test]
async fn bad_product_input_is_refused_and_changes_nothing() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-teliti", 5103, json!({})).await;
    shop.import(sample_catalog(&["n1"], 25_000)).await;
    let token = host.owner_token(&shop.slug).await;
    let bad_creates = [
        (json!({"code": "X1", "name": "", "price": 1000}), "name"),
        (
            json!({"code": "X1", "name": "n".repeat(101), "price": 1000}),
            "name",
        ),
        (
            json!({"code": "X1", "name": "ok\u{0}", "price": 1000}),
            "name",
        ),
        (json!({"code": "X1", "name": "ok", "price": 0}), "price"),
        (
            json!({"code": "X1", "name": "ok", "price": 1_000_000_001i64}),
            "price",
        ),
        (json!({"code": "X 1", "name": "ok", "price": 1000}), "code"),
        (
            json!({"code": "X1", "name": "ok", "price": 1000, "category_id": 999_999}),
            "category_id",
        ),
    ];
    host.assert_invalid_fields(
        Method::POST,
        &store_path(&shop.slug, "products"),
        &token,
        bad_creates,
    )
    .await;
    let (status, _) = shop
        .owner_api(
            Method::PATCH,
            "products/NFX",
            Some(json!({"price": -5, "name": "Baru"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, taken) = shop
        .owner_api(
            Method::POST,
            "products",
            Some(json!({"code": "NFX", "name": "again", "price": 1000})),
        )
        .await;
    assert_eq!(
        (status, &taken["error"]["code"]),
        (StatusCode::CONFLICT, &json!("product_code_taken"))
    );

    let (_, list) = shop.owner_api(Method::GET, "products", None).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Netflix 1 Bulan", "Spotify 1 Bulan"]);
    assert!(audit_rows(&host, &shop.slug, "product.").await.is_empty());
}

#[tokio::test]
async fn a_category_is_renamed_and_deleted_only_when_empty() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-kategori", 5104, json!({})).await;
    shop.import(sample_catalog(&["n1"], 25_000)).await;
    let id = shop.category_id("Akun Premium").await;
    let (status, renamed) = shop
        .owner_api(
            Method::PATCH,
            &format!("categories/{id}"),
            Some(json!({"name": "Akun Streaming"})),
        )
        .await;
    assert_eq!(
        (status, &renamed["name"]),
        (StatusCode::OK, &json!("Akun Streaming"))
    );
    let rows = audit_rows(&host, &shop.slug, "category.rename").await;
    assert_eq!(
        (&rows[0]["before"]["name"], &rows[0]["after"]["name"]),
        (&json!("Akun Premium"), &json!("Akun Streaming"))
    );

    let (status, refused) = shop
        .owner_api(Method::DELETE, &format!("categories/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(refused["error"]["code"], "category_not_empty");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2 product")
    );

    for code in ["NFX", "SPT"] {
        let (status, _) = shop
            .owner_api(
                Method::PATCH,
                &format!("products/{code}"),
                Some(json!({"category_id": null})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = shop
        .owner_api(Method::DELETE, &format!("categories/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, categories) = shop.owner_api(Method::GET, "categories", None).await;
    assert_eq!(categories, json!([]));
    assert_eq!(
        audit_rows(&host, &shop.slug, "category.delete").await.len(),
        1
    );
}

#[tokio::test]
async fn an_owner_token_of_another_store_reaches_none_of_its_catalog_stock_coupons_or_audit() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-sasaran", 5105, json!({})).await;
    shop.import(sample_catalog(&["n1"], 25_000)).await;
    host.create_store("toko-lain", 5106, json!({})).await;
    let foreign = host.owner_token("toko-lain").await;
    let trail = audit_rows(&host, &shop.slug, "").await;
    let attempts = [
        (Method::GET, "products", None),
        (
            Method::POST,
            "products",
            Some(json!({"code": "Z", "name": "z", "price": 1})),
        ),
        (Method::PATCH, "products/NFX", Some(json!({"price": 1}))),
        (Method::DELETE, "products/NFX", None),
        (Method::POST, "categories", Some(json!({"name": "Z"}))),
        (Method::GET, "products/NFX/stock", None),
        (
            Method::POST,
            "stock",
            Some(json!({"product": "NFX", "items": ["z"]})),
        ),
        (Method::GET, "coupons", None),
        (
            Method::POST,
            "coupons",
            Some(json!({"code": "ZZZ", "kind": "flat", "value": 1})),
        ),
        (Method::GET, "audit", None),
    ];
    for (method, rest, body) in attempts {
        let (status, _) = host
            .api(
                method.clone(),
                &store_path(&shop.slug, rest),
                Some(&foreign),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {rest}");
    }
    let (_, detail) = host
        .api(
            Method::GET,
            &store_path(&shop.slug, "products/NFX"),
            Some(&host.owner_token(&shop.slug).await),
            None,
        )
        .await;
    assert_eq!(
        (&detail["product"]["price"], &detail["stock"]["available"]),
        (&json!(25000), &json!(1))
    );
    assert_eq!(audit_rows(&host, &shop.slug, "").await, trail);
}

#[tokio::test]
async fn the_audit_trail_pages_newest_first_and_filters_by_actor_and_action() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-jejak", 5107, json!({})).await;
    let owner = host.owner_token(&shop.slug).await;
    for i in 0..3 {
        let (status, _) = host
            .api(
                Method::POST,
                &store_path(&shop.slug, "categories"),
                Some(&owner),
                Some(json!({"name": format!("Kategori {i}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    host.operator(
        Method::POST,
        &store_path(&shop.slug, "products"),
        Some(json!({"code": "A", "name": "a", "price": 1000})),
    )
    .await;

    let (_, first) = host
        .api(
            Method::GET,
            &store_path(&shop.slug, "audit?limit=2"),
            Some(&owner),
            None,
        )
        .await;
    let actions: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["product.create", "category.create"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = host
        .api(
            Method::GET,
            &store_path(&shop.slug, &format!("audit?limit=2&cursor={cursor}")),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    assert!(second.get("next_cursor").is_none(), "{second}");

    let (_, by_operator) = host
        .api(
            Method::GET,
            &store_path(&shop.slug, "audit?actor=api:tests"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(by_operator["items"].as_array().unwrap().len(), 1);
    for bad in [
        "audit?limit=0",
        "audit?limit=201",
        "audit?cursor=%21%21",
        "audit?nope=1",
    ] {
        let (status, _) = host
            .api(
                Method::GET,
                &store_path(&shop.slug, bad),
                Some(&owner),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn the_owner_runs_products_and_categories_from_the_bot_and_a_customer_forging_buttons_changes_nothing()
 {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-produk-bot", 5108, json!({})).await;
    shop.import(sample_catalog(&["n1"], 25_000)).await;
    shop.say(OWNER, "⚙️ Admin Settings").await;
    shop.press_raw(OWNER, "a:pr").await;
    shop.text_containing(OWNER, "<b>Produk</b> (2)").await;

    // A new product in three steps, each wrong answer refused with one line.
    shop.press_raw(OWNER, "a:pr:n").await;
    shop.text_containing(OWNER, "langkah 1/3").await;
    shop.say(OWNER, "ada spasi").await;
    shop.text_containing(OWNER, "tanpa spasi").await;
    shop.say(OWNER, "NFX").await;
    shop.text_containing(OWNER, "sudah dipakai produk lain")
        .await;
    shop.say(OWNER, "ML-86").await;
    shop.text_containing(OWNER, "Langkah 2/3").await;
    shop.say(OWNER, &"n".repeat(101)).await;
    shop.text_containing(OWNER, "Nama harus 1–100 karakter")
        .await;
    shop.say(OWNER, "86 Diamond").await;
    shop.text_containing(OWNER, "Langkah 3/3").await;
    shop.say(OWNER, "murah").await;
    shop.text_containing(OWNER, "Harga harus angka rupiah")
        .await;
    shop.say(OWNER, "20.500").await;
    shop.text_containing(OWNER, "Produk baru <code>ML-86</code>")
        .await;
    shop.press_raw(OWNER, "a:y").await;
    shop.text_containing(OWNER, "Produk <b>86 Diamond</b> dibuat")
        .await;

    // One field at a time, the change shown before ✅; the customer sees it at once.
    shop.press_raw(OWNER, "a:pr:e:ML-86:price").await;
    shop.say(OWNER, "19000").await;
    let change = shop.text_containing(OWNER, "→ Rp 19.000").await;
    assert!(change.contains("<s>Rp 20.500</s>"), "{change}");
    shop.press_raw(OWNER, "a:y").await;
    shop.text_containing(OWNER, "<b>86 Diamond</b> disimpan")
        .await;
    let id = shop.product_id("ML-86").await;
    shop.press(61_008, Callback::Product { id, qty: 1 }).await;
    shop.text_containing(61_008, "Rp 19.000").await;

    // Categories: a new one, the product put into it, and a refused delete while it is not empty.
    shop.press_raw(OWNER, "a:pr:cn").await;
    shop.say(OWNER, "Akun Premium").await;
    shop.text_containing(OWNER, "Kategori <b>Akun Premium</b> sudah ada")
        .await;
    shop.say(OWNER, "Voucher Game").await;
    shop.text_containing(OWNER, "Kategori <b>Voucher Game</b> dibuat")
        .await;
    let category = shop.category_id("Voucher Game").await;
    shop.press_raw(OWNER, &format!("a:pr:kc:ML-86:{category}"))
        .await;
    shop.text_containing(OWNER, "<b>86 Diamond</b> disimpan")
        .await;
    shop.press_raw(OWNER, &format!("a:pr:cd:{category}")).await;
    shop.press_raw(OWNER, "a:y").await;
    shop.text_containing(OWNER, "masih berisi 1 produk").await;

    // A customer pressing forged product buttons gets nothing admin-only and changes nothing.
    let customer = 61_009;
    shop.press_raw(customer, "a:pr:d:NFX").await;
    shop.press_raw(customer, "a:y").await;
    shop.press_raw(customer, "a:pr:t:NFX").await;
    shop.press_raw(customer, "a:pr:e:NFX:price").await;
    shop.say(customer, "1").await;
    host.telegram.settle().await;
    let texts = host.settled_texts(shop.bot, customer).await;
    assert!(texts.iter().all(|t| !t.contains("Produk")), "{texts:?}");

    shop.press_raw(OWNER, "a:pr:d:ML-86").await;
    shop.text_containing(OWNER, "Hapus produk <b>86 Diamond</b>")
        .await;
    shop.press_raw(OWNER, "a:y").await;
    shop.text_containing(OWNER, "dihapus beserta stoknya").await;

    let (_, nfx) = shop.owner_api(Method::GET, "products/NFX", None).await;
    assert_eq!(
        (&nfx["product"]["active"], &nfx["product"]["price"]),
        (&json!(true), &json!(25000))
    );
    let rows = audit_rows(&host, &shop.slug, "").await;
    let mine: Vec<(&str, &Value)> = rows
        .iter()
        .filter(|r| r["action"] != "catalog.import")
        .map(|r| (r["action"].as_str().unwrap(), &r["actor"]))
        .collect();
    assert_eq!(
        mine,
        [
            ("product.delete", &json!(OWNER)),
            ("product.update", &json!(OWNER)),
            ("category.create", &json!(OWNER)),
            ("product.update", &json!(OWNER)),
            ("product.create", &json!(OWNER)),
        ]
    );
}

#[tokio::test]
async fn the_owner_sets_a_categorys_emoji_and_sort_order_in_the_bot() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-kategori-bot", 5109, json!({})).await;
    shop.import(sample_catalog(&["a"], 10_000)).await;
    shop.say(OWNER, "⚙️ Admin Settings").await;
    shop.press_raw(OWNER, "a:pr:cn").await;
    shop.say(OWNER, "Game").await;
    shop.text_containing(OWNER, "Kategori <b>Game</b> dibuat")
        .await;
    let game = shop.category_id("Game").await;
    shop.press_raw(OWNER, &format!("a:pr:cv:{game}")).await;
    shop.text_containing(OWNER, "Urutan: 0").await;

    // The emoji: too long is refused with one line and the question stands.
    shop.press_raw(OWNER, &format!("a:pr:ce:{game}")).await;
    shop.text_containing(OWNER, "Kirim emoji untuk kategori ini")
        .await;
    shop.say(OWNER, &"🎮".repeat(17)).await;
    shop.text_containing(OWNER, "Emoji paling banyak 16 karakter")
        .await;
    shop.say(OWNER, "🎮").await;
    shop.text_containing(OWNER, "Kategori <b>🎮 Game</b> diperbarui")
        .await;

    // The sort order: not a whole number is refused; a smaller one puts it first.
    shop.press_raw(OWNER, &format!("a:pr:cs:{game}")).await;
    shop.text_containing(OWNER, "Kirim urutan kategori ini")
        .await;
    shop.say(OWNER, "pertama").await;
    shop.text_containing(OWNER, "Urutan harus angka bulat")
        .await;
    shop.say(OWNER, "-1").await;
    shop.wait_count(OWNER, "Kategori <b>🎮 Game</b> diperbarui", 2)
        .await;
    async fn order(shop: &Shop<'_>) -> Vec<(String, Option<String>, i32)> {
        let mut tx = shop.tx().await;
        sqlx::query_as("select name, emoji, sort from categories order by sort, name")
            .fetch_all(&mut *tx)
            .await
            .unwrap()
    }
    assert_eq!(
        order(&shop).await,
        [
            ("Game".to_owned(), Some("🎮".to_owned()), -1),
            ("Akun Premium".to_owned(), Some("👑".to_owned()), 1),
        ]
    );

    // `-` removes the emoji.
    shop.press_raw(OWNER, &format!("a:pr:ce:{game}")).await;
    shop.say(OWNER, "-").await;
    shop.text_containing(OWNER, "Kategori <b>Game</b> diperbarui")
        .await;
    assert_eq!(order(&shop).await[0].1, None);

    let rows = audit_rows(&host, &shop.slug, "category.update").await;
    let changes: Vec<(&Value, &Value)> = rows
        .iter()
        .map(|r| (&r["after"]["emoji"], &r["after"]["sort"]))
        .collect();
    assert_eq!(
        changes,
        [
            (&Value::Null, &json!(-1)),
            (&json!("🎮"), &json!(-1)),
            (&json!("🎮"), &json!(0)),
        ],
        "{rows:?}"
    );
    assert!(rows.iter().all(|r| r["actor"] == OWNER), "{rows:?}");
}

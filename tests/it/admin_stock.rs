//! Stock through the API: uploads with repeats refused and listed, the rest added and shown to
//! customers at once; removing an unsold item; listing without the goods.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokobot::bot::callbacks::Callback;

use crate::{
    admin_catalog::audit_rows,
    support::shop::{OWNER, Shop, sample_catalog},
    support::{spawn_host, store_path},
};

fn refused(upload: &Value) -> Vec<(String, String)> {
    upload["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_upload_refuses_repeats_within_it_and_of_sold_items_and_customers_see_the_rest_at_once()
{
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-stok", 5201, json!({})).await;
    shop.import(sample_catalog(&["lama-1", "lama-2"], 10_000))
        .await;
    let buyer = 62_001;
    let nfx = shop.product_id("NFX").await;
    // The customer buys both items, so `lama-1` and `lama-2` are sold history now.
    shop.buy_with_balance(buyer, "NFX", 2).await;
    // The product page is cached now, showing no stock.
    shop.press(buyer, Callback::Product { id: nfx, qty: 1 })
        .await;
    shop.text_containing(buyer, "Stok habis").await;

    let (status, upload) = shop
        .owner_api(
            Method::POST,
            "stock",
            Some(json!({"product": "NFX", "items": [
                "baru-1", "  baru-2  ", "", "lama-1", "baru-1", "baru-3\nlama-2\n\n"
            ]})),
        )
        .await;

    assert_eq!(status, StatusCode::OK, "{upload}");
    assert_eq!(upload["added"], 3);
    assert_eq!(
        refused(&upload),
        [
            ("baru-1".to_owned(), "repeated_in_upload".to_owned()),
            ("lama-1".to_owned(), "already_in_stock".to_owned()),
            ("lama-2".to_owned(), "already_in_stock".to_owned()),
        ]
    );
    assert_eq!(
        upload["counts"],
        json!({"available": 3, "reserved": 0, "sold": 2})
    );
    shop.press(buyer, Callback::Product { id: nfx, qty: 1 })
        .await;
    shop.text_containing(buyer, "Stok: 3").await;

    // Uploading the same file again adds nothing.
    let (_, again) = shop
        .owner_api(
            Method::POST,
            "stock",
            Some(json!({"product": "NFX", "items": ["baru-1", "baru-2", "baru-3"]})),
        )
        .await;
    assert_eq!(
        (again["added"].as_i64(), refused(&again).len()),
        (Some(0), 3)
    );

    let rows = audit_rows(&host, &shop.slug, "stock.add").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[1]["before"],
        json!({"available": 0, "reserved": 0, "sold": 2})
    );
    assert_eq!(rows[1]["after"]["added"], 3);
    assert_eq!(rows[1]["after"]["refused"], 3);
    let trail = rows[1].to_string();
    assert!(
        !trail.contains("baru-1"),
        "the goods never enter the audit log: {trail}"
    );
}

#[tokio::test]
async fn a_bad_upload_changes_nothing() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-stok-teliti", 5202, json!({})).await;
    shop.import(sample_catalog(&["a"], 10_000)).await;
    let too_long = "x".repeat(4001);
    let bad = [
        (
            json!({"product": "NFX", "items": ["", "  "]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"product": "NFX", "items": ["ok", too_long]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"product": "NFX", "items": ["ok", "nul\u{0}"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"product": "NOPE", "items": ["ok"]}),
            StatusCode::NOT_FOUND,
        ),
        (json!({"product": "NFX"}), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, expected) in bad {
        let (status, error) = shop
            .owner_api(Method::POST, "stock", Some(body.clone()))
            .await;
        assert_eq!(status, expected, "{body}: {error}");
    }
    let (_, stock) = shop
        .owner_api(Method::GET, "products/NFX/stock", None)
        .await;
    assert_eq!(stock["counts"]["available"], 1);
    assert!(audit_rows(&host, &shop.slug, "stock.").await.is_empty());
}

#[tokio::test]
async fn an_unsold_item_is_removed_but_a_reserved_one_is_not() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-stok-hapus", 5203, json!({})).await;
    shop.import(sample_catalog(&["satu", "dua"], 10_000)).await;
    let buyer = 62_003;
    let nfx = shop.product_id("NFX").await;
    shop.add_to_cart(buyer, nfx, 1, 10_000).await;
    shop.press(buyer, Callback::Checkout).await;
    shop.text_containing(buyer, "Pesanan INV").await;

    let (status, stock) = shop
        .owner_api(Method::GET, "products/NFX/stock?limit=1", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{stock}");
    assert_eq!(
        stock["counts"],
        json!({"available": 1, "reserved": 1, "sold": 0})
    );
    assert!(
        !stock.to_string().contains("satu"),
        "no goods in the listing: {stock}"
    );
    let cursor = stock["next_cursor"].as_str().unwrap();
    let (_, rest) = shop
        .owner_api(
            Method::GET,
            &format!("products/NFX/stock?cursor={cursor}"),
            None,
        )
        .await;
    let items: Vec<&Value> = stock["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["items"].as_array().unwrap())
        .collect();
    let id_of = |status: &str| {
        items.iter().find(|i| i["status"] == status).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (reserved, available) = (id_of("reserved"), id_of("available"));

    let (status, refused) = shop
        .owner_api(Method::DELETE, &format!("stock/{reserved}"), None)
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (StatusCode::CONFLICT, &json!("stock_item_not_available"))
    );
    let (status, _) = shop
        .owner_api(Method::DELETE, &format!("stock/{available}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = shop
        .owner_api(Method::DELETE, &format!("stock/{available}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    shop.press(buyer, Callback::Product { id: nfx, qty: 1 })
        .await;
    shop.text_containing(buyer, "Stok habis").await;
    let rows = audit_rows(&host, &shop.slug, "stock.remove").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (&rows[0]["before"], &rows[0]["after"]),
        (
            &json!({"product": "NFX", "status": "available"}),
            &Value::Null
        )
    );
}

#[tokio::test]
async fn the_owner_adds_stock_in_the_bot_by_txt_file_and_by_pasting_and_bad_files_change_nothing() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-stok-bot", 5204, json!({})).await;
    shop.import(sample_catalog(&["lama-1"], 10_000)).await;
    let buyer = 62_004;
    let nfx = shop.product_id("NFX").await;
    shop.buy_with_balance(buyer, "NFX", 1).await;
    shop.press(buyer, Callback::Product { id: nfx, qty: 1 })
        .await;
    shop.text_containing(buyer, "Stok habis").await;

    shop.say(OWNER, "⚙️ Admin Settings").await;
    shop.press_raw(OWNER, "a:st").await;
    shop.text_containing(OWNER, "tersedia / dipesan / terjual")
        .await;
    let board = host
        .telegram
        .calls(&crate::support::bot_token(shop.bot), "editMessageText");
    let board = board
        .last()
        .map(|r| r.body["reply_markup"].to_string())
        .unwrap_or_default();
    assert!(board.contains("Netflix 1 Bulan · 0/0/1"), "{board}");
    shop.press_raw(OWNER, "a:st:p:NFX").await;
    shop.text_containing(OWNER, "Terjual: 1").await;
    shop.press_raw(OWNER, "a:st:a:NFX").await;
    shop.text_containing(OWNER, "Tambah stok <b>Netflix 1 Bulan</b>")
        .await;

    // Files the bot cannot use are refused with a line each, and the question stands.
    shop.send_file(OWNER, "stok.txt", vec![0xff, 0xfe, 0x00, 0x61])
        .await;
    shop.text_containing(OWNER, "bukan teks UTF-8").await;
    shop.send_file(OWNER, "stok.txt", b"\n   \n\n".to_vec())
        .await;
    shop.text_containing(OWNER, "semua barisnya kosong").await;
    shop.send_file(OWNER, "besar.txt", vec![b'a'; 5 * 1024 * 1024 + 1])
        .await;
    shop.text_containing(OWNER, "File terlalu besar").await;
    let (_, stock) = shop
        .owner_api(Method::GET, "products/NFX/stock", None)
        .await;
    assert_eq!(stock["counts"]["available"], 0, "nothing was added");

    shop.send_file(
        OWNER,
        "stok.txt",
        b"\xef\xbb\xbfbaru-1\r\nbaru-2\n\nbaru-1\nlama-1\n".to_vec(),
    )
    .await;
    let report = shop.text_containing(OWNER, "item ditambahkan").await;
    assert!(report.contains("✅ 2 item ditambahkan"), "{report}");
    assert!(
        report.contains("2 baris ditolak")
            && report.contains("<code>baru-1</code> (dobel di kiriman ini)")
            && report.contains("<code>lama-1</code> (sudah pernah ada)"),
        "{report}"
    );
    // The customer sees the new count at once.
    shop.press(buyer, Callback::Product { id: nfx, qty: 1 })
        .await;
    shop.text_containing(buyer, "Stok: 2").await;

    // Pasting works the same way.
    shop.press_raw(OWNER, "a:st:a:NFX").await;
    shop.say(OWNER, "baru-3\nbaru-2").await;
    shop.text_containing(OWNER, "✅ 1 item ditambahkan").await;

    // The available items come back as a .txt file.
    shop.press_raw(OWNER, "a:st:d:NFX").await;
    let token = crate::support::bot_token(shop.bot);
    host.telegram
        .wait_for("the stock file", |_| {
            !host.telegram.sent_documents(&token, OWNER).is_empty()
        })
        .await;
    let file = host.telegram.sent_documents(&token, OWNER).remove(0);
    assert_eq!(String::from_utf8(file).unwrap(), "baru-1\nbaru-2\nbaru-3\n");
    let rows = audit_rows(&host, &shop.slug, "stock.").await;
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["stock.download", "stock.add", "stock.add"]);
    assert_eq!(rows[1]["actor"], OWNER);
}

#[tokio::test]
async fn the_owner_removes_an_item_in_the_bot_and_a_customer_forging_the_buttons_changes_nothing() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-stok-palsu", 5205, json!({})).await;
    shop.import(sample_catalog(&["satu", "dua"], 10_000)).await;
    let customer = 62_005;
    let item: i64 = {
        let mut tx = shop.tx().await;
        sqlx::query_scalar(
            "select s.id from stock_items s join products p on p.id = s.product_id \
             where p.code = 'NFX' order by s.id limit 1",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap()
    };

    // A customer forging the stock buttons gets a stale answer and nothing changes.
    shop.press_raw(customer, "a:st:a:NFX").await;
    shop.send_file(customer, "stok.txt", b"palsu-1\n".to_vec())
        .await;
    shop.press_raw(customer, &format!("a:st:x:NFX:{item}"))
        .await;
    shop.press_raw(customer, "a:y").await;
    shop.press_raw(customer, "a:st:d:NFX").await;
    host.telegram.settle().await;
    let texts = host.settled_texts(shop.bot, customer).await;
    assert!(
        texts
            .iter()
            .all(|t| !t.contains("Stok") && !t.contains("satu")),
        "{texts:?}"
    );
    let token = crate::support::bot_token(shop.bot);
    assert!(host.telegram.sent_documents(&token, customer).is_empty());

    shop.press_raw(OWNER, "a:st:r:NFX:0").await;
    shop.text_containing(OWNER, "2 item tersedia").await;
    shop.press_raw(OWNER, &format!("a:st:x:NFX:{item}")).await;
    let question = shop.text_containing(OWNER, "Hapus item").await;
    assert!(question.contains("<code>satu</code>"), "{question}");
    shop.press_raw(OWNER, "a:y").await;
    shop.text_containing(OWNER, &format!("Item #{item} dihapus"))
        .await;

    let (_, stock) = shop
        .owner_api(Method::GET, "products/NFX/stock", None)
        .await;
    assert_eq!(stock["counts"]["available"], 1);
    let rows = audit_rows(&host, &shop.slug, "stock.").await;
    assert_eq!(rows.len(), 1, "only the owner's removal: {rows:?}");
    assert_eq!(
        (&rows[0]["action"], &rows[0]["actor"]),
        (&json!("stock.remove"), &json!(OWNER))
    );
}

#[tokio::test]
async fn a_line_the_store_has_or_sold_in_another_product_is_refused_in_the_bot_and_the_api() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-stok-lintas", 5206, json!({})).await;
    shop.import(sample_catalog(&["nfx-a", "nfx-b"], 10_000))
        .await;
    // `nfx-a` is sold (checkouts take the oldest item first); `nfx-b` is still on the shelf.
    shop.buy_with_balance(62_006, "NFX", 1).await;

    let (status, upload) = shop
        .owner_api(
            Method::POST,
            "stock",
            Some(json!({"product": "SPT", "items": ["nfx-b", "spt-baru-1", "nfx-a"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{upload}");
    assert_eq!(upload["added"], 1);
    assert_eq!(
        refused(&upload),
        [
            ("nfx-b".to_owned(), "already_in_stock".to_owned()),
            ("nfx-a".to_owned(), "already_in_stock".to_owned()),
        ]
    );
    assert_eq!(
        upload["counts"],
        json!({"available": 2, "reserved": 0, "sold": 0})
    );

    // The same in the bot's paste flow, with the refusals counted and listed.
    shop.say(OWNER, "⚙️ Admin Settings").await;
    shop.press_raw(OWNER, "a:st:a:SPT").await;
    shop.text_containing(OWNER, "Tambah stok <b>Spotify 1 Bulan</b>")
        .await;
    shop.say(OWNER, "nfx-a\nspt-baru-2\nnfx-b\nspt-baru-1")
        .await;
    let report = shop.text_containing(OWNER, "baris ditolak").await;
    assert!(report.contains("✅ 1 item ditambahkan"), "{report}");
    assert!(
        report.contains("3 baris ditolak")
            && report.contains("<code>nfx-a</code> (sudah pernah ada)")
            && report.contains("<code>nfx-b</code> (sudah pernah ada)")
            && report.contains("<code>spt-baru-1</code> (sudah pernah ada)"),
        "{report}"
    );
    let (_, stock) = shop
        .owner_api(Method::GET, "products/SPT/stock", None)
        .await;
    assert_eq!(stock["counts"]["available"], 3, "{stock}");
    let (_, stock) = shop
        .owner_api(Method::GET, "products/NFX/stock", None)
        .await;
    assert_eq!(
        stock["counts"],
        json!({"available": 1, "reserved": 0, "sold": 1})
    );

    // A catalog import that puts the sold line into the other product is refused whole.
    let mut document = sample_catalog(&["nfx-b"], 10_000);
    document["products"][1]["stock"] = json!(["nfx-a"]);
    let (status, body) = shop.owner_api(Method::PUT, "catalog", Some(document)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "products[1].stock[0]");
    let (_, stock) = shop
        .owner_api(Method::GET, "products/SPT/stock", None)
        .await;
    assert_eq!(stock["counts"]["available"], 3, "nothing changed: {stock}");
}

#[tokio::test]
async fn fingerprints_from_before_are_made_store_wide_at_startup_keeping_copies_across_products() {
    let mut host = spawn_host().await;
    let (tenant, nfx, spt) = {
        let shop = Shop::open(&host, "toko-stok-lama", 5207, json!({})).await;
        shop.import(sample_catalog(&["sama", "nfx-saja"], 10_000))
            .await;
        let (nfx, spt) = (shop.product_id("NFX").await, shop.product_id("SPT").await);
        (shop.tenant, nfx, spt)
    };
    // Put the store back as an older host left it: fingerprints bound to their product, and
    // the line `sama` in both products (which product-bound fingerprints allowed).
    let sealer = host.app.as_ref().unwrap().host.sealer().clone();
    let legacy = |product: i64| format!("stock_items/{tenant}/{product}");
    {
        let mut tx = host.db().tenant(tenant).await.unwrap();
        let rows: Vec<(i64, i64, Vec<u8>)> =
            sqlx::query_as("select id, product_id, content from stock_items")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        for (id, product, sealed) in rows {
            let plain = sealer.open(&sealed, &legacy(product)).unwrap();
            sqlx::query(
                "update stock_items set content_hash = $2, fingerprint_store_wide = false where id = $1",
            )
            .bind(id)
            .bind(&sealer.fingerprint(plain.expose(), &legacy(product))[..])
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        sqlx::query(
            "insert into stock_items (tenant_id, product_id, content, content_hash, fingerprint_store_wide) \
             values ($1, $2, $3, $4, false)",
        )
        .bind(tenant)
        .bind(spt)
        .bind(sealer.seal(b"sama", &legacy(spt)))
        .bind(&sealer.fingerprint(b"sama", &legacy(spt))[..])
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    host.restart().await;
    host.restart().await;

    let items = || async {
        let mut tx = host.db().tenant(tenant).await.unwrap();
        let rows: Vec<(i64, i64, bool, Option<i64>)> = sqlx::query_as(
            "select id, product_id, fingerprint_store_wide, duplicate_of from stock_items order by id",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        rows
    };
    let rows = items().await;
    assert!(
        rows.iter().all(|r| r.2),
        "every fingerprint was recomputed: {rows:?}"
    );
    let sama_nfx = rows[0].0;
    let copies: Vec<_> = rows.iter().filter(|r| r.3.is_some()).collect();
    assert_eq!(
        copies,
        [&(rows[3].0, spt, true, Some(sama_nfx))],
        "the later copy is marked as the older one's duplicate: {rows:?}"
    );
    assert_eq!(rows[0].1, nfx);

    let token = host.owner_token("toko-stok-lama").await;
    let upload = |product: &'static str, items: Value| {
        let (host, token) = (&host, token.clone());
        async move {
            let (status, body) = host
                .api(
                    Method::POST,
                    &store_path("toko-stok-lama", "stock"),
                    Some(&token),
                    Some(json!({"product": product, "items": items})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let first = upload("SPT", json!(["nfx-saja", "sama", "baru"])).await;
    assert_eq!(first["added"], 1, "{first}");
    assert_eq!(refused(&first).len(), 2, "{first}");

    // Removing the item that holds the fingerprint hands it to the copy: `sama` stays refused
    // while any copy of it is left.
    let (status, _) = host
        .api(
            Method::DELETE,
            &store_path("toko-stok-lama", &format!("stock/{sama_nfx}")),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let rows = items().await;
    assert!(rows.iter().all(|r| r.3.is_none()), "{rows:?}");
    let again = upload("NFX", json!(["sama"])).await;
    assert_eq!(refused(&again).len(), 1, "{again}");
}

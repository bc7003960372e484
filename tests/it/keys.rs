//! `tokobot keys rotate`: every sealed value re-sealed under the new key while the host serves,
//! nothing lost, the old key removable, and the stock duplicate guard intact across the rotation.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokobot::{
    app,
    bot::callbacks::Callback,
    crypto::MasterKey,
    db::TenantId,
    ops::keys,
    store::{snk, stock},
    tenants::repo,
};

use crate::support::{
    TestHost, master_key_base64,
    shop::{Shop, sample_catalog},
    spawn_host,
};

/// Buys one item of `product` from the balance and returns the goods message.
pub async fn buy_one(shop: &Shop<'_>, buyer: i64, product: i64, price: i64) -> String {
    shop.credit(buyer, price).await;
    shop.press(
        buyer,
        Callback::Add {
            id: product,
            qty: 1,
            price,
        },
    )
    .await;
    shop.press(buyer, Callback::Checkout).await;
    shop.text_containing(buyer, "Pesanan INV").await;
    let (order, _, _) = shop.last_order(buyer).await.unwrap();
    shop.press(buyer, Callback::PayBalance { order }).await;
    shop.text_containing(buyer, "ini barang kamu").await
}

fn reopen<'a>(
    host: &'a TestHost,
    slug: &str,
    bot: u32,
    secret: &str,
    tenant: TenantId,
) -> Shop<'a> {
    Shop {
        host,
        slug: slug.to_owned(),
        bot,
        secret: secret.to_owned(),
        tenant,
    }
}

#[tokio::test]
async fn keys_rotate_while_the_host_serves_and_the_old_key_can_then_be_removed() {
    let mut host = spawn_host().await;
    let (slug, bot) = ("toko-kunci", 5101);
    let shop = Shop::open(&host, slug, bot, json!({})).await;
    shop.import(sample_catalog(
        &["nfx-1:pw", "nfx-2:pw", "nfx-3:pw"],
        25_000,
    ))
    .await;
    let nfx = shop.product_id("NFX").await;
    let goods = buy_one(&shop, 61_001, nfx, 25_000).await;
    assert!(goods.contains("<code>nfx-1:pw</code>"), "{goods}");
    let (order, _, _) = shop.last_order(61_001).await.unwrap();
    // A customer's SNK submission, sealed like the bot seals one.
    let mut tx = shop.tx().await;
    let sealer = host.app.as_ref().unwrap().host.sealer().clone();
    let submission = snk::submit(
        &mut tx,
        &sealer,
        shop.tenant,
        61_001,
        order,
        nfx,
        Some("profil: Budi"),
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (tenant, secret) = (shop.tenant, shop.secret.clone());
    drop(shop);

    // The operator puts the new key first and the old one in TOKOBOT_MASTER_KEY_PREVIOUS, then
    // rotates while the host keeps selling.
    let old = MasterKey::from_base64(&master_key_base64()).unwrap();
    let new = MasterKey::new([43u8; 32]);
    host.config.master_keys = vec![new.clone(), old];
    host.restart().await;
    let shop = reopen(&host, slug, bot, &secret, tenant);
    let (_server, db) = app::connect(&host.config).await.unwrap();
    let rotating = app::sealer(&host.config, &db).await.unwrap();
    let (rotation, goods) = tokio::join!(
        keys::rotate(&db, &rotating, 1),
        buy_one(&shop, 61_002, nfx, 25_000)
    );
    let rotation = rotation.unwrap();
    assert!(goods.contains("<code>nfx-2:pw</code>"), "{goods}");
    let resealed: Vec<(&str, u64)> = rotation
        .tallies
        .iter()
        .map(|t| (t.what, t.resealed))
        .collect();
    assert_eq!(
        resealed,
        [
            ("host secrets", 1),
            ("store secrets", 4),
            ("stock items", 4),
            ("SNK submissions", 1)
        ],
        "{rotation}"
    );
    assert_eq!(rotation.remaining(), 0, "{rotation}");
    // A second run finds nothing left to do.
    let again = keys::rotate(&db, &rotating, 100).await.unwrap();
    assert!(
        again
            .tallies
            .iter()
            .all(|t| t.resealed == 0 && t.remaining == 0),
        "{again}"
    );
    db.close().await;
    drop(shop);

    // The old key is gone: the host still opens everything.
    host.config.master_keys = vec![new];
    host.restart().await;
    let shop = reopen(&host, slug, bot, &secret, tenant);
    let sealer = host.app.as_ref().unwrap().host.sealer().clone();
    let secrets = repo::secrets(host.db().registry(), &sealer, tenant)
        .await
        .unwrap();
    assert_eq!(secrets.bot_token.expose(), &crate::support::bot_token(bot));
    let mut tx = shop.tx().await;
    let delivered = stock::contents_of_order(&mut tx, &sealer, tenant, order)
        .await
        .unwrap();
    assert_eq!(delivered, [(nfx, "nfx-1:pw".to_owned())]);
    let opened = snk::get(&mut tx, &sealer, tenant, submission)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.text.unwrap().expose(), "profil: Budi");
    drop(tx);
    let (status, catalog) = host
        .operator(
            Method::GET,
            &format!("/api/v1/tenants/{slug}/catalog"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{catalog}");
    assert_eq!(catalog["products"][0]["stock"], json!(["nfx-3:pw"]));
    // The bot still sells (its token and webhook secret open) the last item.
    let goods = buy_one(&shop, 61_003, nfx, 25_000).await;
    assert!(goods.contains("<code>nfx-3:pw</code>"), "{goods}");

    // Lines sold before and after the rotation are still refused as duplicates.
    for sold in ["nfx-1:pw", "nfx-2:pw"] {
        let path = format!("/api/v1/tenants/{slug}/catalog");
        let (status, body) = host
            .operator(
                Method::PUT,
                &path,
                Some(sample_catalog(&[sold, "nfx-4:pw"], 25_000)),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{sold} was sold: {body}"
        );
        assert_eq!(
            body["error"]["fields"][0],
            json!({"field": "products[0].stock[0]", "message": "this item is already in the store's stock (in another product, reserved or sold)"}),
            "{body}"
        );
    }
}

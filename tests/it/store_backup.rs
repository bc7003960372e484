//! Store backups (`tokobot backup --tenant`, `tokobot restore --tenant`): one store's catalog,
//! customers, balances, orders, goods and payments restore as a new store, on the same host or
//! another one, with every sealed value opening under the new store; an existing store is only
//! replaced when asked, and then wholly; a damaged file is refused and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokobot::{
    crypto::Sealer,
    db::{DatabaseServer, TenantId},
    ops::backup::{self, Output, Source},
    store::stock,
    tenants::{model::TenantStatus, repo},
};

use crate::{
    keys::buy_one,
    support::{
        TestHost, bot_token,
        shop::{Shop, sample_catalog},
        spawn_host,
    },
};

fn sealer(host: &TestHost) -> Sealer {
    host.app.as_ref().unwrap().host.sealer().clone()
}

/// A store with history: two sales (one of a product that has since left the catalog), a
/// customer with a balance and nothing bought.
async fn store_with_history<'a>(host: &'a TestHost, slug: &str, bot: u32) -> Shop<'a> {
    let shop = Shop::open(host, slug, bot, json!({})).await;
    shop.import(sample_catalog(
        &["nfx-1:pw", "nfx-2:pw", "nfx-3:pw"],
        25_000,
    ))
    .await;
    let nfx = shop.product_id("NFX").await;
    let spt = shop.product_id("SPT").await;
    assert!(
        buy_one(&shop, 62_101, nfx, 25_000)
            .await
            .contains("nfx-1:pw")
    );
    assert!(
        buy_one(&shop, 62_102, spt, 15_000)
            .await
            .contains("spotify-a@mail.com:pw1")
    );
    shop.credit(62_103, 40_000).await;
    // Spotify leaves the catalog; its order keeps it, archived.
    let mut catalog = sample_catalog(&["nfx-2:pw", "nfx-3:pw"], 25_000);
    catalog["products"].as_array_mut().unwrap().truncate(1);
    shop.import(catalog).await;
    shop
}

/// Everything a store holds, with ids replaced by the codes that identify rows across stores
/// and the goods of each order opened, so two stores holding the same data compare equal.
async fn contents(host: &TestHost, tenant: TenantId) -> Value {
    let mut tx = host.db().tenant(tenant).await.unwrap();
    let mut data: Value = sqlx::query_scalar(
        "select jsonb_build_object(
            'customers', (select jsonb_agg(to_jsonb(c) - 'tenant_id' order by telegram_user_id) from customers c),
            'balances', (select jsonb_agg(to_jsonb(b) - 'tenant_id' order by customer_id) from balances b),
            'ledger', (select jsonb_agg(to_jsonb(l) - 'tenant_id' - 'id' order by id) from balance_ledger l),
            'orders', (select jsonb_agg(to_jsonb(o) - 'tenant_id' - 'id' order by code) from orders o),
            'order_items', (select jsonb_agg(jsonb_build_array(o.code, p.code, i.product_name, i.unit_price, i.quantity)
                                             order by o.code, p.code)
                            from order_items i join orders o on o.id = i.order_id join products p on p.id = i.product_id),
            'products', (select jsonb_agg(jsonb_build_array(code, name, price, active, archived, sold_count, snk) order by code)
                         from products),
            'stock', (select jsonb_agg(jsonb_build_array(p.code, s.status, o.code, s.sold_at) order by p.code, s.status, o.code)
                      from stock_items s join products p on p.id = s.product_id left join orders o on o.id = s.order_id),
            'payments', (select jsonb_agg(to_jsonb(p) - 'tenant_id' - 'id' - 'order_id' order by gateway_order_id) from payments p),
            'templates', (select jsonb_agg(jsonb_build_array(name, body) order by name) from templates),
            'coupons', (select jsonb_agg(to_jsonb(c) - 'tenant_id' - 'id' order by code) from coupons c))",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let orders: Vec<(i64, String)> = sqlx::query_as("select id, code from orders order by code")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    let sealer = sealer(host);
    let mut goods = serde_json::Map::new();
    for (id, code) in orders {
        let items = stock::contents_of_order(&mut tx, &sealer, tenant, id)
            .await
            .unwrap();
        let items: Vec<&String> = items.iter().map(|(_, item)| item).collect();
        goods.insert(code, json!(items));
    }
    data["goods"] = Value::Object(goods);
    data
}

/// The id of the store that has `slug` now.
async fn tenant_of(host: &TestHost, slug: &str) -> Option<TenantId> {
    repo::by_slug(host.db().registry(), slug)
        .await
        .unwrap()
        .map(|t| t.id)
}

async fn take(
    host: &TestHost,
    slug: &str,
    with_secrets: bool,
    dir: &std::path::Path,
) -> std::path::PathBuf {
    let path = dir.join(format!("{slug}-{with_secrets}.tkbak"));
    backup::store::backup(
        host.db(),
        &sealer(host),
        slug,
        with_secrets,
        Output::File(path.clone()),
    )
    .await
    .unwrap();
    path
}

async fn restore(
    host: &TestHost,
    path: &std::path::Path,
    slug: &str,
    force: bool,
) -> anyhow::Result<backup::store::Restored> {
    let source = Source::open(path).unwrap();
    backup::store::restore(host.db(), &sealer(host), source, slug, force)
        .await
        .map(|(_, restored)| restored)
}

#[tokio::test]
async fn a_store_backup_restores_beside_its_original_and_replaces_a_store_only_when_forced() {
    let host = spawn_host().await;
    let shop = store_with_history(&host, "toko-asal", 5301).await;
    let original = contents(&host, shop.tenant).await;
    assert_eq!(
        original["orders"].as_array().unwrap().len(),
        2,
        "{original}"
    );
    assert_eq!(
        original["products"][1][4], true,
        "SPT is archived: {original}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = take(&host, "toko-asal", true, dir.path()).await;
    let file = std::fs::read(&path).unwrap();
    assert!(
        !file.windows(8).any(|w| w == b"nfx-2:pw"),
        "the file is encrypted"
    );
    assert!(
        !file.windows(9).any(|w| w == b"toko-asal"),
        "the file is encrypted"
    );

    let restored = restore(&host, &path, "toko-salinan", false).await.unwrap();
    assert_eq!(
        restored.status,
        TenantStatus::Suspended,
        "it does not fight the original for its bot"
    );
    assert_ne!(restored.tenant, shop.tenant);
    assert_eq!(contents(&host, restored.tenant).await, original);
    let secrets = repo::secrets(host.db().registry(), &sealer(&host), restored.tenant)
        .await
        .unwrap();
    assert_eq!(secrets.bot_token.expose(), &bot_token(5301));
    // Goods restored under the new store still guard against a second copy.
    let mut tx = host.db().tenant(restored.tenant).await.unwrap();
    let nfx: i64 = sqlx::query_scalar("select id from products where code = 'NFX'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let added = stock::add(
        &mut tx,
        &sealer(&host),
        restored.tenant,
        nfx,
        &["nfx-1:pw".to_owned()],
    )
    .await
    .unwrap();
    assert_eq!(
        added.added, 0,
        "an item sold before the backup is still known"
    );
    drop(tx);

    // The slug is taken now: without --force nothing changes.
    shop.credit(62_103, 5_000).await;
    let changed = contents(&host, shop.tenant).await;
    let error = restore(&host, &path, "toko-asal", false).await.unwrap_err();
    assert!(format!("{error:#}").contains("--force"), "{error:#}");
    assert_eq!(tenant_of(&host, "toko-asal").await.unwrap(), shop.tenant);
    assert_eq!(contents(&host, shop.tenant).await, changed);

    // With --force the store becomes the backup again, wholly, and stays active.
    let replaced = restore(&host, &path, "toko-asal", true).await.unwrap();
    assert!(replaced.replaced);
    assert_eq!(replaced.status, TenantStatus::Active);
    assert_eq!(tenant_of(&host, "toko-asal").await, Some(replaced.tenant));
    assert_eq!(contents(&host, replaced.tenant).await, original);
    let (status, _) = host
        .operator(Method::GET, "/api/v1/tenants/toko-asal/catalog", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut tx = host.db().tenant(shop.tenant).await.unwrap();
    let left: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(left, 0, "the replaced store's rows are gone");
}

#[tokio::test]
async fn a_store_backup_moves_to_another_host_and_serves_there() {
    let source = spawn_host().await;
    let shop = store_with_history(&source, "toko-pindah", 5302).await;
    let original = contents(&source, shop.tenant).await;
    let dir = tempfile::tempdir().unwrap();
    let bare = take(&source, "toko-pindah", false, dir.path()).await;
    let full = take(&source, "toko-pindah", true, dir.path()).await;

    let target = spawn_host().await;
    // Without its secrets a store can only replace one that has them.
    let error = restore(&target, &bare, "toko-pindah", false)
        .await
        .unwrap_err();
    assert!(format!("{error:#}").contains("--with-secrets"), "{error:#}");
    assert!(
        tenant_of(&target, "toko-pindah").await.is_none(),
        "nothing was created"
    );
    // A store backup is not a whole-host dump, and the other way round.
    let server = DatabaseServer::open(&target.config).await.unwrap();
    let error = backup::restore(&target.config, &server, Source::open(&full).unwrap(), true)
        .await
        .unwrap_err();
    assert!(format!("{error:#}").contains("--tenant"), "{error:#}");

    let restored = restore(&target, &full, "toko-pindah", false).await.unwrap();
    assert_eq!(contents(&target, restored.tenant).await, original);

    // Resumed on the new host, the store sells from its restored stock.
    target.telegram.add_bot(&bot_token(5302), "toko_pindah_bot");
    let (status, body) = target
        .operator(Method::POST, "/api/v1/tenants/toko-pindah/resume", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let moved = Shop {
        host: &target,
        slug: "toko-pindah".to_owned(),
        bot: 5302,
        secret: target.webhook_secret(5302),
        tenant: restored.tenant,
    };
    let nfx = moved.product_id("NFX").await;
    let goods = buy_one(&moved, 62_201, nfx, 25_000).await;
    assert!(goods.contains("<code>nfx-2:pw</code>"), "{goods}");
    assert_eq!(moved.balance(62_103).await, 40_000);
}

#[tokio::test]
async fn a_damaged_store_backup_is_refused_even_with_force_and_changes_nothing() {
    let host = spawn_host().await;
    let shop = store_with_history(&host, "toko-utuh", 5303).await;
    let dir = tempfile::tempdir().unwrap();
    let path = take(&host, "toko-utuh", false, dir.path()).await;
    let bytes = std::fs::read(&path).unwrap();
    let before = contents(&host, shop.tenant).await;

    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x20;
    let cases = [
        (bytes[..bytes.len() - 40].to_vec(), "truncated"),
        (flipped, "corrupt"),
    ];
    for (file, reason) in cases {
        let damaged = dir.path().join(format!("{reason}.tkbak"));
        std::fs::write(&damaged, file).unwrap();
        let error = restore(&host, &damaged, "toko-utuh", true)
            .await
            .unwrap_err();
        assert!(format!("{error:#}").contains(reason), "{reason}: {error:#}");
        let error = restore(&host, &damaged, "toko-lain", false)
            .await
            .unwrap_err();
        assert!(format!("{error:#}").contains(reason), "{reason}: {error:#}");
    }
    assert_eq!(tenant_of(&host, "toko-utuh").await, Some(shop.tenant));
    assert_eq!(tenant_of(&host, "toko-lain").await, None);
    assert_eq!(contents(&host, shop.tenant).await, before);
}

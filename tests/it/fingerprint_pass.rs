//! The start's stock fingerprint pass (`ops::fingerprints`) visits only the stores queued in
//! `stock_fingerprint_queue`: a store whose stock was written with fingerprints bound to their
//! product (as hosts before store-wide fingerprints wrote them) is fixed at the next start and
//! taken off the queue, and a later start visits nothing. Items written while the pass finishes
//! a store are never left behind, and backups bring their stores back with store-wide
//! fingerprints.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgConnection;
use tokobot::{
    crypto::Sealer,
    db::{DatabaseServer, Db, TenantId},
    ops::{
        self,
        backup::{self, Output, Source},
        fingerprints::Pass,
    },
    secret::Secret,
    tenants::repo,
};

use crate::support::{
    TestHost, fresh_database,
    shop::{Shop, sample_catalog},
    spawn_host, store_path,
};

fn sealer(host: &TestHost) -> Sealer {
    host.app.as_ref().unwrap().host.sealer().clone()
}

/// What the last start's pass did.
fn last_pass(host: &TestHost) -> Pass {
    host.app.as_ref().unwrap().fingerprints
}

/// The stores queued for the pass.
async fn queued(db: &Db) -> Vec<TenantId> {
    sqlx::query_scalar("select tenant_id from stock_fingerprint_queue order by tenant_id")
        .fetch_all(db.registry())
        .await
        .unwrap()
}

/// Puts item `id` back as an older host left it: its fingerprint bound to its product.
async fn make_legacy(conn: &mut PgConnection, sealer: &Sealer, tenant: TenantId, id: i64) {
    let (product, sealed): (i64, Vec<u8>) =
        sqlx::query_as("select product_id, content from stock_items where id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    let bound = format!("stock_items/{tenant}/{product}");
    let plain = sealer.open(&sealed, &bound).unwrap();
    sqlx::query(
        "update stock_items set content_hash = $2, fingerprint_store_wide = false where id = $1",
    )
    .bind(id)
    .bind(&sealer.fingerprint(plain.expose(), &bound)[..])
    .execute(&mut *conn)
    .await
    .unwrap();
}

/// The ids of a store's items, oldest first.
async fn item_ids(db: &Db, tenant: TenantId) -> Vec<i64> {
    let mut tx = db.tenant(tenant).await.unwrap();
    sqlx::query_scalar("select id from stock_items order by id")
        .fetch_all(&mut *tx)
        .await
        .unwrap()
}

/// Whether each of a store's items holds the store-wide fingerprint of its plaintext (and says
/// so), oldest first.
async fn store_wide(db: &Db, sealer: &Sealer, tenant: TenantId) -> Vec<bool> {
    let mut tx = db.tenant(tenant).await.unwrap();
    let rows: Vec<(i64, Vec<u8>, Vec<u8>, bool)> = sqlx::query_as(
        "select product_id, content, content_hash, fingerprint_store_wide from stock_items order by id",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(product, sealed, hash, flagged)| {
            let plain = sealer
                .open(&sealed, &format!("stock_items/{tenant}/{product}"))
                .unwrap();
            let expected = sealer.fingerprint(plain.expose(), &format!("stock_items/{tenant}"));
            flagged && hash == expected
        })
        .collect()
}

/// Waits until `n` sessions of this test's database wait for a lock, so a test knows where a
/// blocked statement stands without guessing with a sleep. (Other tests share the cluster, not
/// the database.)
async fn wait_for_blocked(db: &Db, n: i64) {
    for _ in 0..500 {
        let waiting: i64 = sqlx::query_scalar(
            "select count(distinct l.pid) from pg_locks l join pg_stat_activity a on a.pid = l.pid \
             where not l.granted \
               and a.datid = (select oid from pg_database where datname = current_database())",
        )
        .fetch_one(db.registry())
        .await
        .unwrap();
        if waiting >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{n} lock request(s) never waited");
}

#[tokio::test]
async fn a_start_fixes_only_the_queued_store_takes_it_off_the_queue_and_the_next_start_visits_none()
{
    let mut host = spawn_host().await;
    assert_eq!(last_pass(&host), Pass::default(), "a new host has no store");
    let (old, new) = {
        let old = Shop::open(&host, "toko-fp-lama", 5301, json!({})).await;
        old.import(sample_catalog(&["lama-1", "lama-2"], 10_000))
            .await;
        let new = Shop::open(&host, "toko-fp-baru", 5302, json!({})).await;
        new.import(sample_catalog(&["baru-1"], 10_000)).await;
        (old.tenant, new.tenant)
    };
    // Stock written by this host never queues its store.
    assert_eq!(queued(host.db()).await, []);

    let sealer = sealer(&host);
    let ids = item_ids(host.db(), old).await;
    {
        let mut tx = host.db().tenant(old).await.unwrap();
        for id in &ids {
            make_legacy(&mut tx, &sealer, old, *id).await;
        }
        tx.commit().await.unwrap();
    }
    assert_eq!(queued(host.db()).await, [old]);
    assert!(
        store_wide(host.db(), &sealer, old)
            .await
            .iter()
            .all(|ok| !ok)
    );

    host.restart().await;
    assert_eq!(
        last_pass(&host),
        Pass {
            stores: 1,
            items: ids.len() as u64
        },
        "only the queued store was visited"
    );
    assert!(
        store_wide(host.db(), &sealer, old)
            .await
            .iter()
            .all(|ok| *ok),
        "every item of the store was fixed"
    );
    assert!(
        store_wide(host.db(), &sealer, new)
            .await
            .iter()
            .all(|ok| *ok)
    );
    assert_eq!(queued(host.db()).await, [], "the store is off the queue");

    host.restart().await;
    assert_eq!(
        last_pass(&host),
        Pass::default(),
        "the next start visits no store"
    );

    // Stock added through the API keeps the store off the queue.
    let token = host.owner_token("toko-fp-lama").await;
    let (status, body) = host
        .api(
            Method::POST,
            &store_path("toko-fp-lama", "stock"),
            Some(&token),
            Some(json!({"product": "NFX", "items": ["lama-1", "lama-3"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["added"], 1,
        "the fixed fingerprint still refuses: {body}"
    );
    assert_eq!(queued(host.db()).await, []);
}

#[tokio::test]
async fn an_item_without_its_fingerprint_written_while_the_pass_finishes_its_store_is_not_left_behind()
 {
    let host = spawn_host().await;
    let tenant = {
        let shop = Shop::open(&host, "toko-fp-balapan", 5303, json!({})).await;
        shop.import(sample_catalog(&["a-1", "a-2", "a-3"], 10_000))
            .await;
        shop.tenant
    };
    let sealer = sealer(&host);
    let ids = item_ids(host.db(), tenant).await;
    let db = host.db().clone();
    let pass = || {
        let (db, sealer) = (db.clone(), sealer.clone());
        tokio::spawn(async move { ops::fingerprints::recompute(&db, &sealer).await.unwrap() })
    };
    {
        let mut tx = db.tenant(tenant).await.unwrap();
        make_legacy(&mut tx, &sealer, tenant, ids[0]).await;
        tx.commit().await.unwrap();
    }

    // A writer came first: the pass waits for it and then fixes its item too.
    let mut writer = db.tenant(tenant).await.unwrap();
    make_legacy(&mut writer, &sealer, tenant, ids[1]).await;
    let first = pass();
    wait_for_blocked(&db, 1).await;
    assert!(!first.is_finished(), "the pass waits for the writer");
    writer.commit().await.unwrap();
    assert_eq!(
        first.await.unwrap(),
        Pass {
            stores: 1,
            items: 2
        }
    );
    assert_eq!(queued(&db).await, []);
    assert_eq!(store_wide(&db, &sealer, tenant).await, [true; 4]);

    // The pass came first: the writer waits for it and then queues the store again. The pass
    // is held on an item another transaction has locked, after it locked the store's queue row.
    {
        let mut tx = db.tenant(tenant).await.unwrap();
        make_legacy(&mut tx, &sealer, tenant, ids[0]).await;
        tx.commit().await.unwrap();
    }
    let mut holder = db.tenant(tenant).await.unwrap();
    sqlx::query("select 1 from stock_items where id = $1 for update")
        .bind(ids[0])
        .execute(&mut *holder)
        .await
        .unwrap();
    let second = pass();
    wait_for_blocked(&db, 1).await;
    let late = tokio::spawn({
        let (db, sealer) = (db.clone(), sealer.clone());
        let id = ids[2];
        async move {
            let mut writer = db.tenant(tenant).await.unwrap();
            make_legacy(&mut writer, &sealer, tenant, id).await;
            writer.commit().await.unwrap();
        }
    });
    wait_for_blocked(&db, 2).await;
    holder.commit().await.unwrap();
    assert_eq!(
        second.await.unwrap(),
        Pass {
            stores: 1,
            items: 1
        }
    );
    late.await.unwrap();
    assert_eq!(
        queued(&db).await,
        [tenant],
        "the late writer queued the store again"
    );
    assert_eq!(
        store_wide(&db, &sealer, tenant).await,
        [true, true, false, true]
    );
    assert_eq!(
        pass().await.unwrap(),
        Pass {
            stores: 1,
            items: 1
        }
    );
    assert_eq!(store_wide(&db, &sealer, tenant).await, [true; 4]);
    assert_eq!(queued(&db).await, []);
}

#[tokio::test]
async fn a_restored_store_backup_gets_store_wide_fingerprints_and_needs_no_pass() {
    let mut host = spawn_host().await;
    {
        let shop = Shop::open(&host, "toko-fp-asal", 5304, json!({})).await;
        shop.import(sample_catalog(&["asal-1", "asal-2"], 10_000))
            .await;
        shop.buy_with_balance(62_301, "NFX", 1).await;
    }
    let sealer = sealer(&host);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toko-fp-asal.tkbak");
    backup::store::backup(
        host.db(),
        &sealer,
        "toko-fp-asal",
        false,
        Output::File(path.clone()),
    )
    .await
    .unwrap();
    // The document carries the goods as plaintext and no fingerprint: the restore computes
    // them under the new store's id, so the store needs no pass.
    let (_, restored) = backup::store::restore(
        host.db(),
        &sealer,
        Source::open(&path).unwrap(),
        "toko-fp-asal",
        true,
    )
    .await
    .unwrap();
    let tenant = restored.tenant;
    let fixed = store_wide(host.db(), &sealer, tenant).await;
    assert_eq!(fixed.len(), 3, "the sold item and the rest: {fixed:?}");
    assert!(fixed.iter().all(|ok| *ok), "{fixed:?}");
    assert_eq!(queued(host.db()).await, []);
    host.restart().await;
    assert_eq!(last_pass(&host), Pass::default());

    // The sold line is refused in the restored store.
    let path = store_path("toko-fp-asal", "catalog");
    let (status, body) = host
        .operator(
            Method::PUT,
            &path,
            Some(sample_catalog(&["asal-1"], 10_000)),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn a_whole_host_backup_keeps_its_stores_queued_and_the_restored_host_fixes_them() {
    let mut host = spawn_host().await;
    let tenant = {
        let shop = Shop::open(&host, "toko-fp-host", 5305, json!({})).await;
        shop.import(sample_catalog(&["host-1", "host-2"], 10_000))
            .await;
        shop.tenant
    };
    let sealer = sealer(&host);
    {
        let mut tx = host.db().tenant(tenant).await.unwrap();
        for id in item_ids(host.db(), tenant).await {
            make_legacy(&mut tx, &sealer, tenant, id).await;
        }
        tx.commit().await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("host.tkbak");
    let server = DatabaseServer::open(&host.config).await.unwrap();
    backup::backup(&host.config, &server.owner, Output::File(file.clone()))
        .await
        .unwrap();
    drop(server);

    let fresh = fresh_database().await;
    let mut target = host.config.clone();
    target.database_url = Some(Secret::new(fresh));
    let server = DatabaseServer::open(&target).await.unwrap();
    backup::restore(&target, &server, Source::open(&file).unwrap(), false)
        .await
        .unwrap();
    drop(server);
    host.stop().await;
    host.config = target;
    host.start().await;
    assert!(
        repo::by_slug(host.db().registry(), "toko-fp-host")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        last_pass(&host),
        Pass {
            stores: 1,
            items: 3
        }
    );
    assert!(
        store_wide(host.db(), &sealer, tenant)
            .await
            .iter()
            .all(|ok| *ok)
    );
    assert_eq!(queued(host.db()).await, []);
}

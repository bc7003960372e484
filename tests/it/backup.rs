//! Whole-host backups: a backup restores into a fresh database with every row and sealed value
//! and serves again; a damaged, truncated or foreign file, or one taken under a newer schema
//! than this tokobot knows (a store backup too), is refused and changes nothing.

use std::str::FromStr;

use serde_json::json;
use sqlx::{Connection, PgConnection, postgres::PgConnectOptions};
use tokobot::{
    config::Config,
    crypto::MasterKey,
    db::DatabaseServer,
    ops::backup::{self, Output, Schedule, Source},
    secret::Secret,
    store::stock,
    tenants::repo,
};

use crate::{
    keys::buy_one,
    support::{
        TestHost, fresh_database,
        shop::{Shop, sample_catalog},
        spawn_host,
    },
};

async fn owner(url: &str) -> PgConnection {
    PgConnection::connect_with(&PgConnectOptions::from_str(url).unwrap())
        .await
        .unwrap()
}

/// Rows per table of the public schema, read as the owner (which row-level security spares).
async fn row_counts(url: &str) -> Vec<(String, i64)> {
    let mut conn = owner(url).await;
    let tables: Vec<String> = sqlx::query_scalar(
        "select tablename::text from pg_tables where schemaname = 'public' order by tablename",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut counts = Vec::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(&format!("select count(*) from \"{table}\""))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        counts.push((table, count));
    }
    counts
}

/// Waits until the host's background sends (goods, the staff's notices) have settled, so the
/// rows counted after a backup are the rows the backup saw.
async fn quiet(url: &str) {
    let mut last = row_counts(url).await;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let now = row_counts(url).await;
        if now == last {
            return;
        }
        last = now;
    }
    panic!("the source database never settled: {last:?}");
}

/// The counts of the tables that hold the store's data. `outbox_queue` is left out: it is the
/// live host's work list, whose worker keeps rescheduling what it could not send yet, so a
/// running source moves it on after any snapshot; the messages themselves (`outbox`) count.
fn durable(counts: Vec<(String, i64)>) -> Vec<(String, i64)> {
    counts
        .into_iter()
        .filter(|(table, _)| table != "outbox_queue")
        .collect()
}

fn on_database(config: &Config, url: &str) -> Config {
    let mut config = config.clone();
    config.database_url = Some(Secret::new(url.to_owned()));
    config
}

/// A store with a catalog and one item sold from it.
async fn host_with_a_sale<'a>(host: &'a TestHost, slug: &str, bot: u32) -> (Shop<'a>, i64) {
    let shop = Shop::open(host, slug, bot, json!({})).await;
    shop.import(sample_catalog(&["nfx-1:pw", "nfx-2:pw"], 25_000))
        .await;
    let nfx = shop.product_id("NFX").await;
    let goods = buy_one(&shop, 62_001, nfx, 25_000).await;
    assert!(goods.contains("<code>nfx-1:pw</code>"), "{goods}");
    (shop, nfx)
}

/// A backup file to restore, written from `bytes` into `dir`.
fn backup_file(dir: &std::path::Path, bytes: &[u8]) -> Source {
    let path = dir.join(format!("restore-{}.tkbak", rand_name()));
    std::fs::write(&path, bytes).unwrap();
    Source::open(&path).unwrap()
}

fn rand_name() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

async fn take_backup(config: &Config, dir: &std::path::Path) -> Vec<u8> {
    let server = DatabaseServer::open(config).await.unwrap();
    let path = dir.join("host.tkbak");
    backup::backup(config, &server.owner, Output::File(path.clone()))
        .await
        .unwrap();
    std::fs::read(path).unwrap()
}

#[tokio::test]
async fn a_backup_restores_into_a_fresh_database_with_every_row_and_serves_again() {
    let mut host = spawn_host().await;
    let (slug, bot) = ("toko-cadangan", 5201);
    let (shop, nfx) = host_with_a_sale(&host, slug, bot).await;
    let (order, _, _) = shop.last_order(62_001).await.unwrap();
    let (tenant, secret) = (shop.tenant, shop.secret.clone());
    drop(shop);
    let source = host.config.database_url.clone().unwrap().expose().clone();
    let dir = tempfile::tempdir().unwrap();
    // Taken while the host runs (once its messages of the sale went out, so that the counts
    // compared below are the ones the backup saw).
    quiet(&source).await;
    let bytes = take_backup(&host.config, dir.path()).await;
    assert!(
        !bytes.windows(8).any(|w| w == b"nfx-2:pw"),
        "the file is encrypted"
    );

    let fresh = fresh_database().await;
    let target = on_database(&host.config, &fresh);
    let server = DatabaseServer::open(&target).await.unwrap();
    backup::restore(&target, &server, backup_file(dir.path(), &bytes), false)
        .await
        .unwrap();
    let counts = durable(row_counts(&source).await);
    assert!(
        counts.iter().any(|(t, n)| t == "stock_items" && *n == 3),
        "{counts:?}"
    );
    assert_eq!(durable(row_counts(&fresh).await), counts);

    // The restored database is a host of its own: secrets and goods open, the bot sells.
    host.stop().await;
    host.config.database_url = Some(Secret::new(fresh));
    host.start().await;
    let sealer = host.app.as_ref().unwrap().host.sealer().clone();
    let secrets = repo::secrets(host.db().registry(), &sealer, tenant)
        .await
        .unwrap();
    assert_eq!(secrets.bot_token.expose(), &crate::support::bot_token(bot));
    let shop = Shop {
        host: &host,
        slug: slug.to_owned(),
        bot,
        secret,
        tenant,
    };
    let mut tx = shop.tx().await;
    let goods = stock::contents_of_order(&mut tx, &sealer, tenant, order)
        .await
        .unwrap();
    assert_eq!(goods, [(nfx, "nfx-1:pw".to_owned())]);
    drop(tx);
    let goods = buy_one(&shop, 62_002, nfx, 25_000).await;
    assert!(goods.contains("<code>nfx-2:pw</code>"), "{goods}");
    // An already-sold line is still refused: the fingerprint key travelled with the backup.
    let path = format!("/api/v1/tenants/{slug}/catalog");
    let (status, _) = host
        .operator(
            reqwest::Method::PUT,
            &path,
            Some(sample_catalog(&["nfx-1:pw"], 25_000)),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn damaged_foreign_or_misdirected_backups_are_refused_and_change_nothing() {
    let host = spawn_host().await;
    let (shop, _) = host_with_a_sale(&host, "toko-rusak", 5202).await;
    drop(shop);
    let source = host.config.database_url.clone().unwrap().expose().clone();
    let dir = tempfile::tempdir().unwrap();
    quiet(&source).await;
    let bytes = take_backup(&host.config, dir.path()).await;

    let truncated = bytes[..bytes.len() - 40].to_vec();
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x20;
    let mut other_key = host.config.clone();
    other_key.master_keys = vec![MasterKey::new([7u8; 32])];
    let cases = [
        (&host.config, truncated, "truncated"),
        (&host.config, flipped, "corrupt"),
        (&other_key, bytes.clone(), "not configured"),
    ];
    for (config, file, reason) in cases {
        let fresh = fresh_database().await;
        let target = on_database(config, &fresh);
        let server = DatabaseServer::open(&target).await.unwrap();
        let error = backup::restore(&target, &server, backup_file(dir.path(), &file), false)
            .await
            .unwrap_err();
        assert!(format!("{error:#}").contains(reason), "{reason}: {error:#}");
        assert_eq!(
            row_counts(&fresh).await,
            [],
            "nothing was created for {reason}"
        );
    }

    // A database that holds stores is not overwritten unless told.
    let before = durable(row_counts(&source).await);
    let server = DatabaseServer::open(&host.config).await.unwrap();
    let error = backup::restore(
        &host.config,
        &server,
        backup_file(dir.path(), &bytes),
        false,
    )
    .await
    .unwrap_err();
    assert!(format!("{error:#}").contains("--force"), "{error:#}");
    assert_eq!(durable(row_counts(&source).await), before);

    // An unwritable destination fails loudly and leaves no file behind.
    let missing = dir.path().join("no-such-dir").join("x.tkbak");
    let failed = backup::backup(&host.config, &server.owner, Output::File(missing.clone())).await;
    assert!(failed.is_err() && !missing.exists());
}

#[tokio::test]
async fn backups_taken_under_a_newer_schema_are_refused_and_change_nothing() {
    let host = spawn_host().await;
    let (shop, _) = host_with_a_sale(&host, "toko-masa-depan", 5203).await;
    drop(shop);
    let source = host.config.database_url.clone().unwrap().expose().clone();
    // A migration this binary does not know, as a newer tokobot would have applied it.
    let future = tokobot::db::newest_schema() + 1;
    sqlx::query(
        "insert into _sqlx_migrations (version, description, success, checksum, execution_time) \
         values ($1, 'from a newer tokobot', true, '\\x00'::bytea, 0)",
    )
    .bind(future)
    .execute(&mut owner(&source).await)
    .await
    .unwrap();
    let refused = |error: anyhow::Error| {
        let error = format!("{error:#}");
        assert!(
            error.contains(&format!("newer database schema ({future})"))
                && error.contains("nothing was changed"),
            "{error}"
        );
    };
    let dir = tempfile::tempdir().unwrap();

    // The whole host, into an empty database: nothing is created.
    let bytes = take_backup(&host.config, dir.path()).await;
    let fresh = fresh_database().await;
    let target = on_database(&host.config, &fresh);
    let server = DatabaseServer::open(&target).await.unwrap();
    refused(
        backup::restore(&target, &server, backup_file(dir.path(), &bytes), false)
            .await
            .unwrap_err(),
    );
    assert_eq!(row_counts(&fresh).await, []);

    // One store, as a new store or replacing itself: nothing changes either.
    let sealer = host.app.as_ref().unwrap().host.sealer().clone();
    let path = dir.path().join("store.tkbak");
    backup::store::backup(
        host.db(),
        &sealer,
        "toko-masa-depan",
        true,
        Output::File(path.clone()),
    )
    .await
    .unwrap();
    quiet(&source).await;
    let before = durable(row_counts(&source).await);
    for (slug, force) in [("toko-lain", false), ("toko-masa-depan", true)] {
        let source_file = Source::open(&path).unwrap();
        refused(
            backup::store::restore(host.db(), &sealer, source_file, slug, force)
                .await
                .unwrap_err(),
        );
    }
    assert_eq!(durable(row_counts(&source).await), before);
    assert!(
        repo::by_slug(host.db().registry(), "toko-lain")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn scheduled_backups_are_verified_and_only_the_newest_are_kept() {
    let host = spawn_host().await;
    let dir = tempfile::tempdir().unwrap();
    let schedule = Schedule {
        dir: dir.path().to_path_buf(),
        every: Some(std::time::Duration::from_secs(3600)),
        keep: 2,
    };
    let server = DatabaseServer::open(&host.config).await.unwrap();
    let mut taken = Vec::new();
    for _ in 0..3 {
        taken.push(
            backup::take(&host.config, &server.owner, &schedule)
                .await
                .unwrap(),
        );
    }
    assert_eq!(backup::backups(dir.path()), taken[1..]);
    // Nothing but the backups themselves is left in the dir (no partial files).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

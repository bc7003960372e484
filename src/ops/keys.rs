//! The host's own keys and `tokobot keys rotate`.
//!
//! Rotation re-seals every sealed value under the first master key, store by store and table by
//! table, in batches. It locks nothing while it works: each batch is written with conditional
//! updates (a row is replaced only if it still holds the sealed bytes that were read), so a
//! concurrent writer is never overwritten with stale data and checkouts never find stock
//! locked away. It picks up only values sealed with another key, so an interrupted rotation
//! resumes where it stopped when run again, and every value stays readable throughout: until
//! it is re-sealed it opens with the older key, which stays configured until the report says 0.

use std::fmt;

use anyhow::Context;
use sqlx::PgPool;

use crate::{
    crypto::{FingerprintKey, MasterKey, Sealer},
    db::Db,
    store::{snk, stock},
    tenants::repo,
};

/// The name of the fingerprint key in `host_secrets`.
const FINGERPRINT_KEY: &str = "fingerprint_key";

fn host_context(name: &str) -> String {
    format!("host_secrets/{name}")
}

/// Loads the host's fingerprint key, storing it first when this is the first start.
///
/// A host that had stock before this key was stored derived its fingerprints from its first
/// master key; the stored key is seeded with that same derivation so those fingerprints keep
/// matching. Two processes starting at once agree: the insert does nothing if the row exists
/// and both then read the one stored value.
pub async fn load_fingerprint_key(
    pool: &PgPool,
    keys: &[MasterKey],
) -> anyhow::Result<FingerprintKey> {
    let first = keys.first().context("at least one master key is needed")?;
    let seed = FingerprintKey::derived_from(first);
    // Opening and sealing the stored key needs only the master keys; the fingerprint key this
    // sealer carries is never used for a fingerprint.
    let sealer = Sealer::new(keys.to_vec(), seed.clone())?;
    let context = host_context(FINGERPRINT_KEY);
    sqlx::query(
        "insert into host_secrets (name, sealed) values ($1, $2) on conflict (name) do nothing",
    )
    .bind(FINGERPRINT_KEY)
    .bind(sealer.seal(seed.expose(), &context))
    .execute(pool)
    .await
    .context("cannot store the fingerprint key")?;
    let sealed: Vec<u8> = sqlx::query_scalar("select sealed from host_secrets where name = $1")
        .bind(FINGERPRINT_KEY)
        .fetch_one(pool)
        .await
        .context("cannot read the fingerprint key")?;
    let plain = sealer
        .open(&sealed, &context)
        .context("the stored fingerprint key does not open: is the master key that sealed it configured (TOKOBOT_MASTER_KEY_PREVIOUS)?")?;
    let key: [u8; 32] = plain
        .expose()
        .as_slice()
        .try_into()
        .context("the stored fingerprint key is not 32 bytes")?;
    Ok(FingerprintKey::from_bytes(key))
}

/// What one kind of sealed value looks like after a rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    pub what: &'static str,
    /// Values re-sealed by this run.
    pub resealed: u64,
    /// Values still sealed with an older key (0 when the rotation is complete).
    pub remaining: i64,
}

/// The outcome of `tokobot keys rotate`.
#[derive(Clone, Debug)]
pub struct Rotation {
    pub key_id: String,
    pub tallies: Vec<Tally>,
}

impl Rotation {
    /// Values still sealed with an older key, over every kind.
    pub fn remaining(&self) -> i64 {
        self.tallies.iter().map(|t| t.remaining).sum()
    }
}

impl fmt::Display for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.tallies {
            writeln!(
                f,
                "{:<18} re-sealed {:>8}   still on an older key {:>8}",
                t.what, t.resealed, t.remaining
            )?;
        }
        match self.remaining() {
            0 => write!(
                f,
                "every value is sealed with key {}: the older keys can be removed from TOKOBOT_MASTER_KEY_PREVIOUS",
                self.key_id
            ),
            n => write!(
                f,
                "{n} value(s) still use an older key (written concurrently or by a host still sealing with it); run `tokobot keys rotate` again"
            ),
        }
    }
}

/// Re-seals every sealed value under `sealer`'s first key, `batch` values at a time.
pub async fn rotate(db: &Db, sealer: &Sealer, batch: i64) -> anyhow::Result<Rotation> {
    let batch = batch.max(1);
    let pool = db.registry();

    let host = reseal_host_secrets(pool, sealer).await?;
    let host_remaining: i64 = sqlx::query_scalar(
        "select count(*) from host_secrets where substring(sealed from 2 for 4) <> $1",
    )
    .bind(&sealer.current_key_id()[..])
    .fetch_one(pool)
    .await?;

    let mut secrets = 0;
    loop {
        let mut conn = pool.acquire().await?;
        let done = repo::reseal_secrets(&mut conn, sealer, batch).await?;
        secrets += done;
        if done == 0 {
            break;
        }
    }
    let secrets_remaining = repo::secrets_with_older_key(pool, sealer).await?;

    let (mut stock_total, mut stock_remaining) = (0, 0);
    let (mut snk_total, mut snk_remaining) = (0, 0);
    for tenant in repo::all_ids(pool).await? {
        loop {
            let mut tx = db.tenant(tenant).await?;
            let done = stock::reseal(&mut tx, sealer, tenant, batch)
                .await
                .with_context(|| format!("re-sealing the stock of store {tenant}"))?;
            tx.commit().await?;
            stock_total += done;
            if done == 0 {
                break;
            }
        }
        loop {
            let mut tx = db.tenant(tenant).await?;
            let done = snk::reseal(&mut tx, sealer, tenant, batch)
                .await
                .with_context(|| format!("re-sealing the SNK submissions of store {tenant}"))?;
            tx.commit().await?;
            snk_total += done;
            if done == 0 {
                break;
            }
        }
        let mut tx = db.tenant(tenant).await?;
        stock_remaining += stock::sealed_with_older_key(&mut tx, sealer).await?;
        snk_remaining += snk::sealed_with_older_key(&mut tx, sealer).await?;
    }

    Ok(Rotation {
        key_id: sealer.current_key_hex(),
        tallies: vec![
            Tally {
                what: "host secrets",
                resealed: host,
                remaining: host_remaining,
            },
            Tally {
                what: "store secrets",
                resealed: secrets,
                remaining: secrets_remaining,
            },
            Tally {
                what: "stock items",
                resealed: stock_total,
                remaining: stock_remaining,
            },
            Tally {
                what: "SNK submissions",
                resealed: snk_total,
                remaining: snk_remaining,
            },
        ],
    })
}

/// The host's own secrets are few: all of them in one pass, each written only if unchanged.
async fn reseal_host_secrets(pool: &PgPool, sealer: &Sealer) -> anyhow::Result<u64> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "select name, sealed from host_secrets where substring(sealed from 2 for 4) <> $1",
    )
    .bind(&sealer.current_key_id()[..])
    .fetch_all(pool)
    .await?;
    let mut resealed = 0;
    for (name, sealed) in rows {
        let context = host_context(&name);
        let plain = sealer.open(&sealed, &context)?;
        resealed +=
            sqlx::query("update host_secrets set sealed = $2 where name = $1 and sealed = $3")
                .bind(&name)
                .bind(sealer.seal(plain.expose(), &context))
                .bind(&sealed)
                .execute(pool)
                .await?
                .rows_affected();
    }
    Ok(resealed)
}

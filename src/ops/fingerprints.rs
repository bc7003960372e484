//! The data migration that makes stock fingerprints store-wide.
//!
//! Fingerprints used to be bound to their product; the migration
//! `store_wide_stock_fingerprints` makes them unique per store, and this recomputes the ones
//! already stored from the plaintext, which only the host can open. It runs after the SQL
//! migrations, at `tokobot migrate` and before `tokobot serve` takes any update, store by store
//! and in batches of one transaction each, a few stores at once. Only items not yet done are
//! picked, so it resumes after an interruption.
//!
//! Only the stores in `stock_fingerprint_queue` are visited (migration
//! `20261205010001_stock_fingerprint_queue`): a trigger on `stock_items` puts a store there
//! whenever an item without its store-wide fingerprint is written, and the pass takes it off in
//! the transaction that finishes it. Once every store is done a start is one query that finds
//! nothing, however many stores the host has.

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use sqlx::PgConnection;

use crate::{
    crypto::Sealer,
    db::{Db, TenantId},
    store::stock,
};

/// Items per transaction: small enough to hold few locks for a short time.
const BATCH: i64 = 1_000;

/// Stores worked on at once, when many are queued (the first start after the upgrade queues
/// every store): a few at once use both cores and the pool.
const STORES_AT_ONCE: usize = 8;

/// What a pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Stores visited: those queued when the pass began.
    pub stores: usize,
    /// Items whose fingerprints were recomputed.
    pub items: u64,
}

/// Recomputes every fingerprint still bound to its product, in the queued stores only.
pub async fn recompute(db: &Db, sealer: &Sealer) -> anyhow::Result<Pass> {
    let queued: Vec<TenantId> =
        sqlx::query_scalar("select tenant_id from stock_fingerprint_queue order by tenant_id")
            .fetch_all(db.registry())
            .await
            .context("reading the stores queued for the fingerprint pass")?;
    let stores = queued.len();
    let done: Vec<u64> = futures::stream::iter(queued)
        .map(|tenant| recompute_store(db, sealer, tenant))
        .buffer_unordered(STORES_AT_ONCE)
        .try_collect()
        .await?;
    let items = done.iter().sum();
    if items > 0 {
        tracing::info!(items, stores, "stock fingerprints are store-wide now");
    }
    Ok(Pass { stores, items })
}

/// One store's part of [`recompute`], batch by batch, until a batch finds fewer items than it
/// may take: that transaction also takes the store off the queue.
async fn recompute_store(db: &Db, sealer: &Sealer, tenant: TenantId) -> anyhow::Result<u64> {
    let mut total = 0;
    loop {
        let mut tx = db.tenant(tenant).await?;
        // The queue row is locked before the items are read. A writer of an item without its
        // fingerprint that came first holds that lock (the trigger's upsert) until it commits,
        // so the items read below include its item; one that comes later waits for this
        // transaction and then queues the store again. Either way no such item is left
        // behind a store that is off the queue.
        if !lock_queued(&mut tx, tenant).await? {
            // Another host starting at the same time finished the store.
            return Ok(total);
        }
        let done = stock::recompute_fingerprints(&mut tx, sealer, tenant, BATCH)
            .await
            .with_context(|| format!("recomputing the stock fingerprints of store {tenant}"))?;
        let finished = done < BATCH as u64;
        if finished {
            sqlx::query("delete from stock_fingerprint_queue where tenant_id = $1")
                .bind(tenant)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        total += done;
        if finished {
            return Ok(total);
        }
    }
}

/// Locks the store's queue row; `false` when the store is no longer queued.
async fn lock_queued(conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<bool> {
    let row: Option<i32> =
        sqlx::query_scalar("select 1 from stock_fingerprint_queue where tenant_id = $1 for update")
            .bind(tenant)
            .fetch_optional(conn)
            .await?;
    Ok(row.is_some())
}

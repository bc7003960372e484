//! The data migration that makes stock fingerprints store-wide.
//!
//! Fingerprints used to be bound to their product; the migration
//! `store_wide_stock_fingerprints` makes them unique per store, and this recomputes the ones
//! already stored from the plaintext, which only the host can open. It runs after the SQL
//! migrations, at `tokobot migrate` and before `tokobot serve` takes any update, store by store
//! and in batches of one transaction each, a few stores at once. Only items not yet done are picked, so it resumes
//! after an interruption and costs one index probe per store once everything is done.

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};

use crate::{
    crypto::Sealer,
    db::{Db, TenantId},
    store::stock,
    tenants::repo,
};

/// Items per transaction: small enough to hold few locks for a short time.
const BATCH: i64 = 1_000;

/// Stores looked at at once. Once everything is done the pass is one index probe per store,
/// but a transaction each: at 10,000 stores, one after the other, that was 4.5 s of every
/// start (measured by `scripts/bench idle`); a few at once use both cores and the pool.
const STORES_AT_ONCE: usize = 8;

/// Recomputes every fingerprint still bound to its product; returns how many it recomputed.
pub async fn recompute(db: &Db, sealer: &Sealer) -> anyhow::Result<u64> {
    let tenants = repo::all_ids(db.registry()).await?;
    let done: Vec<u64> = futures::stream::iter(tenants)
        .map(|tenant| recompute_store(db, sealer, tenant))
        .buffer_unordered(STORES_AT_ONCE)
        .try_collect()
        .await?;
    let total = done.iter().sum();
    if total > 0 {
        tracing::info!(items = total, "stock fingerprints are store-wide now");
    }
    Ok(total)
}

/// One store's part of [`recompute`], batch by batch.
async fn recompute_store(db: &Db, sealer: &Sealer, tenant: TenantId) -> anyhow::Result<u64> {
    let mut total = 0;
    loop {
        let mut tx = db.tenant(tenant).await?;
        let done = stock::recompute_fingerprints(&mut tx, sealer, tenant, BATCH)
            .await
            .with_context(|| format!("recomputing the stock fingerprints of store {tenant}"))?;
        tx.commit().await?;
        total += done;
        if done == 0 {
            return Ok(total);
        }
    }
}

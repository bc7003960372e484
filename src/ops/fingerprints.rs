//! The data migration that makes stock fingerprints store-wide.
//!
//! Fingerprints used to be bound to their product; the migration
//! `store_wide_stock_fingerprints` makes them unique per store, and this recomputes the ones
//! already stored from the plaintext, which only the host can open. It runs after the SQL
//! migrations, at `tokobot migrate` and before `tokobot serve` takes any update, store by store
//! and in batches of one transaction each. Only items not yet done are picked, so it resumes
//! after an interruption and costs one index probe per store once everything is done.

use anyhow::Context;

use crate::{crypto::Sealer, db::Db, store::stock, tenants::repo};

/// Items per transaction: small enough to hold few locks for a short time.
const BATCH: i64 = 1_000;

/// Recomputes every fingerprint still bound to its product; returns how many it recomputed.
pub async fn recompute(db: &Db, sealer: &Sealer) -> anyhow::Result<u64> {
    let mut total = 0;
    for tenant in repo::all_ids(db.registry()).await? {
        loop {
            let mut tx = db.tenant(tenant).await?;
            let done = stock::recompute_fingerprints(&mut tx, sealer, tenant, BATCH)
                .await
                .with_context(|| format!("recomputing the stock fingerprints of store {tenant}"))?;
            tx.commit().await?;
            total += done;
            if done == 0 {
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(items = total, "stock fingerprints are store-wide now");
    }
    Ok(total)
}

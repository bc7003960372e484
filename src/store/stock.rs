//! Stock items: the goods themselves, sealed at rest, and their life from available through
//! reserved (held by an unpaid order) to sold.
//!
//! Reservation takes rows with `FOR UPDATE SKIP LOCKED`, so concurrent checkouts each get
//! different items without waiting on each other, and none can take more than exists.

use std::collections::{HashMap, HashSet};

use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::{crypto::Sealer, db::TenantId};

/// What sealing a product's items is bound to: an item opens only as goods of its product.
pub(crate) fn context(tenant: TenantId, product_id: i64) -> String {
    format!("stock_items/{tenant}/{product_id}")
}

/// What the duplicate fingerprints of a store's items are bound to. It names the store and not
/// the product, so the same line is the same fingerprint in every product of the store and
/// is refused against everything the store ever had (SPEC §2.1).
pub(crate) fn fingerprint_context(tenant: TenantId) -> String {
    format!("stock_items/{tenant}")
}

/// The conflict target of an insert: the store-wide unique fingerprint. Items marked as a copy
/// of an older one (left from before fingerprints were store-wide) are outside that index.
const ON_FINGERPRINT: &str = "on conflict (tenant_id, content_hash) where duplicate_of is null";

/// The result of adding items: how many were new, and the lines refused as duplicates.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Added {
    pub added: usize,
    pub duplicates: Vec<String>,
}

/// Splits pasted text or a .txt file into items: one per line, trimmed, blank lines skipped.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Adds items to a product; an item the store already has or had (in any product and state) or
/// repeated in `items` is refused and reported, in `items`' order, never stored twice. The items
/// are stored in batches ([`append`]), so a catalog of 100,000 lines is a few dozen statements.
pub async fn add(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    product_id: i64,
    items: &[String],
) -> sqlx::Result<Added> {
    let mut seen = HashSet::with_capacity(items.len());
    let first: Vec<&str> = items
        .iter()
        .map(String::as_str)
        .filter(|item| seen.insert(*item))
        .collect();
    let fresh = append(conn, sealer, tenant, product_id, &first).await?;
    let stored: HashSet<&str> = first
        .iter()
        .zip(fresh)
        .filter_map(|(item, fresh)| fresh.then_some(*item))
        .collect();
    let mut outcome = Added::default();
    let mut counted = HashSet::with_capacity(stored.len());
    for item in items {
        if stored.contains(item.as_str()) && counted.insert(item.as_str()) {
            outcome.added += 1;
        } else {
            outcome.duplicates.push(item.clone());
        }
    }
    Ok(outcome)
}

/// Available items per product.
pub async fn available_counts(conn: &mut PgConnection) -> sqlx::Result<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "select product_id, count(*) from stock_items where status = 'available' group by product_id",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Reserves up to `quantity` available items of a product for an order; returns how many it
/// got. Items locked by a concurrent checkout are skipped, not waited for.
pub async fn reserve(
    conn: &mut PgConnection,
    product_id: i64,
    order_id: i64,
    quantity: i64,
    until: OffsetDateTime,
) -> sqlx::Result<i64> {
    // Materialized, to run once and never reserve more than `quantity`: see
    // `store::broadcast::claims::claim`.
    let reserved = sqlx::query(
        "with picked as materialized ( \
             select id from stock_items where product_id = $1 and status = 'available' \
             order by id limit $2 for update skip locked) \
         update stock_items s set status = 'reserved', order_id = $3, reserved_until = $4 \
         from picked where s.id = picked.id",
    )
    .bind(product_id)
    .bind(quantity)
    .bind(order_id)
    .bind(until)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(reserved as i64)
}

/// Returns an order's reserved items to the shelf.
pub async fn release(conn: &mut PgConnection, order_id: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "update stock_items set status = 'available', order_id = null, reserved_until = null \
         where order_id = $1 and status = 'reserved'",
    )
    .bind(order_id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Marks an order's reserved items sold.
pub async fn sell(conn: &mut PgConnection, order_id: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "update stock_items set status = 'sold', sold_at = now(), reserved_until = null \
         where order_id = $1 and status = 'reserved'",
    )
    .bind(order_id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// The goods of an order, opened: (product id, content) in item order.
pub async fn contents_of_order(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    order_id: i64,
) -> anyhow::Result<Vec<(i64, String)>> {
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "select product_id, content from stock_items where order_id = $1 order by product_id, id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(product_id, sealed)| {
            let plain = sealer.open(&sealed, &context(tenant, product_id))?;
            Ok((
                product_id,
                String::from_utf8_lossy(plain.expose()).into_owned(),
            ))
        })
        .collect()
}

/// The available items of a product, opened (for the catalog export).
pub async fn available_contents(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    product_id: i64,
) -> anyhow::Result<Vec<String>> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar(
        "select content from stock_items where product_id = $1 and status = 'available' order by id",
    )
    .bind(product_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|sealed| {
            let plain = sealer.open(&sealed, &context(tenant, product_id))?;
            Ok(String::from_utf8_lossy(plain.expose()).into_owned())
        })
        .collect()
}

/// Replaces a product's available items (reserved and sold ones are history and stay).
pub async fn replace_available(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    product_id: i64,
    items: &[String],
) -> sqlx::Result<Added> {
    sqlx::query("delete from stock_items where product_id = $1 and status = 'available'")
        .bind(product_id)
        .execute(&mut *conn)
        .await?;
    add(conn, sealer, tenant, product_id, items).await
}

/// Items per state, for one product.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub available: i64,
    /// Held by orders awaiting payment.
    pub reserved: i64,
    pub sold: i64,
}

/// How many items of a product are available, reserved and sold.
pub async fn counts(conn: &mut PgConnection, product_id: i64) -> sqlx::Result<Counts> {
    let (available, reserved, sold): (i64, i64, i64) = sqlx::query_as(
        "select count(*) filter (where status = 'available'), \
                count(*) filter (where status = 'reserved'), \
                count(*) filter (where status = 'sold') \
         from stock_items where product_id = $1",
    )
    .bind(product_id)
    .fetch_one(conn)
    .await?;
    Ok(Counts {
        available,
        reserved,
        sold,
    })
}

/// Adds items in batches; returns, for each item, whether it was new. An item whose
/// fingerprint the store already has, in any product and state, is left out by the unique index,
/// so a concurrent upload of the same line cannot store it twice either. `items` must hold no
/// repeats (the caller refuses those first).
pub async fn append<S: AsRef<str>>(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    product_id: i64,
    items: &[S],
) -> sqlx::Result<Vec<bool>> {
    /// Rows per statement: big enough to be quick, small enough to keep each bind modest.
    const BATCH: usize = 2_000;
    let (ctx, fingerprint_ctx) = (context(tenant, product_id), fingerprint_context(tenant));
    let mut fresh = Vec::with_capacity(items.len());
    for chunk in items.chunks(BATCH) {
        let hashes: Vec<Vec<u8>> = chunk
            .iter()
            .map(|item| {
                sealer
                    .fingerprint(item.as_ref().as_bytes(), &fingerprint_ctx)
                    .to_vec()
            })
            .collect();
        let sealed: Vec<Vec<u8>> = chunk
            .iter()
            .map(|item| sealer.seal(item.as_ref().as_bytes(), &ctx))
            .collect();
        let inserted: Vec<Vec<u8>> = sqlx::query_scalar(&format!(
            "insert into stock_items (tenant_id, product_id, content, content_hash) \
             select $1, $2, u.content, u.hash from unnest($3::bytea[], $4::bytea[]) as u(content, hash) \
             {ON_FINGERPRINT} do nothing returning content_hash"
        ))
        .bind(tenant)
        .bind(product_id)
        .bind(&sealed)
        .bind(&hashes)
        .fetch_all(&mut *conn)
        .await?;
        let inserted: HashSet<Vec<u8>> = inserted.into_iter().collect();
        fresh.extend(hashes.iter().map(|h| inserted.contains(h)));
    }
    Ok(fresh)
}

/// Re-seals, under the sealing key, up to `limit` items still sealed with an older key (key
/// rotation); returns how many it re-sealed. The batch is written in one statement, each row
/// only if it still holds what was read, and no row is locked while values are re-sealed, so
/// checkouts (which skip locked items) never see a shelf emptied by the rotation. Contents
/// never change in place, so in practice every row is written; fingerprints do not depend on
/// the sealing key and stay as they are.
pub async fn reseal(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    limit: i64,
) -> anyhow::Result<u64> {
    let rows: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
        "select id, product_id, content from stock_items \
         where substring(content from 2 for 4) <> $1 order by id limit $2",
    )
    .bind(&sealer.current_key_id()[..])
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let (mut ids, mut old, mut new) = (Vec::new(), Vec::new(), Vec::new());
    for (id, product_id, sealed) in rows {
        let ctx = context(tenant, product_id);
        new.push(sealer.seal(sealer.open(&sealed, &ctx)?.expose(), &ctx));
        ids.push(id);
        old.push(sealed);
    }
    let written = sqlx::query(
        "update stock_items s set content = v.new \
         from unnest($1::bigint[], $2::bytea[], $3::bytea[]) as v(id, old, new) \
         where s.id = v.id and s.content = v.old",
    )
    .bind(&ids)
    .bind(&old)
    .bind(&new)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(written)
}

/// Recomputes, from the plaintext, the fingerprints of up to `limit` items still holding one
/// bound to their product (written before fingerprints were store-wide); returns how many it
/// did. Items are taken in id order, so of two copies of one line in different products the
/// older keeps the fingerprint and the later is marked `duplicate_of` it (see the migration
/// `store_wide_stock_fingerprints`). Only items not yet done are picked, so running it again
/// after an interruption resumes, and once all are done it does nothing.
pub async fn recompute_fingerprints(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    limit: i64,
) -> anyhow::Result<u64> {
    // Locked, so that two hosts starting at once do each batch once, one after the other.
    let rows: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
        "select id, product_id, content from stock_items where not fingerprint_store_wide \
         order by id limit $1 for update",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let fingerprint_ctx = fingerprint_context(tenant);
    let (mut ids, mut hashes) = (
        Vec::with_capacity(rows.len()),
        Vec::with_capacity(rows.len()),
    );
    for (id, product_id, sealed) in rows {
        let plain = sealer.open(&sealed, &context(tenant, product_id))?;
        ids.push(id);
        hashes.push(
            sealer
                .fingerprint(plain.expose(), &fingerprint_ctx)
                .to_vec(),
        );
    }
    // Who holds these fingerprints already: items done in an earlier batch or written since.
    let holders: Vec<(Vec<u8>, i64)> = sqlx::query_as(
        "select content_hash, id from stock_items \
         where fingerprint_store_wide and duplicate_of is null and content_hash = any($1)",
    )
    .bind(&hashes)
    .fetch_all(&mut *conn)
    .await?;
    let mut holders: HashMap<Vec<u8>, i64> = holders.into_iter().collect();
    let duplicate_of: Vec<Option<i64>> = ids
        .iter()
        .zip(&hashes)
        .map(|(id, hash)| match holders.get(hash) {
            Some(holder) => Some(*holder),
            None => {
                holders.insert(hash.clone(), *id);
                None
            }
        })
        .collect();
    let done = sqlx::query(
        "update stock_items s set content_hash = v.hash, duplicate_of = v.duplicate_of, \
                fingerprint_store_wide = true \
         from unnest($1::bigint[], $2::bytea[], $3::bigint[]) as v(id, hash, duplicate_of) \
         where s.id = v.id",
    )
    .bind(&ids)
    .bind(&hashes)
    .bind(&duplicate_of)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(done)
}

/// How many of the store's items are still sealed with an older key.
pub async fn sealed_with_older_key(conn: &mut PgConnection, sealer: &Sealer) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from stock_items where substring(content from 2 for 4) <> $1",
    )
    .bind(&sealer.current_key_id()[..])
    .fetch_one(conn)
    .await
}

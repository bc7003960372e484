//! Writing a [`StoreDocument`] into a new store, all in one transaction.
//!
//! The store gets a new id, and every row a new id of its own: ids are global, so the old ones
//! may still be taken on this host (a store restored beside its original). References between
//! rows (an order's lines, its goods, its payment) are rewritten through maps from old ids to
//! new, and goods and secrets are sealed again under the new store's id, which they are bound
//! to. Anything wrong anywhere fails the whole restore and the transaction rolls back.

use std::collections::HashMap;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::document::{StoreDocument, StoreSecrets};
use crate::{
    crypto::Sealer,
    db::{Db, TenantId},
    secret::Secret,
    store::{
        audit::{self, Actor, Entry},
        catalog_doc::{self, ImportError},
        stock,
    },
    tenants::{
        model::{FieldErrors, Profile, Tenant, TenantSecrets, TenantStatus, validate_slug},
        repo, service,
    },
};

/// Old id to new id, per table.
type IdMap = HashMap<i64, i64>;

/// What a restore did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    pub tenant: TenantId,
    pub slug: String,
    pub status: TenantStatus,
    /// Whether an existing store of that slug was replaced.
    pub replaced: bool,
    pub customers: usize,
    pub orders: usize,
}

/// Restores `doc` as the store `slug`. An existing store of that slug is refused unless
/// `force`, which replaces it (its data goes, in the same transaction).
pub async fn restore(
    db: &Db,
    sealer: &Sealer,
    doc: &StoreDocument,
    slug: &str,
    force: bool,
) -> anyhow::Result<Restored> {
    let mut errors = FieldErrors::default();
    validate_slug(slug, &mut errors);
    let profile: Profile = doc.profile.clone().into();
    profile.validate(&mut errors);
    if !errors.is_empty() {
        bail!("the store cannot be restored: {}", describe(&errors));
    }
    let existing = repo::by_slug(db.registry(), slug).await?;
    if existing.is_some() && !force {
        bail!(
            "the store `{slug}` exists on this host; pass --force to replace it with the backup \
             (its current data is removed), or restore under another slug"
        );
    }
    let (secrets, bot) = secrets_for(db, sealer, doc, existing.as_ref()).await?;
    // A store restored beside a running original would fight it for the same bot, so it starts
    // suspended; one that replaces a store keeps that store's status.
    let status = match existing.as_ref().map(|t| t.status) {
        Some(TenantStatus::Active) => TenantStatus::Active,
        _ => TenantStatus::Suspended,
    };
    let id = TenantId(Uuid::new_v4());
    let mut tx = db.tenant(id).await?;
    if let Some(old) = &existing {
        repo::purge(&mut *tx, old.id).await?;
    }
    let bot = bot.as_ref().map(|(id, name)| (*id, name.as_str()));
    repo::insert_as(&mut tx, sealer, id, status, slug, &profile, bot, &secrets).await?;
    write_store(&mut tx, sealer, id, doc).await?;
    audit::record(
        &mut tx,
        id,
        Entry {
            actor: &Actor::Host,
            action: "store.restore",
            subject: slug,
            before: json!({"replaced": existing.as_ref().map(|t| t.id.0)}),
            after: json!({
                "from": doc.slug,
                "taken_at": doc.taken_at.to_string(),
                "customers": doc.history.customers.len(),
                "orders": doc.history.orders.len(),
            }),
        },
    )
    .await?;
    repo::notify_changed(&mut *tx, slug).await?;
    tx.commit().await?;
    Ok(Restored {
        tenant: id,
        slug: slug.to_owned(),
        status,
        replaced: existing.is_some(),
        customers: doc.history.customers.len(),
        orders: doc.history.orders.len(),
    })
}

/// The restored store's secrets: the backup's, or else those of the store it replaces.
async fn secrets_for(
    db: &Db,
    sealer: &Sealer,
    doc: &StoreDocument,
    existing: Option<&Tenant>,
) -> anyhow::Result<(TenantSecrets, Option<(i64, String)>)> {
    let webhook_secret = service::new_webhook_secret();
    match (&doc.secrets, existing) {
        (
            Some(StoreSecrets {
                bot_token,
                pakasir_project,
                pakasir_api_key,
            }),
            _,
        ) => Ok((
            TenantSecrets {
                bot_token: Secret::new(bot_token.clone()),
                pakasir_project: Secret::new(pakasir_project.clone()),
                pakasir_api_key: Secret::new(pakasir_api_key.clone()),
                webhook_secret,
            },
            doc.bot.clone(),
        )),
        (None, Some(old)) => {
            let kept = repo::secrets(db.registry(), sealer, old.id).await?;
            Ok((
                TenantSecrets {
                    webhook_secret,
                    ..kept
                },
                old.bot_id.zip(old.bot_username.clone()),
            ))
        }
        (None, None) => bail!(
            "this store backup carries no secrets (bot token, Pakasir keys), so it can only \
             replace an existing store (--force); take the backup with --with-secrets, or \
             create the store first with `tokobot tenants apply`"
        ),
    }
}

/// The catalog, then the history, into the new store `tenant`.
async fn write_store(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    doc: &StoreDocument,
) -> anyhow::Result<()> {
    catalog_doc::import(conn, sealer, tenant, &Actor::Host, &doc.catalog)
        .await
        .map_err(|error| match error {
            ImportError::Invalid(errors) => {
                anyhow::anyhow!("the backup's catalog is invalid: {}", describe(&errors))
            }
            other => anyhow::Error::new(other),
        })?;
    for product in &doc.archived_products {
        sqlx::query(
            "insert into products (tenant_id, code, name, description, price, active, archived, sort, snk) \
             values ($1, $2, $3, $4, $5, $6, true, $7, $8)",
        )
        .bind(tenant)
        .bind(&product.code)
        .bind(&product.name)
        .bind(&product.description)
        .bind(product.price)
        .bind(product.active)
        .bind(product.sort)
        .bind(&product.snk)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("restoring the archived product {}", product.code))?;
    }
    for (code, sold) in &doc.sold_counts {
        sqlx::query("update products set sold_count = $2 where code = $1")
            .bind(code)
            .bind(sold)
            .execute(&mut *conn)
            .await?;
    }
    for (code, uses) in &doc.coupon_uses {
        sqlx::query("update coupons set used_count = $2 where code = $1")
            .bind(code)
            .bind(uses)
            .execute(&mut *conn)
            .await?;
    }
    let products = product_map(conn, doc).await?;
    let history = &doc.history;
    insert_rows(conn, "customers", tenant, &history.customers, false, &[]).await?;
    insert_rows(conn, "balances", tenant, &history.balances, false, &[]).await?;
    insert_rows(
        conn,
        "balance_ledger",
        tenant,
        &history.balance_ledger,
        true,
        &[],
    )
    .await?;
    let orders = insert_rows(conn, "orders", tenant, &history.orders, true, &[]).await?;
    let refs = [("order_id", &orders), ("product_id", &products)];
    insert_rows(
        conn,
        "order_items",
        tenant,
        &history.order_items,
        false,
        &refs,
    )
    .await?;
    let refs = [("order_id", &orders)];
    insert_rows(conn, "payments", tenant, &history.payments, true, &refs).await?;
    // Pending invoices go back on the reconciliation queue, to be checked at once.
    sqlx::query(
        "insert into payment_queue (payment_id, tenant_id, due_at) \
         select id, tenant_id, now() from payments where status = 'pending'",
    )
    .execute(&mut *conn)
    .await?;
    for item in &history.held_stock {
        let product = lookup(&products, item.product_id, "product")?;
        let order = lookup(&orders, item.order_id, "order")?;
        let context = stock::context(tenant, product);
        // Fingerprints are store-wide. Two goods of orders with the same content can only come
        // from before they were (a line in two products); the later one is kept as a copy of
        // the first, as the migration to store-wide fingerprints keeps them, so no order loses
        // its goods.
        sqlx::query(
            "insert into stock_items (tenant_id, product_id, content, content_hash, status, order_id, \
             reserved_until, created_at, sold_at, duplicate_of) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             (select id from stock_items where tenant_id = $1 and content_hash = $4 \
              and duplicate_of is null))",
        )
        .bind(tenant)
        .bind(product)
        .bind(sealer.seal(item.content.as_bytes(), &context))
        .bind(&sealer.fingerprint(item.content.as_bytes(), &stock::fingerprint_context(tenant))[..])
        .bind(&item.status)
        .bind(order)
        .bind(item.reserved_until)
        .bind(item.created_at)
        .bind(item.sold_at)
        .execute(&mut *conn)
        .await
        .context("restoring the goods of an order")?;
    }
    Ok(())
}

/// Old product ids to the new store's, through the product codes.
async fn product_map(conn: &mut PgConnection, doc: &StoreDocument) -> anyhow::Result<IdMap> {
    let by_code: HashMap<String, i64> = sqlx::query_as("select code, id from products")
        .fetch_all(conn)
        .await?
        .into_iter()
        .collect();
    doc.product_codes
        .iter()
        .filter_map(|(old, code)| by_code.get(code).map(|new| Ok((*old, *new))))
        .collect()
}

fn lookup(map: &IdMap, old: i64, what: &str) -> anyhow::Result<i64> {
    map.get(&old)
        .copied()
        .with_context(|| format!("the backup names a {what} ({old}) it does not hold"))
}

/// Inserts `rows` into `table` as rows of `tenant`: each gets the new store's id, a fresh `id`
/// of its own when `fresh_id`, and its references in `refs` rewritten from old ids to new.
/// Returns the map from each row's old id to its new one (empty without `fresh_id`).
///
/// The rows are handed to PostgreSQL as one JSON array and spread over the table's columns by
/// `jsonb_populate_recordset`, so each table's columns are known to the database alone.
async fn insert_rows(
    conn: &mut PgConnection,
    table: &'static str,
    tenant: TenantId,
    rows: &[Value],
    fresh_id: bool,
    refs: &[(&str, &IdMap)],
) -> anyhow::Result<IdMap> {
    let mut ids = IdMap::new();
    if rows.is_empty() {
        return Ok(ids);
    }
    let fresh: Vec<i64> = if fresh_id {
        sqlx::query_scalar(
            "select nextval(pg_get_serial_sequence($1, 'id')) from generate_series(1, $2)",
        )
        .bind(table)
        .bind(rows.len() as i64)
        .fetch_all(&mut *conn)
        .await?
    } else {
        Vec::new()
    };
    let mut out = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let Value::Object(row) = row else {
            bail!("a row of {table} in the backup is not an object");
        };
        let mut row = row.clone();
        row.insert("tenant_id".into(), json!(tenant.0));
        if fresh_id {
            let old = row
                .get("id")
                .and_then(Value::as_i64)
                .with_context(|| format!("a row of {table} in the backup has no id"))?;
            ids.insert(old, fresh[index]);
            row.insert("id".into(), json!(fresh[index]));
        }
        for (column, map) in refs {
            match row.get(*column) {
                None | Some(Value::Null) => {}
                Some(value) => {
                    let old = value
                        .as_i64()
                        .with_context(|| format!("{table}.{column} in the backup is not an id"))?;
                    row.insert((*column).into(), json!(lookup(map, old, column)?));
                }
            }
        }
        out.push(Value::Object(row));
    }
    let overriding = if fresh_id {
        "overriding system value"
    } else {
        ""
    };
    let sql = format!(
        "insert into {table} {overriding} select * from jsonb_populate_recordset(null::{table}, $1)"
    );
    sqlx::query(&sql)
        .bind(Value::Array(out))
        .execute(conn)
        .await
        .with_context(|| format!("restoring {table}"))?;
    Ok(ids)
}

fn describe(errors: &FieldErrors) -> String {
    errors
        .0
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

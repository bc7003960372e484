//! Reading one store into a [`StoreDocument`], in one repeatable-read transaction of the
//! store, so the catalog, the history and the goods are one consistent picture while the host
//! keeps serving.

use std::collections::BTreeMap;

use anyhow::Context;
use serde_json::Value;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::document::{FORMAT, HeldItem, History, StoreDocument, StoreSecrets, VERSION};
use crate::{
    crypto::Sealer,
    db::{self, Db, TenantId},
    store::{
        catalog_doc::{self, ProductEntry},
        stock,
    },
    tenants::{
        model::{Profile, Tenant},
        repo,
    },
};

/// The tables of the history, in the order a restore writes them. Each is read whole as JSON
/// objects without `tenant_id`; the names are fixed here, never taken from input.
const HISTORY: [&str; 6] = [
    "customers",
    "balances",
    "balance_ledger",
    "orders",
    "order_items",
    "payments",
];

/// Reads the store `tenant` whole; its secrets only when `with_secrets`.
pub async fn export(
    db: &Db,
    sealer: &Sealer,
    tenant: &Tenant,
    with_secrets: bool,
) -> anyhow::Result<StoreDocument> {
    // One snapshot for every read below: an order paid half-way through the backup is either
    // wholly in it or not at all.
    let mut tx = db
        .tenant_snapshot(tenant.id)
        .await
        .context("cannot start a consistent read of the store")?;
    let conn: &mut PgConnection = &mut tx;
    let schema = db::schema_of(conn)
        .await
        .context("reading the database schema")?;
    let catalog = catalog_doc::export(conn, sealer, tenant.id).await?;
    let archived_products = archived_products(conn).await?;
    let sold_counts: BTreeMap<String, i64> =
        sqlx::query_as("select code, sold_count from products where sold_count > 0")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    let coupon_uses: BTreeMap<String, i32> =
        sqlx::query_as("select code, used_count from coupons where used_count > 0")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    let product_codes: BTreeMap<i64, String> = sqlx::query_as("select id, code from products")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    let mut tables = Vec::with_capacity(HISTORY.len());
    for table in HISTORY {
        tables.push(rows(conn, table).await?);
    }
    let [
        customers,
        balances,
        balance_ledger,
        orders,
        order_items,
        payments,
    ] = <[Vec<Value>; 6]>::try_from(tables).expect("one list per history table");
    let held_stock = held_stock(conn, sealer, tenant.id).await?;
    let secrets = if with_secrets {
        let secrets = repo::secrets(&mut *conn, sealer, tenant.id).await?;
        Some(StoreSecrets {
            bot_token: secrets.bot_token.expose().clone(),
            pakasir_project: secrets.pakasir_project.expose().clone(),
            pakasir_api_key: secrets.pakasir_api_key.expose().clone(),
        })
    } else {
        None
    };
    tx.commit().await?;
    Ok(StoreDocument {
        format: FORMAT.to_owned(),
        version: VERSION,
        schema,
        slug: tenant.slug.clone(),
        taken_at: OffsetDateTime::now_utc(),
        status: tenant.status,
        profile: Profile::of(tenant).into(),
        bot: tenant.bot_id.zip(tenant.bot_username.clone()),
        secrets,
        catalog,
        archived_products,
        sold_counts,
        coupon_uses,
        product_codes,
        history: History {
            customers,
            balances,
            balance_ledger,
            orders,
            order_items,
            payments,
            held_stock,
        },
    })
}

/// Every row of `table` as JSON, in a stable order (the primary key's columns come first in
/// every history table, so ordering by the whole row orders by them).
async fn rows(conn: &mut PgConnection, table: &'static str) -> anyhow::Result<Vec<Value>> {
    let sql = format!("select to_jsonb(t) - 'tenant_id' from {table} t order by t");
    sqlx::query_scalar(&sql)
        .fetch_all(conn)
        .await
        .with_context(|| format!("reading {table}"))
}

/// The products that left the catalog but stay for the orders that name them.
async fn archived_products(conn: &mut PgConnection) -> anyhow::Result<Vec<ProductEntry>> {
    type Row = (String, String, String, i64, bool, i32, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "select code, name, description, price, active, sort, snk from products \
         where archived order by code",
    )
    .fetch_all(conn)
    .await
    .context("reading archived products")?;
    Ok(rows
        .into_iter()
        .map(
            |(code, name, description, price, active, sort, snk)| ProductEntry {
                code,
                name,
                description,
                price,
                category: None,
                active,
                sort,
                snk,
                stock: Vec::new(),
            },
        )
        .collect())
}

/// The items that belong to orders (reserved or sold), opened.
async fn held_stock(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
) -> anyhow::Result<Vec<HeldItem>> {
    type Row = (
        i64,
        i64,
        Vec<u8>,
        String,
        Option<OffsetDateTime>,
        OffsetDateTime,
        Option<OffsetDateTime>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "select product_id, order_id, content, status, reserved_until, created_at, sold_at \
         from stock_items where status <> 'available' order by id",
    )
    .fetch_all(conn)
    .await
    .context("reading the goods of orders")?;
    rows.into_iter()
        .map(
            |(product_id, order_id, sealed, status, reserved_until, created_at, sold_at)| {
                let plain = sealer
                    .open(&sealed, &stock::context(tenant, product_id))
                    .context("a stock item does not open with the configured keys")?;
                Ok(HeldItem {
                    product_id,
                    order_id,
                    content: String::from_utf8_lossy(plain.expose()).into_owned(),
                    status,
                    reserved_until,
                    created_at,
                    sold_at,
                })
            },
        )
        .collect()
}

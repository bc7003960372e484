//! Exporting a store's catalog as a document, in canonical order so that two exports of the
//! same catalog are byte for byte the same and an export can be diffed against an import.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use sqlx::PgConnection;

use super::{CatalogDocument, CategoryEntry, ProductEntry, VERSION};
use crate::{
    crypto::Sealer,
    db::TenantId,
    store::{
        coupons::{self, NewCoupon},
        stock,
    },
    tenants::repo,
};

type CategoryRow = (i64, String, Option<String>, i32, bool);
type ProductRow = (
    i64,
    Option<i64>,
    String,
    String,
    String,
    i64,
    bool,
    i32,
    Option<String>,
);

/// The store's configuration: every category, the products that are not archived with their
/// available stock opened, the templates, the coupons and the settings.
pub async fn export(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
) -> anyhow::Result<CatalogDocument> {
    let (categories, names) = categories(conn).await?;
    let products = products(conn, sealer, tenant, &names).await?;
    let templates: BTreeMap<String, String> =
        sqlx::query_as::<_, (String, String)>("select name, body from templates")
            .fetch_all(&mut *conn)
            .await
            .context("reading templates")?
            .into_iter()
            .collect();
    // Coupons are few; a page larger than any store's list reads them all, by code.
    let coupons = coupons::list(conn, None, i64::from(i32::MAX))
        .await
        .context("reading coupons")?
        .iter()
        .map(NewCoupon::from)
        .collect();
    // The settings live in the tenant registry, which the store's transaction can read.
    let settings = repo::by_id(&mut *conn, tenant)
        .await
        .context("reading the store's settings")?
        .map(|t| t.settings);
    Ok(CatalogDocument {
        version: VERSION,
        categories,
        products,
        templates,
        coupons,
        settings,
    })
}

/// The categories by (sort, name), and their names by id. Sorted here rather than in SQL so
/// the order is the same byte order whatever the database's collation.
async fn categories(
    conn: &mut PgConnection,
) -> anyhow::Result<(Vec<CategoryEntry>, HashMap<i64, String>)> {
    let rows: Vec<CategoryRow> =
        sqlx::query_as("select id, name, emoji, sort, active from categories")
            .fetch_all(conn)
            .await
            .context("reading categories")?;
    let names = rows.iter().map(|r| (r.0, r.1.clone())).collect();
    let mut categories: Vec<CategoryEntry> = rows
        .into_iter()
        .map(|(_, name, emoji, sort, active)| CategoryEntry {
            name,
            emoji,
            sort,
            active,
        })
        .collect();
    categories.sort_by(|a, b| (a.sort, &a.name).cmp(&(b.sort, &b.name)));
    Ok((categories, names))
}

/// The products that are not archived, by (sort, code), with their available stock.
async fn products(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    category_names: &HashMap<i64, String>,
) -> anyhow::Result<Vec<ProductEntry>> {
    let mut rows: Vec<ProductRow> = sqlx::query_as(
        "select id, category_id, code, name, description, price, active, sort, snk \
         from products where not archived",
    )
    .fetch_all(&mut *conn)
    .await
    .context("reading products")?;
    rows.sort_by(|a, b| (a.7, &a.2).cmp(&(b.7, &b.2)));
    let mut products = Vec::with_capacity(rows.len());
    for (id, category_id, code, name, description, price, active, sort, snk) in rows {
        let stock = stock::available_contents(conn, sealer, tenant, id)
            .await
            .with_context(|| format!("reading the stock of product {code}"))?;
        products.push(ProductEntry {
            category: category_id.and_then(|c| category_names.get(&c).cloned()),
            code,
            name,
            description,
            price,
            active,
            sort,
            snk,
            stock,
        });
    }
    Ok(products)
}

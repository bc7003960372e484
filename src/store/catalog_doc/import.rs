//! Importing a document: the store's catalog becomes what the document says.
//!
//! Everything happens in the caller's tenant transaction, and any error leaves the caller to
//! roll it back, so an import applies entirely or not at all. That includes a version 2
//! document's settings: they live in the tenant registry and are written, through
//! `tenants::service`, in the same transaction. Categories and products are matched by name
//! and code, so a product keeps its id, and with it its order history and the customers'
//! carts, across imports. One audit row (`catalog.import`) records what the store held before
//! and after.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use utoipa::ToSchema;

use super::{CatalogDocument, CategoryEntry, ProductEntry, validate};
use crate::{
    crypto::Sealer,
    db::TenantId,
    store::{
        audit::{self, Actor, Entry},
        coupons::{self, NewCoupon},
        stock,
    },
    tenants::{
        model::{FieldError, FieldErrors},
        service::{self, ProvisionError},
    },
};

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportSummary {
    /// Categories in the store now.
    pub categories: usize,
    /// Products in the catalog now (archived ones not counted).
    pub products: usize,
    /// Available stock items in the catalog now.
    pub stock_items: usize,
    /// Products left out of the document but kept, archived, because orders name them.
    pub archived: usize,
    /// Products left out of the document and deleted.
    pub deleted: usize,
    /// Coupons in the store now.
    pub coupons: usize,
}

/// What the store holds, for the import's audit row.
#[derive(Debug, Serialize, sqlx::FromRow)]
struct Holdings {
    categories: i64,
    products: i64,
    stock_items: i64,
    coupons: i64,
    templates: i64,
}

impl Holdings {
    async fn read(conn: &mut PgConnection) -> sqlx::Result<Self> {
        sqlx::query_as(
            "select (select count(*) from categories) as categories, \
                    (select count(*) from products where not archived) as products, \
                    (select count(*) from stock_items where status = 'available') as stock_items, \
                    (select count(*) from coupons) as coupons, \
                    (select count(*) from templates) as templates",
        )
        .fetch_one(conn)
        .await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The document breaks a rule, or a stock line repeats an item the store has or had.
    #[error("the catalog document is invalid")]
    Invalid(FieldErrors),
    #[error("the catalog could not be written")]
    Database(#[from] sqlx::Error),
    /// The store's settings could not be written to the tenant registry.
    #[error("the store's settings could not be written")]
    Settings(#[from] ProvisionError),
}

/// Replaces the store's catalog with `doc`. On `Err` the transaction holds a partial import
/// and must be rolled back (dropping it does).
pub async fn import(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    actor: &Actor,
    doc: &CatalogDocument,
) -> Result<ImportSummary, ImportError> {
    validate(doc).map_err(ImportError::Invalid)?;
    let before = Holdings::read(conn).await?;
    let mut summary = replace_catalog(conn, sealer, tenant, doc).await?;
    // A version 1 document knows nothing of coupons and settings: they stay as they are.
    let mut settings_before = None;
    if doc.version >= 2 {
        replace_coupons(conn, tenant, &doc.coupons).await?;
        if let Some(settings) = &doc.settings {
            settings_before = Some(service::replace_settings(conn, tenant, settings).await?);
        }
    }
    let after = Holdings::read(conn).await?;
    summary.coupons = after.coupons as usize;
    audit::record(
        conn,
        tenant,
        Entry {
            actor,
            action: "catalog.import",
            subject: "catalog",
            before: json!({"holdings": before, "settings": settings_before}),
            after: json!({
                "version": doc.version,
                "holdings": after,
                "settings": doc.settings,
                "archived": summary.archived,
                "deleted": summary.deleted,
            }),
        },
    )
    .await?;
    Ok(summary)
}

/// Categories, products with their available stock, and templates.
async fn replace_catalog(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    doc: &CatalogDocument,
) -> Result<ImportSummary, ImportError> {
    let category_ids = upsert_categories(conn, tenant, &doc.categories).await?;
    let mut errors = FieldErrors::default();
    let mut summary = ImportSummary {
        categories: doc.categories.len(),
        products: doc.products.len(),
        ..ImportSummary::default()
    };
    for (i, product) in doc.products.iter().enumerate() {
        let category = product.category().map(|name| category_ids[name]);
        let id = upsert_product(conn, tenant, product, category).await?;
        let added =
            stock::replace_available(conn, sealer, tenant, id, &product.stock_lines()).await?;
        summary.stock_items += added.added;
        errors
            .0
            .extend(stock_conflicts(i, product, &added.duplicates));
    }
    errors.into_result().map_err(ImportError::Invalid)?;
    (summary.archived, summary.deleted) = retire_other_products(conn, &doc.products).await?;
    delete_other_categories(conn, &doc.categories).await?;
    replace_templates(conn, tenant, doc).await?;
    Ok(summary)
}

/// Creates or updates the document's categories; returns their ids by name.
async fn upsert_categories<'d>(
    conn: &mut PgConnection,
    tenant: TenantId,
    categories: &'d [CategoryEntry],
) -> sqlx::Result<HashMap<&'d str, i64>> {
    let mut ids = HashMap::with_capacity(categories.len());
    for category in categories {
        let id: i64 = sqlx::query_scalar(
            "insert into categories (tenant_id, name, emoji, sort, active) values ($1, $2, $3, $4, $5) \
             on conflict (tenant_id, name) do update \
             set emoji = excluded.emoji, sort = excluded.sort, active = excluded.active \
             returning id",
        )
        .bind(tenant)
        .bind(&category.name)
        .bind(category.emoji())
        .bind(category.sort)
        .bind(category.active)
        .fetch_one(&mut *conn)
        .await?;
        ids.insert(category.name.as_str(), id);
    }
    Ok(ids)
}

/// Creates or updates a product by code; a product that was archived comes back, since the
/// document lists it again. Returns its id.
async fn upsert_product(
    conn: &mut PgConnection,
    tenant: TenantId,
    product: &ProductEntry,
    category: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into products (tenant_id, category_id, code, name, description, price, active, sort, snk) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         on conflict (tenant_id, code) do update \
         set category_id = excluded.category_id, name = excluded.name, \
             description = excluded.description, price = excluded.price, \
             active = excluded.active, archived = false, sort = excluded.sort, \
             snk = excluded.snk, updated_at = now() \
         returning id",
    )
    .bind(tenant)
    .bind(category)
    .bind(&product.code)
    .bind(&product.name)
    .bind(&product.description)
    .bind(product.price)
    .bind(product.active)
    .bind(product.sort)
    .bind(product.snk())
    .fetch_one(conn)
    .await
}

/// The lines `stock::add` refused. A product's list has no repeats (validation saw to that), so
/// each one repeats an item the store has or had in another product, or one already reserved
/// or sold: selling it again would deliver the same goods twice.
fn stock_conflicts(i: usize, product: &ProductEntry, duplicates: &[String]) -> Vec<FieldError> {
    let lines = product.stock_lines();
    duplicates
        .iter()
        .filter_map(|dup| lines.iter().position(|line| line == dup))
        .map(|j| FieldError {
            field: format!("products[{i}].stock[{j}]"),
            message:
                "this item is already in the store's stock (in another product, reserved or sold)"
                    .into(),
        })
        .collect()
}

/// Takes the products the document left out of the catalog: those that orders name are
/// archived (and their available stock removed), the others deleted. Returns (archived,
/// deleted).
async fn retire_other_products(
    conn: &mut PgConnection,
    products: &[ProductEntry],
) -> sqlx::Result<(usize, usize)> {
    let codes: Vec<&str> = products.iter().map(|p| p.code.as_str()).collect();
    // Locking the rows first makes a concurrent checkout that is adding an order line for one
    // of them (its foreign key check holds a key-share lock) finish before we look, so the
    // next two statements see its order line and archive rather than fail to delete.
    let leaving: Vec<i64> = sqlx::query_scalar(
        "select id from products where not archived and code <> all($1) for update",
    )
    .bind(&codes)
    .fetch_all(&mut *conn)
    .await?;
    if leaving.is_empty() {
        return Ok((0, 0));
    }
    let archived: Vec<i64> = sqlx::query_scalar(
        "update products p set archived = true, active = false, updated_at = now() \
         where id = any($1) and exists (select 1 from order_items o where o.product_id = p.id) \
         returning id",
    )
    .bind(&leaving)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("delete from stock_items where product_id = any($1) and status = 'available'")
        .bind(&archived)
        .execute(&mut *conn)
        .await?;
    let deleted = sqlx::query(
        "delete from products p where id = any($1) \
         and not exists (select 1 from order_items o where o.product_id = p.id)",
    )
    .bind(&leaving)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok((archived.len(), deleted as usize))
}

/// Deletes the categories the document left out; their products (all retired or moved by now)
/// lose the reference through the foreign key's `on delete set null`.
async fn delete_other_categories(
    conn: &mut PgConnection,
    categories: &[CategoryEntry],
) -> sqlx::Result<()> {
    let names: Vec<&str> = categories.iter().map(|c| c.name.as_str()).collect();
    sqlx::query("delete from categories where name <> all($1)")
        .bind(&names)
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes the coupons the document's. A coupon left out that orders used is deactivated rather
/// than deleted, so those orders still name a coupon the store knows.
async fn replace_coupons(
    conn: &mut PgConnection,
    tenant: TenantId,
    entries: &[NewCoupon],
) -> Result<(), ImportError> {
    let mut codes = Vec::with_capacity(entries.len());
    for entry in entries {
        // Validation has already passed every entry; a refusal here would be a bug, and it
        // still rolls the whole import back rather than storing half of it.
        let coupon = entry.to_coupon().map_err(|e| {
            let mut errors = FieldErrors::default();
            errors.push("coupons", e.to_string());
            ImportError::Invalid(errors)
        })?;
        coupons::insert(conn, tenant, &coupon, true).await?;
        codes.push(coupon.code);
    }
    sqlx::query(
        "update coupons c set active = false where code <> all($1) \
         and (used_count > 0 or exists (select 1 from orders o where o.coupon_code = c.code))",
    )
    .bind(&codes)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "delete from coupons c where code <> all($1) and used_count = 0 \
         and not exists (select 1 from orders o where o.coupon_code = c.code)",
    )
    .bind(&codes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Makes the templates exactly the document's; an unchanged template keeps its `updated_at`.
async fn replace_templates(
    conn: &mut PgConnection,
    tenant: TenantId,
    doc: &CatalogDocument,
) -> sqlx::Result<()> {
    let names: Vec<&str> = doc.templates.keys().map(String::as_str).collect();
    sqlx::query("delete from templates where name <> all($1)")
        .bind(&names)
        .execute(&mut *conn)
        .await?;
    for (name, body) in &doc.templates {
        sqlx::query(
            "insert into templates (tenant_id, name, body) values ($1, $2, $3) \
             on conflict (tenant_id, name) do update set body = excluded.body, updated_at = now() \
             where templates.body <> excluded.body",
        )
        .bind(tenant)
        .bind(name)
        .bind(body)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

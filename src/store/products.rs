//! Products as a store's admins manage them: create, edit, delete, each with
//! its audit row in the transaction of the change.
//!
//! The bot's wizards and the API's handlers both call these functions, so both refuse the same
//! input with the same rule. Customers browse a cached snapshot (`store::catalog`): the adapter
//! that committed one of these changes tells the host (`Host::catalog_changed`) so customers see
//! it at once.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;

use super::{
    audit::{self, Actor, Entry},
    catalog_doc::MAX_PRICE,
    error::{OpError, OpResult},
    fields::{some, yes},
};
use crate::db::TenantId;

/// The longest product name (the schema's check).
pub const MAX_NAME: usize = 100;
/// The longest description.
pub const MAX_DESCRIPTION: usize = 2000;
/// The longest SNK text.
pub const MAX_SNK: usize = 4000;

/// A product as admins see it, inactive ones included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Product {
    pub id: i64,
    /// The owner's code, unique in the store.
    pub code: String,
    pub name: String,
    pub description: String,
    /// Integer rupiah.
    pub price: i64,
    pub category_id: Option<i64>,
    /// An inactive product is hidden from customers but kept.
    pub active: bool,
    /// Products are listed by sort, then name.
    pub sort: i32,
    /// Syarat dan ketentuan sent to the buyer after delivery.
    pub snk: Option<String>,
}

/// A new product.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    /// 1 to 32 characters of A-Z, a-z, 0-9, `_` and `-`.
    pub code: String,
    /// 1 to 100 characters.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Integer rupiah, 1 to 1,000,000,000.
    pub price: i64,
    #[serde(default)]
    pub category_id: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub sort: i32,
    /// Empty or absent: no SNK.
    #[serde(default)]
    pub snk: Option<String>,
}

/// A change to a product: present fields change, absent ones stay.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<i64>,
    /// `null` takes the product out of its category.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<i64>)]
    pub category_id: Option<Option<i64>>,
    pub active: Option<bool>,
    pub sort: Option<i32>,
    /// An empty text or `null` removes the SNK.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub snk: Option<Option<String>>,
}

/// What deleting a product did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Removal {
    /// The product and its stock are gone.
    Deleted,
    /// Orders awaiting payment name it: it is hidden from customers instead, and kept.
    DeactivatedOpenOrders,
    /// Orders name it (its sold history): it is hidden from customers instead, and kept.
    DeactivatedSoldHistory,
}

/// A required text: not blank, at most `max` characters, no NUL (PostgreSQL cannot store it).
pub fn check_text(field: &'static str, value: &str, max: usize) -> OpResult<()> {
    if value.trim().is_empty() {
        return Err(OpError::invalid(field, "must not be empty"));
    }
    check_optional_text(field, value, max)
}

/// An optional text: at most `max` characters, no NUL.
pub fn check_optional_text(field: &'static str, value: &str, max: usize) -> OpResult<()> {
    if value.contains('\0') {
        return Err(OpError::invalid(field, "must not contain NUL characters"));
    }
    if value.chars().count() > max {
        return Err(OpError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

pub fn check_price(price: i64) -> OpResult<()> {
    if (1..=MAX_PRICE).contains(&price) {
        Ok(())
    } else {
        Err(OpError::invalid(
            "price",
            format!("must be a whole number of rupiah between 1 and {MAX_PRICE}"),
        ))
    }
}

/// `^[A-Za-z0-9_-]{1,32}$`, the schema's check on product codes.
pub fn check_code(code: &str) -> OpResult<()> {
    let ok = (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(OpError::invalid(
            "code",
            "must be 1 to 32 characters of A-Z, a-z, 0-9, _ and -",
        ))
    }
}

/// An SNK as stored: absent when empty.
fn snk_value(snk: Option<&str>) -> OpResult<Option<String>> {
    match snk.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => {
            check_optional_text("snk", text, MAX_SNK)?;
            Ok(Some(text.to_owned()))
        }
    }
}

impl NewProduct {
    /// Every rule but the category's existence, which needs the database.
    pub fn validate(&self) -> OpResult<()> {
        check_code(&self.code)?;
        check_text("name", &self.name, MAX_NAME)?;
        check_optional_text("description", &self.description, MAX_DESCRIPTION)?;
        check_price(self.price)?;
        snk_value(self.snk.as_deref())?;
        Ok(())
    }
}

impl ProductPatch {
    pub fn validate(&self) -> OpResult<()> {
        if let Some(name) = &self.name {
            check_text("name", name, MAX_NAME)?;
        }
        if let Some(description) = &self.description {
            check_optional_text("description", description, MAX_DESCRIPTION)?;
        }
        if let Some(price) = self.price {
            check_price(price)?;
        }
        if let Some(snk) = &self.snk {
            snk_value(snk.as_deref())?;
        }
        Ok(())
    }

    fn apply(self, product: &mut Product) -> OpResult<()> {
        if let Some(name) = self.name {
            product.name = name.trim().to_owned();
        }
        if let Some(description) = self.description {
            product.description = description.trim().to_owned();
        }
        if let Some(price) = self.price {
            product.price = price;
        }
        if let Some(category) = self.category_id {
            product.category_id = category;
        }
        if let Some(active) = self.active {
            product.active = active;
        }
        if let Some(sort) = self.sort {
            product.sort = sort;
        }
        if let Some(snk) = self.snk {
            product.snk = snk_value(snk.as_deref())?;
        }
        Ok(())
    }
}

const PRODUCT_COLUMNS: &str = "id, code, name, description, price, category_id, active, sort, snk";

/// The category exists in this store (row-level security hides every other store's).
async fn require_category(conn: &mut PgConnection, id: Option<i64>) -> OpResult<()> {
    let Some(id) = id else { return Ok(()) };
    let exists: bool = sqlx::query_scalar("select exists (select 1 from categories where id = $1)")
        .bind(id)
        .fetch_one(conn)
        .await?;
    if exists {
        Ok(())
    } else {
        Err(OpError::invalid(
            "category_id",
            "is not a category of this store",
        ))
    }
}

/// A product by code, archived ones excluded (they left the catalog for good).
pub async fn product(conn: &mut PgConnection, code: &str) -> OpResult<Product> {
    sqlx::query_as(&format!(
        "select {PRODUCT_COLUMNS} from products where code = $1 and not archived"
    ))
    .bind(code)
    .fetch_optional(conn)
    .await?
    .ok_or(OpError::not_found("product"))
}

/// The product row locked for a change, so two admins editing it at once take turns and each
/// audit row's `before` is what that admin actually changed.
async fn lock_product(conn: &mut PgConnection, code: &str) -> OpResult<Product> {
    sqlx::query_as(&format!(
        "select {PRODUCT_COLUMNS} from products where code = $1 and not archived for update"
    ))
    .bind(code)
    .fetch_optional(conn)
    .await?
    .ok_or(OpError::not_found("product"))
}

/// A page of products in id order, after `after_id`, optionally of one category.
pub async fn list_products(
    conn: &mut PgConnection,
    category: Option<i64>,
    after_id: Option<i64>,
    limit: i64,
) -> OpResult<Vec<Product>> {
    Ok(sqlx::query_as(&format!(
        "select {PRODUCT_COLUMNS} from products \
         where not archived and ($1::bigint is null or category_id = $1) \
           and ($2::bigint is null or id > $2) \
         order by id limit $3"
    ))
    .bind(category)
    .bind(after_id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

pub async fn create_product(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    new: NewProduct,
) -> OpResult<Product> {
    new.validate()?;
    require_category(conn, new.category_id).await?;
    let snk = snk_value(new.snk.as_deref())?;
    let created: Option<Product> = sqlx::query_as(&format!(
        "insert into products (tenant_id, code, name, description, price, category_id, active, sort, snk) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         on conflict (tenant_id, code) do nothing returning {PRODUCT_COLUMNS}"
    ))
    .bind(tenant)
    .bind(&new.code)
    .bind(new.name.trim())
    .bind(new.description.trim())
    .bind(new.price)
    .bind(new.category_id)
    .bind(new.active)
    .bind(new.sort)
    .bind(snk)
    .fetch_optional(&mut *conn)
    .await?;
    let created = created.ok_or_else(|| {
        OpError::conflict(
            "product_code_taken",
            format!("a product with code {} already exists", new.code),
        )
    })?;
    let entry = Entry::change(actor, "product.create", &created.code, None, Some(&created));
    audit::record(conn, tenant, entry).await?;
    Ok(created)
}

/// Changes the fields a patch names; last write wins, each with its own audit row.
pub async fn update_product(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    code: &str,
    patch: ProductPatch,
) -> OpResult<Product> {
    patch.validate()?;
    if let Some(category) = patch.category_id {
        require_category(conn, category).await?;
    }
    let before = lock_product(conn, code).await?;
    let mut after = before.clone();
    patch.apply(&mut after)?;
    sqlx::query(
        "update products set name = $2, description = $3, price = $4, category_id = $5, \
         active = $6, sort = $7, snk = $8, updated_at = now() where id = $1",
    )
    .bind(after.id)
    .bind(&after.name)
    .bind(&after.description)
    .bind(after.price)
    .bind(after.category_id)
    .bind(after.active)
    .bind(after.sort)
    .bind(&after.snk)
    .execute(&mut *conn)
    .await?;
    let entry = Entry::change(actor, "product.update", code, Some(&before), Some(&after));
    audit::record(conn, tenant, entry).await?;
    Ok(after)
}

/// Deletes a product, or deactivates it when orders name it: an order awaiting payment still
/// needs it, and a paid one keeps its history (`order_items` refers to it).
pub async fn delete_product(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    code: &str,
) -> OpResult<Removal> {
    // The row lock makes a checkout that is adding an order line for this product (its foreign
    // key check holds a key-share lock) finish first, so the look below sees its line.
    let before = lock_product(conn, code).await?;
    let (open, any): (bool, bool) = sqlx::query_as(
        "select coalesce(bool_or(o.status = 'awaiting_payment'), false), count(*) > 0 \
         from order_items i join orders o on o.id = i.order_id where i.product_id = $1",
    )
    .bind(before.id)
    .fetch_one(&mut *conn)
    .await?;
    let removal = if open {
        Removal::DeactivatedOpenOrders
    } else if any {
        Removal::DeactivatedSoldHistory
    } else {
        Removal::Deleted
    };
    let after = if removal == Removal::Deleted {
        // Its stock and the carts holding it go with it (`on delete cascade`).
        sqlx::query("delete from products where id = $1")
            .bind(before.id)
            .execute(&mut *conn)
            .await?;
        None
    } else {
        sqlx::query("update products set active = false, updated_at = now() where id = $1")
            .bind(before.id)
            .execute(&mut *conn)
            .await?;
        Some(Product {
            active: false,
            ..before.clone()
        })
    };
    let action = if removal == Removal::Deleted {
        "product.delete"
    } else {
        "product.deactivate"
    };
    let entry = Entry::change(actor, action, code, Some(&before), after.as_ref());
    audit::record(conn, tenant, entry).await?;
    Ok(removal)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(result: OpResult<()>) -> &'static str {
        match result {
            Err(OpError::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn names_prices_and_nul_characters_are_checked() {
        assert!(check_text("name", "Netflix", MAX_NAME).is_ok());
        assert_eq!(field(check_text("name", "  ", MAX_NAME)), "name");
        assert_eq!(
            field(check_text("name", &"x".repeat(101), MAX_NAME)),
            "name"
        );
        assert_eq!(field(check_text("name", "a\0b", MAX_NAME)), "name");
        assert_eq!(field(check_price(0)), "price");
        assert_eq!(field(check_price(MAX_PRICE + 1)), "price");
        assert!(check_price(MAX_PRICE).is_ok());
        assert_eq!(field(check_code("no spaces")), "code");
    }

    #[test]
    fn a_patch_tells_null_from_absent() {
        let patch: ProductPatch = serde_json::from_value(json!({"category_id": null})).unwrap();
        assert_eq!(patch.category_id, Some(None));
        assert_eq!(patch.snk, None);
        let patch: ProductPatch = serde_json::from_value(json!({"snk": "baca"})).unwrap();
        assert_eq!(patch.snk, Some(Some("baca".into())));
    }
}

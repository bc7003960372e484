//! Stock as a store's admins manage it: appending items (pasted lines, a `.txt` file or the
//! API), counts per product, removing an unsold item, and the unsold items as text.
//!
//! An item is refused when it repeats a line of the same upload or an item the product ever
//! had, available, reserved or sold: selling it again would deliver the same goods twice. The
//! database's unique fingerprint per product is the guard; an item an admin removed unsold was
//! never delivered, so it may come back. Adapters tell the host after committing
//! (`Host::catalog_changed`) so customers see the new counts at once.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{
    audit::{self, Actor, Entry},
    error::{OpError, OpResult},
    products::{self, Product},
    stock::{self, Counts},
};
use crate::{crypto::Sealer, db::TenantId};

/// The longest item, as the catalog document allows.
pub const MAX_LINE: usize = 4000;
/// The most items one upload may carry, so an upload stays one reasonable transaction.
pub const MAX_ITEMS: usize = 100_000;

/// What an upload did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Upload {
    /// Items stored.
    pub added: usize,
    /// Lines refused, in upload order, each with why.
    pub refused: Vec<Refused>,
    /// The product's counts after the upload.
    pub counts: Counts,
}

/// A line that was not stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Refused {
    /// The line, trimmed.
    pub line: String,
    pub reason: RefusalReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// An earlier line of the same upload is the same item.
    RepeatedInUpload,
    /// The product already has (or had, sold) this item.
    AlreadyInStock,
}

/// One stock item, without its contents (the goods are sealed; the catalog export and the
/// `.txt` download are the ways to read them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Item {
    pub id: i64,
    /// `available`, `reserved` or `sold`.
    pub status: String,
    /// The order holding or owning it.
    pub order_id: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sold_at: Option<OffsetDateTime>,
}

/// Splits pasted text or a file into items (trimmed, blank lines skipped) and checks each
/// against the limits; a line that breaks one refuses the whole upload, naming it.
pub fn parse_lines<S: AsRef<str>>(lines: &[S]) -> OpResult<Vec<String>> {
    let items: Vec<String> = lines
        .iter()
        .flat_map(|l| l.as_ref().lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if items.is_empty() {
        return Err(OpError::invalid(
            "items",
            "must hold at least one non-empty line",
        ));
    }
    if items.len() > MAX_ITEMS {
        return Err(OpError::invalid(
            "items",
            format!("must hold at most {MAX_ITEMS} lines per upload"),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        if item.contains('\0') {
            return Err(OpError::invalid(
                "items",
                format!("line {} contains a NUL character", i + 1),
            ));
        }
        if item.chars().count() > MAX_LINE {
            return Err(OpError::invalid(
                "items",
                format!("line {} is longer than {MAX_LINE} characters", i + 1),
            ));
        }
    }
    Ok(items)
}

/// Appends `lines` to a product's stock; repeats are refused and listed, the rest stored.
pub async fn upload<S: AsRef<str>>(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    actor: &Actor,
    code: &str,
    lines: &[S],
) -> OpResult<Upload> {
    let items = parse_lines(lines)?;
    let product = products::product(conn, code).await?;
    let before = stock::counts(conn, product.id).await?;
    let mut seen = HashSet::with_capacity(items.len());
    let mut refused = Vec::new();
    let mut fresh = Vec::with_capacity(items.len());
    for item in items {
        if seen.insert(item.clone()) {
            fresh.push(item);
        } else {
            refused.push((item, RefusalReason::RepeatedInUpload));
        }
    }
    let stored = stock::append(conn, sealer, tenant, product.id, &fresh).await?;
    let mut added = 0;
    for (item, new) in fresh.into_iter().zip(stored) {
        if new {
            added += 1;
        } else {
            refused.push((item, RefusalReason::AlreadyInStock));
        }
    }
    let after = stock::counts(conn, product.id).await?;
    audit::record(
        conn,
        tenant,
        Entry {
            actor,
            action: "stock.add",
            subject: code,
            // Counts only: the goods themselves never enter the audit log.
            before: json!(before),
            after: json!({"counts": after, "added": added, "refused": refused.len()}),
        },
    )
    .await?;
    Ok(Upload {
        added,
        refused: refused
            .into_iter()
            .map(|(line, reason)| Refused { line, reason })
            .collect(),
        counts: after,
    })
}

/// A product with its counts.
pub async fn counts(conn: &mut PgConnection, code: &str) -> OpResult<(Product, Counts)> {
    let product = products::product(conn, code).await?;
    let counts = stock::counts(conn, product.id).await?;
    Ok((product, counts))
}

/// A page of a product's items, in id order after `after_id`.
pub async fn items(
    conn: &mut PgConnection,
    code: &str,
    after_id: Option<i64>,
    limit: i64,
) -> OpResult<Vec<Item>> {
    let product = products::product(conn, code).await?;
    Ok(sqlx::query_as(
        "select id, status, order_id, created_at, sold_at from stock_items \
         where product_id = $1 and ($2::bigint is null or id > $2) order by id limit $3",
    )
    .bind(product.id)
    .bind(after_id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Removes one available item. A reserved item belongs to an order awaiting payment and a sold
/// one to its buyer: both are refused.
pub async fn remove(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    id: i64,
) -> OpResult<i64> {
    let found: Option<(i64, String, String)> = sqlx::query_as(
        "select s.product_id, p.code, s.status from stock_items s \
         join products p on p.id = s.product_id where s.id = $1 for update of s",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let (product_id, code, status) = found.ok_or(OpError::not_found("stock item"))?;
    if status != "available" {
        return Err(OpError::conflict(
            "stock_item_not_available",
            format!("item {id} is {status}; only an available item can be removed"),
        ));
    }
    sqlx::query("delete from stock_items where id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    audit::record(
        conn,
        tenant,
        Entry {
            actor,
            action: "stock.remove",
            subject: &id.to_string(),
            before: json!({"product": code, "status": status}),
            after: Value::Null,
        },
    )
    .await?;
    Ok(product_id)
}

/// The available items of a product, one per line, for a `.txt` download. Opening the goods is
/// recorded, since the file carries them in plain text.
pub async fn unsold_text(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    actor: &Actor,
    code: &str,
) -> OpResult<(Product, String)> {
    let product = products::product(conn, code).await?;
    let items = stock::available_contents(conn, sealer, tenant, product.id)
        .await
        .map_err(|e| match e.downcast::<sqlx::Error>() {
            Ok(db) => OpError::Database(db),
            // A sealed item that does not open is a fault of the host, not of the input.
            Err(other) => OpError::Database(sqlx::Error::Decode(other.into())),
        })?;
    audit::record(
        conn,
        tenant,
        Entry {
            actor,
            action: "stock.download",
            subject: code,
            before: Value::Null,
            after: json!({"items": items.len()}),
        },
    )
    .await?;
    let mut text = items.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    Ok((product, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_trimmed_and_blank_ones_skipped() {
        let items = parse_lines(&["a@x.com:1\r\n\n  b@x.com:2  \n", "c"]).unwrap();
        assert_eq!(items, ["a@x.com:1", "b@x.com:2", "c"]);
    }

    #[test]
    fn empty_overlong_and_nul_uploads_are_refused() {
        assert!(parse_lines(&["\n  \n"]).is_err());
        assert!(parse_lines(&["ok", &"x".repeat(MAX_LINE + 1)]).is_err());
        assert!(parse_lines(&["a\0b"]).is_err());
        assert!(parse_lines(&[&"y".repeat(MAX_LINE)]).is_ok());
    }
}

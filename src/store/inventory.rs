//! Stock as a store's admins manage it: appending items (pasted lines, a `.txt` file or the
//! API), counts per product, removing an unsold item, and the unsold items as text.
//!
//! An item is refused when it repeats a line of the same upload or an item the store ever had,
//! in any product, available, reserved or sold: selling it again would deliver the same goods
//! twice. The database's unique fingerprint per store is the guard; an item an admin removed
//! unsold was never delivered, so it may come back. Adapters tell the host after committing
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
    /// The store already has (or had, sold) this item, in this product or another.
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

/// Why an upload's lines were refused as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinesProblem {
    /// Not one non-blank line.
    Empty,
    /// More than [`MAX_ITEMS`] lines.
    TooMany,
    /// The line (1-based) holds a NUL character, which PostgreSQL cannot store.
    Nul(usize),
    /// The line (1-based) is longer than [`MAX_LINE`] characters.
    TooLong(usize),
}

impl From<LinesProblem> for OpError {
    fn from(problem: LinesProblem) -> Self {
        let message = match problem {
            LinesProblem::Empty => "must hold at least one non-empty line".to_owned(),
            LinesProblem::TooMany => format!("must hold at most {MAX_ITEMS} lines per upload"),
            LinesProblem::Nul(line) => format!("line {line} contains a NUL character"),
            LinesProblem::TooLong(line) => {
                format!("line {line} is longer than {MAX_LINE} characters")
            }
        };
        OpError::invalid("items", message)
    }
}

/// Splits pasted text or a file into items (trimmed, blank lines skipped) and checks each
/// against the limits; a line that breaks one refuses the whole upload, naming it.
pub fn parse_lines<S: AsRef<str>>(lines: &[S]) -> Result<Vec<String>, LinesProblem> {
    let items: Vec<String> = lines
        .iter()
        .flat_map(|l| l.as_ref().lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if items.is_empty() {
        return Err(LinesProblem::Empty);
    }
    if items.len() > MAX_ITEMS {
        return Err(LinesProblem::TooMany);
    }
    for (i, item) in items.iter().enumerate() {
        if item.contains('\0') {
            return Err(LinesProblem::Nul(i + 1));
        }
        if item.chars().count() > MAX_LINE {
            return Err(LinesProblem::TooLong(i + 1));
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
    let items = parse_lines(lines).map_err(OpError::from)?;
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

/// A product's line on the stock board: code, name, whether customers see it, its counts.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Line {
    pub code: String,
    pub name: String,
    pub active: bool,
    pub available: i64,
    pub reserved: i64,
    pub sold: i64,
}

/// Every product (archived ones left out) with its counts, in the order customers see them.
pub async fn board(conn: &mut PgConnection) -> OpResult<Vec<Line>> {
    Ok(sqlx::query_as(
        "select p.code, p.name, p.active, \
                count(s.id) filter (where s.status = 'available') as available, \
                count(s.id) filter (where s.status = 'reserved') as reserved, \
                count(s.id) filter (where s.status = 'sold') as sold \
         from products p left join stock_items s on s.product_id = p.id \
         where not p.archived group by p.id order by p.sort, p.name, p.id",
    )
    .fetch_all(conn)
    .await?)
}

/// One page of a product's available items, opened, so an admin can pick the one to remove:
/// (how many there are, and (id, content) from `offset`).
pub async fn available_page(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    code: &str,
    offset: i64,
    limit: i64,
) -> OpResult<(i64, Vec<(i64, String)>)> {
    let product = products::product(conn, code).await?;
    let total: i64 = sqlx::query_scalar(
        "select count(*) from stock_items where product_id = $1 and status = 'available'",
    )
    .bind(product.id)
    .fetch_one(&mut *conn)
    .await?;
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "select id, content from stock_items where product_id = $1 and status = 'available' \
         order by id offset $2 limit $3",
    )
    .bind(product.id)
    .bind(offset)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    let items = rows
        .into_iter()
        .map(|(id, sealed)| {
            let plain = sealer
                .open(&sealed, &stock::context(tenant, product.id))
                .map_err(unopenable)?;
            Ok((id, String::from_utf8_lossy(plain.expose()).into_owned()))
        })
        .collect::<OpResult<_>>()?;
    Ok((total, items))
}

/// One available item, opened, to show an admin what they are about to remove.
pub async fn available_item(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    id: i64,
) -> OpResult<Option<String>> {
    let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "select product_id, content from stock_items where id = $1 and status = 'available'",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|(product_id, sealed)| {
        let plain = sealer
            .open(&sealed, &stock::context(tenant, product_id))
            .map_err(unopenable)?;
        Ok(String::from_utf8_lossy(plain.expose()).into_owned())
    })
    .transpose()
}

/// A sealed item that does not open is a fault of the host (a missing key), not of the input.
fn unopenable(error: anyhow::Error) -> OpError {
    OpError::Database(sqlx::Error::Decode(error.into()))
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
            Err(other) => unopenable(other),
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
        assert_eq!(parse_lines(&["\n  \n"]), Err(LinesProblem::Empty));
        assert_eq!(
            parse_lines(&["ok", &"x".repeat(MAX_LINE + 1)]),
            Err(LinesProblem::TooLong(2))
        );
        assert_eq!(parse_lines(&["a\0b"]), Err(LinesProblem::Nul(1)));
        assert!(parse_lines(&[&"y".repeat(MAX_LINE)]).is_ok());
    }
}

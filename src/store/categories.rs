//! Categories as a store's admins manage them: create, rename (or change emoji, sort,
//! visibility) and delete, only when empty. Like `products`, each change writes its audit row
//! in its transaction and the adapter tells the host the catalog changed.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;

use super::{
    audit::{self, Actor, Entry},
    error::{OpError, OpResult},
    products::{check_optional_text, check_text},
};
use crate::db::TenantId;

/// The longest category name (the schema's check).
pub const MAX_NAME: usize = 64;

/// A category as admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub emoji: Option<String>,
    pub sort: i32,
    pub active: bool,
    /// Products in it (archived ones not counted).
    pub products: i64,
}

/// A new category, or the fields of one that change.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    /// 1 to 64 characters, unique in the store. Required to create.
    pub name: Option<String>,
    /// Shown before the name; an empty text removes it.
    pub emoji: Option<String>,
    pub sort: Option<i32>,
    pub active: Option<bool>,
}

impl CategoryInput {
    pub fn validate(&self) -> OpResult<()> {
        if let Some(name) = &self.name {
            check_text("name", name, MAX_NAME)?;
        }
        if let Some(emoji) = &self.emoji {
            check_optional_text("emoji", emoji.trim(), 16)?;
        }
        Ok(())
    }
}

const CATEGORY_COLUMNS: &str = "c.id, c.name, c.emoji, c.sort, c.active, \
     (select count(*) from products p where p.category_id = c.id and not p.archived) as products";

/// Every category, in the order customers see them.
pub async fn list(conn: &mut PgConnection) -> OpResult<Vec<Category>> {
    Ok(sqlx::query_as(&format!(
        "select {CATEGORY_COLUMNS} from categories c order by c.sort, c.name, c.id"
    ))
    .fetch_all(conn)
    .await?)
}

async fn category(conn: &mut PgConnection, id: i64, lock: bool) -> OpResult<Category> {
    let lock = if lock { " for update of c" } else { "" };
    sqlx::query_as(&format!(
        "select {CATEGORY_COLUMNS} from categories c where c.id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(OpError::not_found("category"))
}

fn name_taken(name: &str) -> OpError {
    OpError::conflict(
        "category_name_taken",
        format!("a category named {name} already exists"),
    )
}

fn emoji_value(emoji: Option<&str>) -> Option<String> {
    emoji
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
}

pub async fn create(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    input: CategoryInput,
) -> OpResult<Category> {
    input.validate()?;
    let name = input
        .name
        .as_deref()
        .map(str::trim)
        .ok_or_else(|| OpError::invalid("name", "is required"))?;
    let id: Option<i64> = sqlx::query_scalar(
        "insert into categories (tenant_id, name, emoji, sort, active) values ($1, $2, $3, $4, $5) \
         on conflict (tenant_id, name) do nothing returning id",
    )
    .bind(tenant)
    .bind(name)
    .bind(emoji_value(input.emoji.as_deref()))
    .bind(input.sort.unwrap_or(0))
    .bind(input.active.unwrap_or(true))
    .fetch_optional(&mut *conn)
    .await?;
    let id = id.ok_or_else(|| name_taken(name))?;
    let created = category(conn, id, false).await?;
    let subject = id.to_string();
    let entry = Entry::change(actor, "category.create", &subject, None, Some(&created));
    audit::record(conn, tenant, entry).await?;
    Ok(created)
}

/// Renames a category or changes its emoji, sort or visibility.
pub async fn update(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    id: i64,
    input: CategoryInput,
) -> OpResult<Category> {
    input.validate()?;
    let before = category(conn, id, true).await?;
    let name = input
        .name
        .as_deref()
        .map_or(before.name.as_str(), str::trim);
    let emoji = match input.emoji.as_deref() {
        Some(emoji) => emoji_value(Some(emoji)),
        None => before.emoji.clone(),
    };
    let taken: bool =
        sqlx::query_scalar("select exists (select 1 from categories where name = $1 and id <> $2)")
            .bind(name)
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    if taken {
        return Err(name_taken(name));
    }
    sqlx::query(
        "update categories set name = $2, emoji = $3, sort = $4, active = $5 where id = $1",
    )
    .bind(id)
    .bind(name)
    .bind(emoji)
    .bind(input.sort.unwrap_or(before.sort))
    .bind(input.active.unwrap_or(before.active))
    .execute(&mut *conn)
    .await?;
    let after = category(conn, id, false).await?;
    let action = if after.name != before.name {
        "category.rename"
    } else {
        "category.update"
    };
    let subject = id.to_string();
    let entry = Entry::change(actor, action, &subject, Some(&before), Some(&after));
    audit::record(conn, tenant, entry).await?;
    Ok(after)
}

/// Deletes an empty category; one that still holds products is refused, so no product is
/// silently left without its category.
pub async fn delete(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    id: i64,
) -> OpResult<()> {
    let before = category(conn, id, true).await?;
    // Deleting with the emptiness in the statement itself keeps a product moved into the
    // category meanwhile from being orphaned.
    let deleted = sqlx::query(
        "delete from categories c where c.id = $1 \
         and not exists (select 1 from products p where p.category_id = c.id and not p.archived)",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Err(OpError::conflict(
            "category_not_empty",
            format!(
                "category {} still holds {} product(s); move or delete them first",
                before.name, before.products
            ),
        ));
    }
    let subject = id.to_string();
    let entry = Entry::change(actor, "category.delete", &subject, Some(&before), None);
    audit::record(conn, tenant, entry).await?;
    Ok(())
}

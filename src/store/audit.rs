//! The audit log: who did what to the store, with the state before and after.
//!
//! Rows are written in the transaction of the change they describe, so the log never claims a
//! change that was rolled back and never misses one that was committed.

use serde_json::Value;
use sqlx::PgConnection;

use crate::db::TenantId;

/// One entry: `actor` is the Telegram user who acted (`None` for the host itself), `action` a
/// dotted name such as `order.mark_paid`, `subject` what it acted on (an order code, an id).
pub struct Entry<'a> {
    pub actor: Option<i64>,
    pub action: &'a str,
    pub subject: &'a str,
    pub before: Value,
    pub after: Value,
}

pub async fn record(
    conn: &mut PgConnection,
    tenant: TenantId,
    entry: Entry<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into audit_log (tenant_id, actor, action, subject, before, after) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant)
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.subject)
    .bind(entry.before)
    .bind(entry.after)
    .execute(conn)
    .await?;
    Ok(())
}

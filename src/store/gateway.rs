//! The payment gateway's health per store: consecutive failed calls, and the owner's alert.
//!
//! A failure streak is counted in the database, so every host process adds to the same count;
//! the call that makes it reach [`ALERT_AFTER`] writes the owner's alert into the outbox in the
//! same transaction, so one streak alerts exactly once. A successful call ends the streak.

use sqlx::PgConnection;

use super::outbox::{self, Message};
use crate::db::TenantId;

/// Consecutive failures after which the store owner is alerted.
pub const ALERT_AFTER: i32 = 3;

/// Counts a failed call; returns the outbox id of the owner's alert when this failure is the
/// one that reached the threshold. `owner` is `None` when the owner switched the alert off.
pub async fn record_failure(
    conn: &mut PgConnection,
    tenant: TenantId,
    owner: Option<i64>,
    error: &str,
) -> sqlx::Result<Option<i64>> {
    let failures: i32 = sqlx::query_scalar(
        "insert into gateway_health (tenant_id, consecutive_failures, last_error, last_failure_at) \
         values ($1, 1, $2, now()) on conflict (tenant_id) do update set \
         consecutive_failures = gateway_health.consecutive_failures + 1, \
         last_error = excluded.last_error, last_failure_at = now() \
         returning consecutive_failures",
    )
    .bind(tenant)
    .bind(error)
    .fetch_one(&mut *conn)
    .await?;
    let Some(owner) = owner.filter(|_| failures == ALERT_AFTER) else {
        return Ok(None);
    };
    sqlx::query("update gateway_health set alerted_at = now() where tenant_id = $1")
        .bind(tenant)
        .execute(&mut *conn)
        .await?;
    let alert = Message::GatewayAlert {
        failures,
        error: error.to_owned(),
    };
    Ok(Some(
        outbox::enqueue(conn, tenant, owner, &alert, 30).await?,
    ))
}

/// Ends a failure streak; a no-op (no row written) while there is none.
pub async fn record_success(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query(
        "update gateway_health set consecutive_failures = 0 where consecutive_failures > 0",
    )
    .execute(conn)
    .await?;
    Ok(())
}

//! `payment_queue`: when each pending payment is next due for a check with the gateway or for
//! its expiry, and when a payment closed here is due for its last look at the gateway. The table holds ids and times only and has no row-level security: it is the
//! named cross-tenant path through which the payments job finds work across stores.

use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime};

use super::Payment;
use crate::db::TenantId;

/// How soon after its creation a pending payment is first checked with the gateway, in case
/// its webhook never arrives.
pub const FIRST_CHECK_AFTER: Duration = Duration::seconds(60);
/// How often a pending payment is checked again after that.
pub const CHECK_EVERY: Duration = Duration::seconds(60);

/// Notes a status check with the gateway that found the payment still pending, and when to
/// look again: soon, but never later than the payment's own expiry.
pub async fn checked_pending(
    conn: &mut PgConnection,
    payment: &Payment,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query("update payments set last_checked_at = now() where id = $1")
        .bind(payment.id)
        .execute(&mut *conn)
        .await?;
    let next = (now + CHECK_EVERY).min(payment.expires_at.max(now));
    reschedule(conn, payment.id, next).await
}

/// Takes a payment off the queue: it is not pending any more.
pub async fn dequeue(conn: &mut PgConnection, payment_id: i64) -> sqlx::Result<()> {
    sqlx::query("delete from payment_queue where payment_id = $1")
        .bind(payment_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves a payment's next check or expiry to `due_at`.
pub async fn reschedule(
    conn: &mut PgConnection,
    id: i64,
    due_at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query("update payment_queue set due_at = $2 where payment_id = $1")
        .bind(id)
        .bind(due_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many queued payments to claim: at most `per_store` of one store and `limit` in all,
/// none of the stores in `except` (whose earlier claims are still being worked on).
#[derive(Clone, Copy, Debug)]
pub struct Claim<'a> {
    pub per_store: i64,
    pub limit: i64,
    pub except: &'a [TenantId],
}

/// Claims queued payments due by `horizon` (ids only, across stores), fairly: the earliest due
/// payment of every store comes before the second of any, so one store's backlog of thousands
/// never keeps another store's payments out of a pass. Each is leased for `lease`, so another
/// host process skips it while this one works on it, and a process that died mid-way leaves it
/// to be claimed again once the lease runs out. Returned in that fair order.
pub async fn claim_due(
    registry: &PgPool,
    horizon: OffsetDateTime,
    claim: Claim<'_>,
    lease: Duration,
) -> sqlx::Result<Vec<(i64, TenantId)>> {
    let except: Vec<uuid::Uuid> = claim.except.iter().map(|t| t.0).collect();
    // The ranking reads without locks; the rows chosen are then locked (skipping those another
    // process holds) and due again checked, since another process may have leased them since.
    // `locked` is materialized, to run once: see `store::broadcast::claims::claim`.
    sqlx::query_as(
        "with ranked as ( \
             select payment_id, due_at, \
                    row_number() over (partition by tenant_id order by due_at, payment_id) as turn \
             from payment_queue where due_at <= $1 and tenant_id <> all($4) \
         ), chosen as ( \
             select payment_id, turn from ranked where turn <= $2 order by turn, due_at limit $3 \
         ), locked as materialized ( \
             select p.payment_id, c.turn, p.due_at from payment_queue p \
             join chosen c using (payment_id) where p.due_at <= $1 \
             for update of p skip locked \
         ), claimed as ( \
             update payment_queue q set due_at = now() + make_interval(secs => $5) \
             from locked where q.payment_id = locked.payment_id \
             returning q.payment_id, q.tenant_id, locked.turn, locked.due_at \
         ) \
         select payment_id, tenant_id from claimed order by turn, due_at",
    )
    .bind(horizon)
    .bind(claim.per_store)
    .bind(claim.limit)
    .bind(except)
    .bind(lease.as_seconds_f64())
    .fetch_all(registry)
    .await
}

/// How long after a payment is closed here the gateway is asked about it once more: a QRIS
/// payment the customer's bank had under way when the invoice was cancelled completes at the
/// gateway a moment later, and its webhook may be lost.
pub const LAST_LOOK_AFTER: Duration = Duration::minutes(2);
/// How long after its expiry a closed payment is still looked at (by the last look retried
/// while the gateway is away, or by the customer's "check status").
pub const LAST_LOOK_WINDOW: Duration = Duration::days(1);

/// Keeps a payment that was just closed on the queue for its last look at the gateway.
pub(super) async fn queue_last_look(conn: &mut PgConnection, payment_id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "update payment_queue set due_at = now() + make_interval(secs => $2) \
         where payment_id = $1",
    )
    .bind(payment_id)
    .bind(LAST_LOOK_AFTER.as_seconds_f64())
    .execute(conn)
    .await?;
    Ok(())
}

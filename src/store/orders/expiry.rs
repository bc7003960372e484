//! `order_expiry_queue`: every order awaiting payment, with the time its hold runs out.
//!
//! A trigger on `orders` keeps the queue (see its migration): an order is queued while it
//! awaits payment and leaves the queue when it is paid, cancelled or expired. The table holds
//! ids and times only and has no row-level security: it is the named cross-tenant path through
//! which the expiry job finds due orders across stores with one query, so stores with nothing
//! due cost nothing. Each due order is then expired in its own store's transaction.

use sqlx::{PgConnection, PgPool};
use time::Duration;

use super::{Order, Status, close, get};
use crate::db::TenantId;

/// Claims up to `limit` orders whose hold ran out (ids only, across stores): each is leased
/// for `lease`, so another host process skips it meanwhile, and one that is not expired in
/// the end (a pending invoice the payments job must cancel first, a store that could not be
/// opened) is claimed again once the lease runs out.
pub async fn claim_due(
    registry: &PgPool,
    limit: i64,
    lease: Duration,
) -> sqlx::Result<Vec<(i64, TenantId)>> {
    // Materialized, to run once: see `store::broadcast::claims::claim`.
    sqlx::query_as(
        "with due as materialized ( \
             select order_id from order_expiry_queue where due_at <= now() \
             order by due_at limit $1 for update skip locked) \
         update order_expiry_queue q set due_at = now() + make_interval(secs => $2) \
         from due where q.order_id = due.order_id returning q.order_id, q.tenant_id",
    )
    .bind(limit)
    .bind(lease.as_seconds_f64())
    .fetch_all(registry)
    .await
}

/// Expires those of `ids` that still await payment past their hold; returns them (for telling
/// their customers). Orders with a pending gateway invoice are left to the payments job, which
/// must cancel the invoice at the gateway before the order may end; an order locked by another
/// transaction (a payment settling it) is left to that one.
pub async fn expire(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<Order>> {
    let due: Vec<i64> = sqlx::query_scalar(
        "select id from orders o where id = any($1) \
         and status = 'awaiting_payment' and expires_at <= now() \
         and not exists (select 1 from payments p where p.order_id = o.id and p.status = 'pending') \
         order by expires_at for update skip locked",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut expired = Vec::with_capacity(due.len());
    for id in due {
        if let Some(order) = get(conn, id).await? {
            close(conn, &order, Status::Expired).await?;
            expired.push(Order {
                status: Status::Expired,
                ..order
            });
        }
    }
    Ok(expired)
}

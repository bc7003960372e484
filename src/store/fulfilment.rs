//! What follows a paid order, whichever way it was paid (QRIS, the balance, by hand): the
//! goods, the terms (SNK) of its products, the staff's notice of a new paid order, and a notice
//! for each of its products whose stock fell to the low-stock threshold.
//!
//! Everything is written to the outbox in the caller's transaction, the one that paid the
//! order, so a paid order is never left without its goods or its notices, and a rolled-back
//! payment sends nothing.

use sqlx::PgConnection;

use super::{
    orders::Order,
    outbox::{self, FAST_PATH_GRACE_SECS, Message},
};
use crate::{
    db::TenantId,
    tenants::{
        model::{Notifications, Tenant},
        repo,
    },
};

/// Who hears of the store's business, and what they asked to hear.
#[derive(Clone, Debug, Default)]
pub struct Audience {
    /// The store's slug, which labels its metrics.
    pub slug: String,
    /// The owner and the admins, each once, the owner first.
    pub staff: Vec<i64>,
    pub notifications: Notifications,
    pub low_stock_threshold: u32,
}

impl Audience {
    pub fn of(tenant: &Tenant) -> Self {
        Self {
            slug: tenant.slug.clone(),
            staff: tenant.staff(),
            notifications: tenant.settings.notifications,
            low_stock_threshold: tenant.settings.low_stock_threshold,
        }
    }

    /// The store's audience as the registry says now, read in the caller's transaction: an
    /// admin removed or a switch turned off a moment ago is already respected.
    pub async fn load(conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<Self> {
        Ok(repo::by_id(conn, tenant)
            .await?
            .map(|t| Self::of(&t))
            .unwrap_or_default())
    }
}

/// Writes what follows the payment of `order` into the outbox and returns the message ids to
/// send after the commit. `payment` is the gateway's payment, when it was paid through one.
pub async fn after_paid(
    conn: &mut PgConnection,
    tenant: TenantId,
    order: &Order,
    payment: Option<i64>,
) -> sqlx::Result<Vec<i64>> {
    let messages = follow_up(conn, tenant, order, payment).await?;
    outbox::enqueue_many(conn, tenant, &messages, FAST_PATH_GRACE_SECS).await
}

/// What follows the payment of `order`, as (chat, message) in the order they are sent, for
/// the caller to write into the outbox in the paying transaction together with its own
/// messages ([`outbox::enqueue_many`]). Reads and guards (the low-stock alerts) run in the
/// caller's transaction.
pub async fn follow_up(
    conn: &mut PgConnection,
    tenant: TenantId,
    order: &Order,
    payment: Option<i64>,
) -> sqlx::Result<Vec<(i64, Message)>> {
    let audience = Audience::load(conn, tenant).await?;
    // Counted as the paying transaction is written: one that then fails to commit (the
    // database lost between here and the commit) is counted unpaid, which a dashboard bears
    // better than a second place every payment path would have to remember.
    metrics::counter!("tokobot_orders_paid_total", "store" => audience.slug.clone()).increment(1);
    metrics::counter!("tokobot_revenue_rupiah_total", "store" => audience.slug.clone())
        .increment(u64::try_from(order.total).unwrap_or(0));
    let customer = order.customer_id;
    let mut messages = vec![(customer, Message::DeliverOrder { order_id: order.id })];
    if has_terms(conn, order.id).await? {
        messages.push((customer, Message::Snk { order_id: order.id }));
    }
    if audience.notifications.new_order {
        for &member in &audience.staff {
            let notice = Message::OrderPaid {
                order_id: order.id,
                payment_id: payment,
            };
            messages.push((member, notice));
        }
    }
    if audience.notifications.low_stock {
        for (product_id, name, available) in
            newly_low(conn, tenant, order.id, audience.low_stock_threshold).await?
        {
            for &member in &audience.staff {
                let notice = Message::LowStock {
                    product_id,
                    name: name.clone(),
                    available,
                    threshold: audience.low_stock_threshold,
                };
                messages.push((member, notice));
            }
        }
    }
    Ok(messages)
}

/// Whether any product of the order has terms (SNK) to send after delivery.
pub async fn has_terms(conn: &mut PgConnection, order_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from order_items i join products p on p.id = i.product_id \
         where i.order_id = $1 and p.snk is not null and p.snk <> '')",
    )
    .bind(order_id)
    .fetch_one(conn)
    .await
}

/// The order's products whose available stock is at or below `threshold` and whose owner has
/// not been told yet since it last rose above: (product, name, available). The
/// `low_stock_alerts` row is the guard, so of two sales that cross together only one gets the
/// product back.
async fn newly_low(
    conn: &mut PgConnection,
    tenant: TenantId,
    order_id: i64,
    threshold: u32,
) -> sqlx::Result<Vec<(i64, String, i64)>> {
    sqlx::query_as(
        "with level as ( \
             select p.id, p.name, (select count(*) from stock_items s \
                           where s.product_id = p.id and s.status = 'available') as available \
             from products p where p.id in (select product_id from order_items where order_id = $2)), \
         raised as ( \
             insert into low_stock_alerts (tenant_id, product_id, threshold, available) \
             select $1, id, $3, available from level where available <= $3 \
             on conflict (tenant_id, product_id) do nothing \
             returning product_id, available::bigint) \
         select r.product_id, l.name, r.available from raised r join level l on l.id = r.product_id \
         order by l.name",
    )
    .bind(tenant)
    .bind(order_id)
    .bind(i64::from(threshold))
    .fetch_all(conn)
    .await
}

//! A store's numbers for its owner and the operators (`GET /api/v1/tenants/{slug}/stats`).

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;

use crate::store::orders::admin::AWAITS_REVIEW;

#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    pub customers: CustomerStats,
    pub orders: OrderStats,
    /// Paid orders and their revenue per day, newest first, days in the store's time zone.
    pub by_day: Vec<DayStats>,
    /// QRIS payments by status (`pending`, `completed`, `expired`, `cancelled`, `failed`,
    /// `review`), ever: `review` counts every payment held, decided or not (the orders still
    /// awaiting a decision are `orders.awaiting_review`).
    pub payments: BTreeMap<String, i64>,
    /// Update handler errors since the store's bot last started.
    pub handler_errors: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerStats {
    pub total: i64,
    pub active_7_days: i64,
    pub active_30_days: i64,
    /// Customers who blocked the bot.
    pub blocked: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderStats {
    /// Orders by status (`awaiting_payment`, `paid`, `delivered`, `cancelled`, `expired`).
    pub by_status: BTreeMap<String, i64>,
    /// Revenue (rupiah) by status: what paid and delivered orders brought in, and what the
    /// others would have.
    pub revenue_by_status: BTreeMap<String, i64>,
    /// What paid and delivered orders brought the store itself: for an order paid by QRIS, the
    /// invoice's base amount, which is below the order's total when the store bears Pakasir's
    /// fee (`settings.fee_payer = store`); the order's total otherwise.
    pub received: i64,
    /// Orders whose QRIS payment is held for review and that await the store's decision still
    /// (the orders `GET .../orders?review=true` lists).
    pub awaiting_review: i64,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct DayStats {
    /// `YYYY-MM-DD` in the store's time zone.
    pub day: String,
    pub orders: i64,
    pub revenue: i64,
}

/// Reads the numbers of the store the transaction is scoped to; `days` bounds the daily list.
pub async fn read(
    conn: &mut PgConnection,
    timezone: &str,
    days: i32,
    handler_errors: u64,
) -> sqlx::Result<Stats> {
    let (total, active_7_days, active_30_days, blocked): (i64, i64, i64, i64) = sqlx::query_as(
        "select count(*), \
                count(*) filter (where last_seen_at > now() - interval '7 days'), \
                count(*) filter (where last_seen_at > now() - interval '30 days'), \
                count(*) filter (where blocked_bot) \
         from customers",
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "select status, count(*), coalesce(sum(total), 0)::bigint from orders group by status",
    )
    .fetch_all(&mut *conn)
    .await?;
    let by_status = rows.iter().map(|(s, n, _)| (s.clone(), *n)).collect();
    let revenue_by_status = rows.iter().map(|(s, _, r)| (s.clone(), *r)).collect();
    let received: i64 = sqlx::query_scalar(
        "select coalesce(sum(case when p.outcome in ('delivered', 'late_delivered') \
                                  then p.amount else o.total end), 0)::bigint \
         from orders o left join payments p on p.order_id = o.id \
         where o.status in ('paid', 'delivered')",
    )
    .fetch_one(&mut *conn)
    .await?;
    let by_day: Vec<DayStats> = sqlx::query_as(
        "select to_char((paid_at at time zone $1)::date, 'YYYY-MM-DD') as day, count(*) as orders, \
                coalesce(sum(total), 0)::bigint as revenue \
         from orders where paid_at is not null and paid_at > now() - make_interval(days => $2) \
         group by 1 order by 1 desc",
    )
    .bind(timezone)
    .bind(days)
    .fetch_all(&mut *conn)
    .await?;
    let awaiting_review: i64 = sqlx::query_scalar(&format!(
        "select count(*) from orders where {AWAITS_REVIEW}"
    ))
    .fetch_one(&mut *conn)
    .await?;
    let payments: Vec<(String, i64)> =
        sqlx::query_as("select status, count(*) from payments group by status")
            .fetch_all(&mut *conn)
            .await?;
    Ok(Stats {
        customers: CustomerStats {
            total,
            active_7_days,
            active_30_days,
            blocked,
        },
        orders: OrderStats {
            by_status,
            revenue_by_status,
            received,
            awaiting_review,
        },
        by_day,
        payments: payments.into_iter().collect(),
        handler_errors,
    })
}

/// The few numbers at the top of the admin menu.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Summary {
    pub customers: i64,
    /// Customers seen in the last seven days.
    pub active: i64,
    /// Paid (and delivered) orders.
    pub orders: i64,
    pub revenue: i64,
}

pub async fn summary(conn: &mut PgConnection) -> sqlx::Result<Summary> {
    sqlx::query_as(
        "select \
           (select count(*) from customers) as customers, \
           (select count(*) from customers where last_seen_at > now() - interval '7 days') as active, \
           (select count(*) from orders where status in ('paid', 'delivered')) as orders, \
           (select coalesce(sum(total), 0)::bigint from orders where status in ('paid', 'delivered')) as revenue",
    )
    .fetch_one(conn)
    .await
}

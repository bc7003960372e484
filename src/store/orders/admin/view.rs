//! The orders as admins read them: the filtered list, an order's detail, an order by code.

use serde::Serialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::store::{
    error::{OpError, OpResult},
    orders::{self, Order, Status},
    payments,
};

/// The SQL condition that an order (of `orders`) awaits the store's decision on its payment held
/// for review: the payment is held, and the store has not decided yet, by marking the order paid
/// (it then counts as paid) or cancelling it. An order whose hold ran out meanwhile still
/// awaits it: its customer may have paid, and `/lunas` can still pay it.
pub const AWAITS_REVIEW: &str = "(exists (select 1 from payments p \
                                         where p.order_id = orders.id and p.status = 'review') \
                                 and orders.status in ('awaiting_payment', 'expired'))";

/// Which orders to list.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub status: Option<Status>,
    /// Only orders whose payment is held for review (Pakasir's record disagrees with ours) and
    /// that still await the store's decision ([`AWAITS_REVIEW`]).
    pub review: bool,
    /// The first day (in the store's time zone) whose orders are listed.
    pub from: Option<jiff::civil::Date>,
    /// The last day (in the store's time zone) whose orders are listed.
    pub to: Option<jiff::civil::Date>,
    /// Only orders older than this id (the cursor of the previous page).
    pub before_id: Option<i64>,
    pub limit: i64,
}

impl Filter {
    /// Refuses a range that ends before it starts.
    pub fn validate(&self) -> OpResult<()> {
        match (self.from, self.to) {
            (Some(from), Some(to)) if to < from => Err(OpError::invalid(
                "to",
                "the last day comes before the first day",
            )),
            _ => Ok(()),
        }
    }
}

/// An order in the admins' list.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Summary {
    /// The cursor position of this row; not shown to people.
    #[serde(skip)]
    pub id: i64,
    pub code: String,
    /// `awaiting_payment`, `paid`, `delivered`, `cancelled` or `expired`.
    pub status: String,
    /// The buyer's Telegram id.
    pub customer_id: i64,
    pub total: i64,
    /// `balance`, `qris`, `manual` or `free` (a zero total) once paid.
    pub payment_method: Option<String>,
    /// What was refunded to the buyer's balance, if anything.
    pub refunded_amount: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Its QRIS payment is held for review (Pakasir's record of it disagrees with ours) and the
    /// store has not decided yet ([`AWAITS_REVIEW`]).
    pub payment_review: bool,
}

/// The newest orders matching `filter`, newest first; days are read in `timezone`.
pub async fn list(
    conn: &mut PgConnection,
    timezone: &str,
    filter: &Filter,
) -> OpResult<Vec<Summary>> {
    filter.validate()?;
    // Local midnights are turned into instants in SQL, so the list uses the index on id and
    // the store's own calendar, daylight saving included.
    let rows = sqlx::query_as(&format!(
        "select id, code, status, customer_id, total, payment_method, refunded_amount, created_at, \
                {AWAITS_REVIEW} as payment_review \
         from orders \
         where ($1::text is null or status = $1) \
           and (not $7 or {AWAITS_REVIEW}) \
           and ($2::date is null or created_at >= ($2::date)::timestamp at time zone $4) \
           and ($3::date is null or created_at < ($3::date + 1)::timestamp at time zone $4) \
           and ($5::bigint is null or id < $5) \
         order by id desc limit $6"
    ))
    .bind(filter.status.map(Status::as_str))
    .bind(filter.from.map(|d| d.to_string()))
    .bind(filter.to.map(|d| d.to_string()))
    .bind(timezone)
    .bind(filter.before_id)
    .bind(filter.limit)
    .bind(filter.review)
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// Everything about one order an admin needs to act on it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Detail {
    pub code: String,
    pub status: String,
    pub customer: Buyer,
    pub items: Vec<Line>,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    pub coupon_code: Option<String>,
    pub payment_method: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Until when an unpaid order holds its goods.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub paid_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    pub refunded_amount: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub refunded_at: Option<OffsetDateTime>,
    /// The QRIS invoice, if one was created.
    pub payment: Option<Invoice>,
    /// The latest sending of the goods, if they were sent (or are being sent).
    pub delivery: Option<Delivery>,
}

/// Who bought it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Buyer {
    pub telegram_id: i64,
    /// First and last name as Telegram reported them; absent if the buyer is unknown.
    pub name: Option<String>,
    pub username: Option<String>,
    pub blocked_by_store: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Line {
    pub product_code: String,
    pub product_name: String,
    pub unit_price: i64,
    pub quantity: i32,
}

/// The order's gateway invoice.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Invoice {
    pub gateway_order_id: String,
    /// `pending`, `completed`, `expired`, `cancelled`, `failed` or `review` (held: Pakasir's
    /// record disagrees with ours, see `review_reason`).
    pub status: String,
    /// The base amount (what the store receives), the gateway's fee and what the buyer pays
    /// (`total_payment`). The order's `total` is its price: when the store bears the fee
    /// (`settings.fee_payer = store`) the base is below it and `total_payment` at most it.
    pub amount: i64,
    pub fee: i64,
    pub total_payment: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// What Pakasir's record says differently, Pakasir's value first, when held for review.
    pub review_reason: Option<String>,
}

/// The state of the latest goods message of the order in the outbox.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Delivery {
    /// `pending` (being sent or retried), `sent` or `failed` (given up; resend it).
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// The order's times and refund, which `Order` does not carry.
type DetailRow = (
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
    Option<i64>,
    Option<OffsetDateTime>,
);

/// The order `code` with its items, invoice, delivery and buyer.
pub async fn detail(conn: &mut PgConnection, code: &str) -> OpResult<Detail> {
    let order = by_code(conn, code, false).await?;
    let (paid_at, delivered_at, refunded_amount, refunded_at): DetailRow = sqlx::query_as(
        "select paid_at, delivered_at, refunded_amount, refunded_at from orders where id = $1",
    )
    .bind(order.id)
    .fetch_one(&mut *conn)
    .await?;
    let items = sqlx::query_as(
        "select product_code, product_name, unit_price, quantity from order_items \
         where order_id = $1 order by product_name, product_id",
    )
    .bind(order.id)
    .fetch_all(&mut *conn)
    .await?;
    let payment = match payments::of_order(conn, order.id).await? {
        Some(p) => Some(Invoice {
            review_reason: payments::review_reason(conn, p.id).await?,
            gateway_order_id: p.gateway_order_id,
            status: p.status.as_str().to_owned(),
            amount: p.amount,
            fee: p.fee,
            total_payment: p.total_payment,
            expires_at: p.expires_at,
        }),
        None => None,
    };
    let delivery = sqlx::query_as(
        "select status, attempts, last_error from outbox \
         where kind = 'deliver_order' and (payload->>'order_id')::bigint = $1 \
         order by id desc limit 1",
    )
    .bind(order.id)
    .fetch_optional(&mut *conn)
    .await?;
    let customer = buyer(conn, order.customer_id).await?;
    Ok(Detail {
        code: order.code,
        status: order.status.as_str().to_owned(),
        customer,
        items,
        subtotal: order.subtotal,
        discount: order.discount,
        total: order.total,
        coupon_code: order.coupon_code,
        payment_method: order.payment_method,
        created_at: order.created_at,
        expires_at: order.expires_at,
        paid_at,
        delivered_at,
        refunded_amount,
        refunded_at,
        payment,
        delivery,
    })
}

async fn buyer(conn: &mut PgConnection, telegram_id: i64) -> sqlx::Result<Buyer> {
    let row: Option<(String, Option<String>, Option<String>, bool)> = sqlx::query_as(
        "select first_name, last_name, username, blocked_by_store from customers \
         where telegram_user_id = $1",
    )
    .bind(telegram_id)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some((first, last, username, blocked_by_store)) => Buyer {
            telegram_id,
            name: Some(match last {
                Some(last) => format!("{first} {last}"),
                None => first,
            }),
            username,
            blocked_by_store,
        },
        None => Buyer {
            telegram_id,
            name: None,
            username: None,
            blocked_by_store: false,
        },
    })
}

/// The order whose code is `code` (case-insensitive, as people type it), locked when `lock`.
pub async fn by_code(conn: &mut PgConnection, code: &str, lock: bool) -> OpResult<Order> {
    let code = normalise_code(code)?;
    let id: Option<i64> = sqlx::query_scalar("select id from orders where code = $1")
        .bind(&code)
        .fetch_optional(&mut *conn)
        .await?;
    let order = match id {
        Some(id) if lock => orders::lock(conn, id).await?,
        Some(id) => orders::get(conn, id).await?,
        None => None,
    };
    order.ok_or(OpError::not_found("order"))
}

/// Order codes are upper-case letters and digits; anything else (a NUL, a slash, a page of
/// text) names no order, and is answered so before it reaches the database.
pub(super) fn normalise_code(code: &str) -> OpResult<String> {
    let code = code.trim().to_uppercase();
    if code.is_empty() || code.len() > 64 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(OpError::not_found("order"));
    }
    Ok(code)
}

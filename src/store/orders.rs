//! Orders: checkout, payment from balance, cancellation, expiry, and the customer's history.
//!
//! The state machine is `awaiting_payment → paid → delivered` or
//! `awaiting_payment → cancelled | expired`. Every transition is a conditional update on the
//! current state (`where status = 'awaiting_payment'`) inside the transaction that moves the
//! money and the stock, so a replayed or concurrent request changes nothing twice.
//!
//! `admin.rs`: what a store's admins see and do with orders (list, detail, refund, resend),
//! for the bot and the API alike. `expiry.rs`: the queue of orders awaiting payment and their
//! expiry.

pub mod admin;
pub mod expiry;

use rand::Rng;
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use super::{
    cart::{self, Cart},
    coupons::{self, CouponProblem},
    stock,
    wallet::{self, Reason, WalletError},
};
use crate::db::TenantId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    AwaitingPayment,
    Paid,
    Delivered,
    Cancelled,
    Expired,
}

impl Status {
    pub fn parse(value: &str) -> Status {
        match value {
            "paid" => Status::Paid,
            "delivered" => Status::Delivered,
            "cancelled" => Status::Cancelled,
            "expired" => Status::Expired,
            _ => Status::AwaitingPayment,
        }
    }

    /// The status only if `value` names one exactly (for filters typed by people).
    pub fn from_name(value: &str) -> Option<Status> {
        let status = Status::parse(value);
        (status.as_str() == value).then_some(status)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::AwaitingPayment => "awaiting_payment",
            Status::Paid => "paid",
            Status::Delivered => "delivered",
            Status::Cancelled => "cancelled",
            Status::Expired => "expired",
        }
    }

    /// Whether the goods belong to the customer (and can be sent again).
    pub fn is_paid(self) -> bool {
        matches!(self, Status::Paid | Status::Delivered)
    }
}

#[derive(Clone, Debug)]
pub struct Order {
    pub id: i64,
    pub customer_id: i64,
    pub code: String,
    pub status: Status,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    pub coupon_code: Option<String>,
    pub payment_method: Option<String>,
    pub expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Item {
    pub product_id: i64,
    pub product_code: String,
    pub product_name: String,
    pub unit_price: i64,
    pub quantity: i32,
}

/// A price that changed between adding to the cart and checking out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceChange {
    pub name: String,
    pub was: i64,
    pub now: i64,
}

/// A product that has fewer items than the cart asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortage {
    pub name: String,
    pub wanted: i32,
    pub available: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("the cart is empty")]
    EmptyCart,
    #[error("products in the cart are no longer sold")]
    Gone(Vec<String>),
    #[error("prices changed")]
    PriceChanged(Vec<PriceChange>),
    #[error("not enough stock")]
    SoldOut(Vec<Shortage>),
    #[error("the coupon does not apply")]
    Coupon(CouponProblem),
    #[error("the store blocked this customer")]
    Blocked,
    #[error("the customer already holds {open} unpaid orders")]
    TooManyUnpaid { open: i64, limit: u32 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What a checkout is held to: how long the order keeps its stock, and how many unpaid orders
/// the customer may hold (the store's settings).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub hold: Duration,
    pub max_unpaid: u32,
}

/// Turns the cart into an order holding reserved stock items. Prices are checked first: a
/// change is reported (and accepted in the cart) before anything is charged. A customer who
/// already holds `limits.max_unpaid` unpaid orders gets none.
pub async fn checkout(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer: i64,
    limits: Limits,
) -> Result<Order, CheckoutError> {
    if lock_checkout(conn, tenant, customer).await? {
        return Err(CheckoutError::Blocked);
    }
    let open = count_unpaid(conn, customer).await?;
    if open >= i64::from(limits.max_unpaid) {
        return Err(CheckoutError::TooManyUnpaid {
            open,
            limit: limits.max_unpaid,
        });
    }
    let hold = limits.hold;
    let now = OffsetDateTime::now_utc();
    let cart = cart::view(conn, customer, now).await?;
    check_cart(&cart)?;
    if let Some(problem) = &cart.coupon_problem {
        return Err(CheckoutError::Coupon(problem.clone()));
    }
    if let Some(code) = &cart.coupon
        && !coupons::take_use(conn, code).await?
    {
        return Err(CheckoutError::Coupon(CouponProblem::UsedUp));
    }
    let order = insert(conn, tenant, customer, &cart, now + hold).await?;
    let mut shortages = Vec::new();
    for line in &cart.lines {
        let wanted = i64::from(line.quantity);
        let got = stock::reserve(conn, line.product_id, order.id, wanted, order.expires_at).await?;
        if got < wanted {
            shortages.push(Shortage {
                name: line.name.clone(),
                wanted: line.quantity,
                available: got,
            });
        }
    }
    if !shortages.is_empty() {
        // The caller rolls the transaction back: nothing stays reserved, no coupon use is taken.
        return Err(CheckoutError::SoldOut(shortages));
    }
    cart::clear(conn, customer).await?;
    Ok(order)
}

/// Takes the customer's checkout lock, a transaction-scoped advisory lock on (store, customer)
/// held until the caller's commit or rollback, and says whether the store blocked the
/// customer, in one statement. Two checkouts of one customer at once (two host processes, a
/// retried request) thus go one after the other.
async fn lock_checkout(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select coalesce((select blocked_by_store from customers where telegram_user_id = $2), false) \
         from (select pg_advisory_xact_lock(hashtextextended($1, 0))) as locked",
    )
    .bind(format!("checkout:{}:{customer}", tenant.0))
    .bind(customer)
    .fetch_one(conn)
    .await
}

/// Counts the customer's unpaid orders still within their hold. Run after
/// [`lock_checkout`], in a statement of its own so that it reads after the lock was granted:
/// the second of two checkouts at once sees the first's order, so the cap holds in the
/// database and not only in this process.
async fn count_unpaid(conn: &mut PgConnection, customer: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from orders where customer_id = $1 \
         and status = 'awaiting_payment' and expires_at > now()",
    )
    .bind(customer)
    .fetch_one(conn)
    .await
}

fn check_cart(cart: &Cart) -> Result<(), CheckoutError> {
    if cart.is_empty() {
        return Err(CheckoutError::EmptyCart);
    }
    let gone: Vec<String> = cart
        .lines
        .iter()
        .filter(|l| !l.buyable)
        .map(|l| l.name.clone())
        .collect();
    if !gone.is_empty() {
        return Err(CheckoutError::Gone(gone));
    }
    let changes: Vec<PriceChange> = cart
        .lines
        .iter()
        .filter(|l| l.price != l.price_seen)
        .map(|l| PriceChange {
            name: l.name.clone(),
            was: l.price_seen,
            now: l.price,
        })
        .collect();
    if !changes.is_empty() {
        return Err(CheckoutError::PriceChanged(changes));
    }
    Ok(())
}

/// Characters of order codes: upper-case letters and digits without the look-alikes (0/O, 1/I/L),
/// since customers read codes out to the store and type them into `/lunas`.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// A new order code such as `INV7KQ2M9XA`: opaque, so it says nothing of how many orders the
/// host or the store took (it is shown to customers and is the gateway's order id), and long
/// enough (31^8 ≈ 8.5 × 10^11 codes) that two orders of one store never draw the same one.
fn order_code() -> String {
    let mut rng = rand::rng();
    let random: String = (0..8)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect();
    format!("INV{random}")
}

async fn insert(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer: i64,
    cart: &Cart,
    expires_at: OffsetDateTime,
) -> sqlx::Result<Order> {
    // The order and its items are written by one statement, which returns the order.
    let lines = &cart.lines;
    let sql = format!(
        "with placed as ( \
             insert into orders (tenant_id, customer_id, code, subtotal, discount, total, coupon_code, expires_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) returning {ORDER_COLUMNS}), \
         items as ( \
             insert into order_items (tenant_id, order_id, product_id, product_code, product_name, unit_price, quantity) \
             select $1, placed.id, l.product_id, l.code, l.name, l.price, l.quantity \
             from placed, unnest($9::bigint[], $10::text[], $11::text[], $12::bigint[], $13::int[]) \
                 as l (product_id, code, name, price, quantity)) \
         select {ORDER_COLUMNS} from placed"
    );
    let row = sqlx::query_as::<_, OrderRow>(&sql)
        .bind(tenant)
        .bind(customer)
        .bind(order_code())
        .bind(cart.subtotal)
        .bind(cart.discount)
        .bind(cart.total)
        .bind(&cart.coupon)
        .bind(expires_at)
        .bind(lines.iter().map(|l| l.product_id).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.code.as_str()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.name.as_str()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.price).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.quantity).collect::<Vec<_>>())
        .fetch_one(conn)
        .await?;
    Ok(from_row(row))
}

#[derive(Debug, thiserror::Error)]
pub enum PayError {
    #[error("no such order")]
    NotFound,
    #[error("the order is no longer awaiting payment")]
    NotPayable(Status),
    #[error("the balance is too low")]
    Insufficient { balance: i64, needed: i64 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<WalletError> for PayError {
    fn from(error: WalletError) -> Self {
        match error {
            WalletError::Insufficient { balance, needed } => {
                PayError::Insufficient { balance, needed }
            }
            // A purchase is booked under the order's code; a second booking means it was paid.
            WalletError::AlreadyBooked => PayError::NotPayable(Status::Paid),
            WalletError::Database(e) => PayError::Database(e),
        }
    }
}

/// Pays an order from the customer's balance: debit, order paid, items sold, sold counts,
/// all in the caller's transaction. Returns the paid order.
pub async fn pay_with_balance(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer: i64,
    order_id: i64,
) -> Result<Order, PayError> {
    let order = lock(conn, order_id)
        .await?
        .filter(|o| o.customer_id == customer)
        .ok_or(PayError::NotFound)?;
    if order.status != Status::AwaitingPayment {
        return Err(PayError::NotPayable(order.status));
    }
    if order.expires_at <= OffsetDateTime::now_utc() {
        close(conn, &order, Status::Expired).await?;
        return Err(PayError::NotPayable(Status::Expired));
    }
    wallet::debit(
        conn,
        tenant,
        customer,
        order.total,
        Reason::Purchase,
        &order.code,
    )
    .await?;
    mark_paid(conn, &order, "balance").await?;
    Ok(Order {
        status: Status::Paid,
        payment_method: Some("balance".into()),
        ..order
    })
}

/// Pays at once an order whose total is zero (a coupon covered all of it): no gateway takes an
/// invoice that small and the ledger books no zero amounts, so there is nothing to wait for.
/// `None` (and nothing changed) unless the order is a zero-total order awaiting payment; the
/// caller follows a paid order up as every paid order is (`fulfilment::after_paid`).
pub async fn pay_free(conn: &mut PgConnection, order: &Order) -> sqlx::Result<Option<Order>> {
    if order.total != 0 || order.status != Status::AwaitingPayment {
        return Ok(None);
    }
    mark_paid(conn, order, "free").await?;
    Ok(Some(Order {
        status: Status::Paid,
        payment_method: Some("free".into()),
        ..order.clone()
    }))
}

/// Moves a locked, awaiting order to paid: its reserved items become sold.
///
/// The order, its items ([`stock::sell`]'s update) and its products' sold counts change in one
/// statement: one round trip on every payment path. The caller holds the order's lock and has
/// seen it awaiting payment, so the three parts act on the same order.
pub async fn mark_paid(conn: &mut PgConnection, order: &Order, method: &str) -> sqlx::Result<()> {
    sqlx::query(
        "with paid as ( \
             update orders set status = 'paid', payment_method = $2, paid_at = now() \
             where id = $1 and status = 'awaiting_payment'), \
         sold as ( \
             update stock_items set status = 'sold', sold_at = now(), reserved_until = null \
             where order_id = $1 and status = 'reserved') \
         update products p set sold_count = p.sold_count + i.quantity \
         from order_items i where i.order_id = $1 and p.id = i.product_id",
    )
    .bind(order.id)
    .bind(method)
    .execute(conn)
    .await?;
    Ok(())
}

/// Cancels the customer's unpaid order and releases its items; `false` when it was not
/// awaiting payment any more (already paid, cancelled or expired).
pub async fn cancel(
    conn: &mut PgConnection,
    customer: i64,
    order_id: i64,
) -> sqlx::Result<Option<Status>> {
    let Some(order) = lock(conn, order_id)
        .await?
        .filter(|o| o.customer_id == customer)
    else {
        return Ok(None);
    };
    if order.status != Status::AwaitingPayment {
        return Ok(Some(order.status));
    }
    close(conn, &order, Status::Cancelled).await?;
    Ok(Some(Status::Cancelled))
}

/// Ends an unpaid order: its items go back on the shelf and its coupon use is returned.
pub async fn close(conn: &mut PgConnection, order: &Order, status: Status) -> sqlx::Result<()> {
    let status = if status == Status::Expired {
        "expired"
    } else {
        "cancelled"
    };
    sqlx::query("update orders set status = $2, closed_at = now() where id = $1 and status = 'awaiting_payment'")
        .bind(order.id)
        .bind(status)
        .execute(&mut *conn)
        .await?;
    stock::release(conn, order.id).await?;
    if let Some(code) = &order.coupon_code {
        coupons::give_back(conn, code).await?;
    }
    Ok(())
}

/// Pays an order that expired or was cancelled before its payment arrived, if all of its goods
/// can be reserved again; `false` (and nothing changed) when some are gone.
pub async fn revive_paid(
    conn: &mut PgConnection,
    order: &Order,
    method: &str,
) -> sqlx::Result<bool> {
    let hold = OffsetDateTime::now_utc() + Duration::minutes(5);
    for item in items(conn, order.id).await? {
        let wanted = i64::from(item.quantity);
        if stock::reserve(conn, item.product_id, order.id, wanted, hold).await? < wanted {
            stock::release(conn, order.id).await?;
            return Ok(false);
        }
    }
    // The coupon use returned at expiry is not taken again: the customer paid the discounted
    // total, and a coupon that ran out meanwhile must not turn a payment into a refund.
    sqlx::query(
        "update orders set status = 'awaiting_payment', closed_at = null \
         where id = $1 and status in ('expired', 'cancelled')",
    )
    .bind(order.id)
    .execute(&mut *conn)
    .await?;
    mark_paid(conn, order, method).await?;
    Ok(true)
}

/// Records that an order's goods reached the customer.
pub async fn mark_delivered(conn: &mut PgConnection, order_id: i64) -> sqlx::Result<()> {
    sqlx::query("update orders set status = 'delivered', delivered_at = now() where id = $1 and status = 'paid'")
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

type OrderRow = (
    i64,
    i64,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    OffsetDateTime,
    OffsetDateTime,
);

const ORDER_COLUMNS: &str = "id, customer_id, code, status, subtotal, discount, total, coupon_code, \
     payment_method, expires_at, created_at";

fn from_row(r: OrderRow) -> Order {
    Order {
        id: r.0,
        customer_id: r.1,
        code: r.2,
        status: Status::parse(&r.3),
        subtotal: r.4,
        discount: r.5,
        total: r.6,
        coupon_code: r.7,
        payment_method: r.8,
        expires_at: r.9,
        created_at: r.10,
    }
}

pub async fn get(conn: &mut PgConnection, order_id: i64) -> sqlx::Result<Option<Order>> {
    let sql = format!("select {ORDER_COLUMNS} from orders where id = $1");
    Ok(sqlx::query_as::<_, OrderRow>(&sql)
        .bind(order_id)
        .fetch_optional(conn)
        .await?
        .map(from_row))
}

/// The order, locked until the end of the transaction.
pub async fn lock(conn: &mut PgConnection, order_id: i64) -> sqlx::Result<Option<Order>> {
    let sql = format!("select {ORDER_COLUMNS} from orders where id = $1 for update");
    Ok(sqlx::query_as::<_, OrderRow>(&sql)
        .bind(order_id)
        .fetch_optional(conn)
        .await?
        .map(from_row))
}

/// The customer's latest orders, newest first.
pub async fn of_customer(
    conn: &mut PgConnection,
    customer: i64,
    limit: i64,
) -> sqlx::Result<Vec<Order>> {
    let sql = format!(
        "select {ORDER_COLUMNS} from orders where customer_id = $1 order by id desc limit $2"
    );
    let rows = sqlx::query_as::<_, OrderRow>(&sql)
        .bind(customer)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

pub async fn items(conn: &mut PgConnection, order_id: i64) -> sqlx::Result<Vec<Item>> {
    sqlx::query_as(
        "select product_id, product_code, product_name, unit_price, quantity from order_items \
         where order_id = $1 order by product_name, product_id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await
}

#[cfg(test)]
mod code_tests {
    use super::*;

    #[test]
    fn order_codes_are_opaque_and_fit_the_gateway() {
        let codes: std::collections::HashSet<String> = (0..1000).map(|_| order_code()).collect();
        assert_eq!(codes.len(), 1000);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert!(code.starts_with("INV"));
            assert!(
                code[3..].bytes().all(|b| CODE_ALPHABET.contains(&b)),
                "{code}"
            );
        }
    }
}

//! A customer's cart, kept in the database so it survives restarts.

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::coupons::{self, CouponProblem};
use crate::db::TenantId;

/// The most of one product a cart line may hold.
pub const MAX_QUANTITY: i32 = 100;

/// One line of the cart, with the product as it is now.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Line {
    pub product_id: i64,
    pub code: String,
    pub name: String,
    pub quantity: i32,
    /// What the customer saw when adding; differs from `price` when the owner repriced.
    pub price_seen: i64,
    pub price: i64,
    /// Whether the product can still be bought.
    pub buyable: bool,
}

/// A line as [`view`] reads it, with the cart's coupon.
#[derive(sqlx::FromRow)]
struct LineWithCoupon {
    #[sqlx(flatten)]
    line: Line,
    coupon: Option<String>,
}

impl Line {
    pub fn amount(&self) -> i64 {
        self.price * i64::from(self.quantity)
    }
}

/// The cart with its totals.
#[derive(Clone, Debug, Default)]
pub struct Cart {
    pub lines: Vec<Line>,
    pub coupon: Option<String>,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    /// Why the chosen coupon gives no discount right now.
    pub coupon_problem: Option<CouponProblem>,
}

impl Cart {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// Adds `quantity` of a product (capped per line); returns the line's new quantity.
pub async fn add(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer: i64,
    product_id: i64,
    quantity: i32,
    price_seen: i64,
) -> sqlx::Result<i32> {
    // The cart's row is touched by the same statement.
    sqlx::query_scalar(
        "with cart as ( \
             insert into carts (tenant_id, customer_id) values ($1, $2) \
             on conflict (tenant_id, customer_id) do update set updated_at = now()) \
         insert into cart_items (tenant_id, customer_id, product_id, quantity, price_seen) \
         values ($1, $2, $3, least($4, $5), $6) \
         on conflict (tenant_id, customer_id, product_id) do update \
             set quantity = least(cart_items.quantity + excluded.quantity, $5), price_seen = excluded.price_seen \
         returning quantity",
    )
    .bind(tenant)
    .bind(customer)
    .bind(product_id)
    .bind(quantity.clamp(1, MAX_QUANTITY))
    .bind(MAX_QUANTITY)
    .bind(price_seen)
    .fetch_one(conn)
    .await
}

/// Sets a line's quantity; zero removes it.
pub async fn set_quantity(
    conn: &mut PgConnection,
    customer: i64,
    product_id: i64,
    quantity: i32,
) -> sqlx::Result<()> {
    if quantity <= 0 {
        sqlx::query("delete from cart_items where customer_id = $1 and product_id = $2")
            .bind(customer)
            .bind(product_id)
            .execute(conn)
            .await?;
    } else {
        sqlx::query(
            "update cart_items set quantity = $3 where customer_id = $1 and product_id = $2",
        )
        .bind(customer)
        .bind(product_id)
        .bind(quantity.min(MAX_QUANTITY))
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Empties the cart and forgets its coupon, in one statement.
pub async fn clear(conn: &mut PgConnection, customer: i64) -> sqlx::Result<()> {
    sqlx::query(
        "with emptied as (delete from cart_items where customer_id = $1) \
         update carts set coupon_code = null, updated_at = now() where customer_id = $1",
    )
    .bind(customer)
    .execute(conn)
    .await?;
    Ok(())
}

/// Chooses (or with `None` removes) the cart's coupon.
pub async fn set_coupon(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer: i64,
    code: Option<&str>,
) -> sqlx::Result<()> {
    touch(conn, tenant, customer).await?;
    sqlx::query("update carts set coupon_code = $2, updated_at = now() where customer_id = $1")
        .bind(customer)
        .bind(code)
        .execute(conn)
        .await?;
    Ok(())
}

/// Accepts the current prices: the customer has seen them.
pub async fn accept_prices(conn: &mut PgConnection, customer: i64) -> sqlx::Result<()> {
    sqlx::query(
        "update cart_items c set price_seen = p.price from products p \
         where c.customer_id = $1 and p.id = c.product_id and c.price_seen <> p.price",
    )
    .bind(customer)
    .execute(conn)
    .await?;
    Ok(())
}

/// The cart with current prices and the coupon's discount.
pub async fn view(
    conn: &mut PgConnection,
    customer: i64,
    now: OffsetDateTime,
) -> sqlx::Result<Cart> {
    // The lines and the coupon in one statement. An empty cart's coupon is not read: nothing
    // shows an empty cart's coupon or checks it out.
    let rows: Vec<LineWithCoupon> = sqlx::query_as(
        "select c.product_id, p.code, p.name, c.quantity, c.price_seen, p.price, \
                (p.active and not p.archived) as buyable, \
                (select coupon_code from carts where customer_id = $1) as coupon \
         from cart_items c join products p on p.id = c.product_id \
         where c.customer_id = $1 order by c.added_at, c.product_id",
    )
    .bind(customer)
    .fetch_all(&mut *conn)
    .await?;
    let coupon = rows.first().and_then(|row| row.coupon.clone());
    let lines: Vec<Line> = rows.into_iter().map(|row| row.line).collect();
    let subtotal = lines.iter().filter(|l| l.buyable).map(Line::amount).sum();
    let mut cart = Cart {
        lines,
        coupon,
        subtotal,
        ..Cart::default()
    };
    if let Some(code) = &cart.coupon {
        match coupons::find(conn, code).await? {
            Some(coupon) => match coupon.discount(subtotal, now) {
                Ok(discount) => cart.discount = discount,
                Err(problem) => cart.coupon_problem = Some(problem),
            },
            None => cart.coupon_problem = Some(CouponProblem::Unknown),
        }
    }
    cart.total = cart.subtotal - cart.discount;
    Ok(cart)
}

async fn touch(conn: &mut PgConnection, tenant: TenantId, customer: i64) -> sqlx::Result<()> {
    sqlx::query(
        "insert into carts (tenant_id, customer_id) values ($1, $2) \
         on conflict (tenant_id, customer_id) do update set updated_at = now()",
    )
    .bind(tenant)
    .bind(customer)
    .execute(conn)
    .await?;
    Ok(())
}

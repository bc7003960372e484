//! Orders as a store's admins see and run them: the filtered list, the detail, a refund to the
//! buyer's balance, sending the goods again, and marking paid by hand.
//!
//! One function per operation, called alike by `bot/admin/` and `http/api/`: each validates its
//! input here (so both adapters refuse the same input with the same rule), works in the
//! caller's tenant transaction, writes its audit row there, and writes the messages that must
//! follow into the outbox, returning their ids for sending after the commit. Cancelling an
//! order with a pending invoice asks Pakasir first and lives in `service::orders`.

use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{Order, Status};
use crate::{
    db::TenantId,
    store::{
        audit::{self, Actor, Entry},
        error::{OpError, OpResult},
        outbox::{self, Message},
        payments::{self, Manual},
        wallet::{self, Change, Reason, WalletError},
    },
};

/// Seconds the outbox worker leaves fresh messages to the sender that wrote them.
const FAST_PATH_GRACE_SECS: i64 = 30;
/// The longest reason an admin may give with a refund (the ledger's note column allows 500).
pub const REASON_MAX_CHARS: usize = 500;

/// Which orders to list.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub status: Option<Status>,
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
    /// `balance`, `qris` or `manual` once paid.
    pub payment_method: Option<String>,
    /// What was refunded to the buyer's balance, if anything.
    pub refunded_amount: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
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
    let rows = sqlx::query_as(
        "select id, code, status, customer_id, total, payment_method, refunded_amount, created_at \
         from orders \
         where ($1::text is null or status = $1) \
           and ($2::date is null or created_at >= ($2::date)::timestamp at time zone $4) \
           and ($3::date is null or created_at < ($3::date + 1)::timestamp at time zone $4) \
           and ($5::bigint is null or id < $5) \
         order by id desc limit $6",
    )
    .bind(filter.status.map(Status::as_str))
    .bind(filter.from.map(|d| d.to_string()))
    .bind(filter.to.map(|d| d.to_string()))
    .bind(timezone)
    .bind(filter.before_id)
    .bind(filter.limit)
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
    /// `pending`, `completed`, `expired`, `cancelled` or `failed`.
    pub status: String,
    /// The base amount, the gateway's fee and what the buyer pays.
    pub amount: i64,
    pub fee: i64,
    pub total_payment: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
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
    let payment = payments::of_order(conn, order.id).await?.map(|p| Invoice {
        gateway_order_id: p.gateway_order_id,
        status: p.status.as_str().to_owned(),
        amount: p.amount,
        fee: p.fee,
        total_payment: p.total_payment,
        expires_at: p.expires_at,
    });
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
        Some(id) if lock => super::lock(conn, id).await?,
        Some(id) => super::get(conn, id).await?,
        None => None,
    };
    order.ok_or(OpError::not_found("order"))
}

/// Order codes are upper-case letters and digits; anything else (a NUL, a slash, a page of
/// text) names no order, and is answered so before it reaches the database.
fn normalise_code(code: &str) -> OpResult<String> {
    let code = code.trim().to_uppercase();
    if code.is_empty() || code.len() > 64 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(OpError::not_found("order"));
    }
    Ok(code)
}

/// An order marked paid: its goods and terms are in the outbox.
#[derive(Clone, Debug)]
pub struct MarkedPaid {
    pub order: Order,
    pub outbox: Vec<i64>,
}

/// Marks the order `code` paid by hand (the buyer paid the store another way). The goods go
/// out as for any payment; an order that had ended is paid only if its goods are still there.
pub async fn mark_paid(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    code: &str,
) -> OpResult<MarkedPaid> {
    let code = normalise_code(code)?;
    match payments::mark_order_paid(conn, tenant, &code, actor).await? {
        Manual::Paid { order, outbox } => Ok(MarkedPaid { order, outbox }),
        Manual::NotFound => Err(OpError::not_found("order")),
        Manual::AlreadyPaid => Err(OpError::conflict(
            "already_paid",
            "the order is paid already",
        )),
        Manual::SoldOut => Err(OpError::conflict(
            "sold_out",
            "the order had ended and its goods are sold out; it cannot be paid now",
        )),
    }
}

/// A refund: part or all of a paid order's total back to its buyer's balance, once.
#[derive(Clone, Debug, Default)]
pub struct RefundInput {
    /// The amount to refund; the order's whole total when absent.
    pub amount: Option<i64>,
    /// Why, kept on the ledger row and in the audit log.
    pub reason: Option<String>,
}

impl RefundInput {
    /// Checks the input against the order: an amount from 1 to the order's total, a reason
    /// of at most [`REASON_MAX_CHARS`] characters. Returns the amount and the trimmed reason.
    pub fn validate(&self, total: i64) -> OpResult<(i64, Option<String>)> {
        let amount = self.amount.unwrap_or(total);
        if !(1..=total).contains(&amount) {
            return Err(OpError::invalid(
                "amount",
                format!("the amount must be between 1 and the order's total of {total}"),
            ));
        }
        let reason = match self.reason.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(reason) => Some(check_reason(reason)?),
        };
        Ok((amount, reason))
    }
}

/// Refuses a reason that is too long or holds a NUL character (PostgreSQL refuses those).
pub fn check_reason(reason: &str) -> OpResult<String> {
    if reason.contains('\0') {
        return Err(OpError::invalid(
            "reason",
            "the reason holds a NUL character",
        ));
    }
    if reason.chars().count() > REASON_MAX_CHARS {
        return Err(OpError::invalid(
            "reason",
            format!("the reason is longer than {REASON_MAX_CHARS} characters"),
        ));
    }
    Ok(reason.to_owned())
}

/// What a refund did.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Refunded {
    pub code: String,
    pub customer_id: i64,
    pub amount: i64,
    /// The buyer's balance after the refund.
    pub balance: i64,
    /// The buyer's notice in the outbox.
    #[serde(skip)]
    pub outbox: i64,
}

/// Refunds the paid order `code` to its buyer's balance, exactly once: a second refund (even a
/// concurrent one) finds `refunded_amount` set under the order's row lock and changes nothing.
/// The ledger row carries the reason; the buyer is told through the outbox.
pub async fn refund(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    code: &str,
    input: &RefundInput,
) -> OpResult<Refunded> {
    let order = by_code(conn, code, true).await?;
    if !order.status.is_paid() {
        return Err(OpError::conflict(
            "not_paid",
            "only a paid order can be refunded",
        ));
    }
    let (amount, reason) = input.validate(order.total)?;
    let updated = sqlx::query(
        "update orders set refunded_amount = $2, refunded_at = now() \
         where id = $1 and refunded_amount is null and status in ('paid', 'delivered')",
    )
    .bind(order.id)
    .bind(amount)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(already_refunded());
    }
    let change = Change {
        customer: order.customer_id,
        amount,
        reason: Reason::Refund,
        reference: &order.code,
        note: reason.as_deref(),
    };
    let booked = match wallet::apply(conn, tenant, &change).await {
        Ok(booked) => booked,
        Err(WalletError::AlreadyBooked) => return Err(already_refunded()),
        Err(WalletError::Insufficient { .. }) => unreachable!("a credit never lacks funds"),
        Err(WalletError::Database(error)) => return Err(error.into()),
    };
    let entry = Entry {
        actor,
        action: "order.refund",
        subject: &order.code,
        before: json!({ "status": order.status.as_str(), "refunded_amount": null }),
        after: json!({
            "status": order.status.as_str(),
            "refunded_amount": amount,
            "reason": reason,
            "buyer_balance": booked.balance,
        }),
    };
    audit::record(conn, tenant, entry).await?;
    let message = Message::OrderRefunded { order_id: order.id };
    let outbox = outbox::enqueue(
        conn,
        tenant,
        order.customer_id,
        &message,
        FAST_PATH_GRACE_SECS,
    )
    .await?;
    Ok(Refunded {
        code: order.code,
        customer_id: order.customer_id,
        amount,
        balance: booked.balance,
        outbox,
    })
}

fn already_refunded() -> OpError {
    OpError::conflict("already_refunded", "the order was refunded already")
}

/// Sends the goods of the paid order `code` to its buyer again (a lost chat, a new phone).
/// Returns the outbox row to send after the commit.
pub async fn resend(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    code: &str,
) -> OpResult<i64> {
    let order = by_code(conn, code, false).await?;
    if !order.status.is_paid() {
        return Err(OpError::conflict(
            "not_paid",
            "only a paid order's goods can be sent again",
        ));
    }
    let message = Message::DeliverOrder { order_id: order.id };
    let outbox = outbox::enqueue(
        conn,
        tenant,
        order.customer_id,
        &message,
        FAST_PATH_GRACE_SECS,
    )
    .await?;
    let entry = Entry {
        actor,
        action: "order.resend",
        subject: &order.code,
        before: json!({ "status": order.status.as_str() }),
        after: json!({ "status": order.status.as_str(), "outbox_id": outbox }),
    };
    audit::record(conn, tenant, entry).await?;
    Ok(outbox)
}

/// Cancels the unpaid order `code` that has no pending invoice: its goods go back on the shelf
/// and its coupon use is returned, and the buyer is told through the outbox (the returned
/// row). An order with a pending invoice is cancelled at Pakasir first, by
/// `service::orders::cancel`, which ends up in `store::payments::close`.
pub async fn cancel_without_invoice(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    order: &Order,
) -> OpResult<i64> {
    if order.status != Status::AwaitingPayment {
        return Err(not_cancellable(order.status));
    }
    super::close(conn, order, Status::Cancelled).await?;
    record_cancel(conn, tenant, actor, &order.code, None).await?;
    let message = Message::OrderCancelled { order_id: order.id };
    let outbox = outbox::enqueue(
        conn,
        tenant,
        order.customer_id,
        &message,
        FAST_PATH_GRACE_SECS,
    )
    .await?;
    Ok(outbox)
}

/// The audit row of an order the store cancelled, and of its invoice when it had one.
pub async fn record_cancel(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    code: &str,
    invoice: Option<&str>,
) -> sqlx::Result<()> {
    let entry = Entry {
        actor,
        action: "order.cancel",
        subject: code,
        before: json!({ "status": Status::AwaitingPayment.as_str(), "invoice": invoice.map(|_| "pending") }),
        after: json!({ "status": Status::Cancelled.as_str(), "invoice": invoice.map(|_| "cancelled") }),
    };
    audit::record(conn, tenant, entry).await
}

/// Why an order in `status` cannot be cancelled.
pub fn not_cancellable(status: Status) -> OpError {
    OpError::conflict(
        "not_cancellable",
        format!(
            "only an order awaiting payment can be cancelled; this one is {}",
            status.as_str()
        ),
    )
}

/// The code and refunded amount of a refunded order, for the buyer's notice.
pub async fn refund_of(
    conn: &mut PgConnection,
    order_id: i64,
) -> sqlx::Result<Option<(String, i64)>> {
    sqlx::query_as(
        "select code, refunded_amount from orders where id = $1 and refunded_amount is not null",
    )
    .bind(order_id)
    .fetch_optional(conn)
    .await
}

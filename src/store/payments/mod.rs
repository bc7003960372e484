//! Payments: invoices created at the gateway for an order or a balance top-up, and their life
//! from pending to completed, expired or cancelled.
//!
//! A payment row keeps what the gateway returned (base amount, fee, total, QRIS payload,
//! expiry) exactly. `(tenant_id, gateway_order_id)` is unique, so every path that learns of a
//! payment (the webhook, its replays, the reconciliation job, the customer's "check status")
//! finds the same row; [`settle`] and [`close`] lock it and change its status conditionally,
//! in the transaction that moves the order, the stock and the balance, so a payment is acted
//! on exactly once whatever order those paths arrive in.
//!
//! Pending payments are also listed in `payment_queue`, a host-wide table of ids and due
//! times that the reconciliation and expiry job claims with `FOR UPDATE SKIP LOCKED`; a payment
//! closed here stays there once more, for a last look at the gateway.

mod manual;
mod queue;
mod review;
mod settle;

use sqlx::PgConnection;
use time::OffsetDateTime;

pub use manual::{Manual, mark_order_paid};
pub use queue::{
    CHECK_EVERY, Claim, FIRST_CHECK_AFTER, checked_pending, claim_due, dequeue, reschedule,
};
pub use queue::{LAST_LOOK_AFTER, LAST_LOOK_WINDOW};
pub use review::{Noted, REVIEW_AFTER, note_agreement, note_mismatch, review_reason};
pub use settle::{Closed, SettleError, Settled, close, settle};

use crate::db::TenantId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Pays an order.
    Order,
    /// Tops up the customer's balance.
    Deposit,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Order => "order",
            Kind::Deposit => "deposit",
        }
    }

    fn parse(value: &str) -> Kind {
        if value == "deposit" {
            Kind::Deposit
        } else {
            Kind::Order
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Completed,
    Expired,
    Cancelled,
    Failed,
    /// Pakasir's record of the invoice kept disagreeing with ours: held for the owner, neither
    /// settled nor checked again (see `review.rs`).
    Review,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Completed => "completed",
            Status::Expired => "expired",
            Status::Cancelled => "cancelled",
            Status::Failed => "failed",
            Status::Review => "review",
        }
    }

    fn parse(value: &str) -> Status {
        match value {
            "completed" => Status::Completed,
            "expired" => Status::Expired,
            "cancelled" => Status::Cancelled,
            "failed" => Status::Failed,
            "review" => Status::Review,
            _ => Status::Pending,
        }
    }
}

/// What a completed payment turned into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The order was paid and its goods go out.
    Delivered,
    /// The order had expired, but its goods could be reserved again and go out.
    LateDelivered,
    /// The order could not be fulfilled (it expired and its goods are gone, or it was paid
    /// another way): the base amount went to the customer's balance.
    Credited,
    /// A deposit: the base amount went to the customer's balance.
    Deposited,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::LateDelivered => "late_delivered",
            Outcome::Credited => "credited",
            Outcome::Deposited => "deposited",
        }
    }

    fn parse(value: &str) -> Option<Outcome> {
        match value {
            "delivered" => Some(Outcome::Delivered),
            "late_delivered" => Some(Outcome::LateDelivered),
            "credited" => Some(Outcome::Credited),
            "deposited" => Some(Outcome::Deposited),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Payment {
    pub id: i64,
    pub kind: Kind,
    pub order_id: Option<i64>,
    pub customer_id: i64,
    pub gateway_order_id: String,
    pub method: String,
    /// The base amount.
    pub amount: i64,
    pub fee: i64,
    pub total_payment: i64,
    pub payment_number: String,
    /// The gateway's expiry.
    pub expired_at: OffsetDateTime,
    /// When this host gives up on the invoice (the gateway's expiry or the store's hold).
    pub expires_at: OffsetDateTime,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub invoice_chat_id: Option<i64>,
    pub invoice_message_id: Option<i32>,
    pub created_at: OffsetDateTime,
    /// Gateway answers in a row that disagreed with this payment (see `review`).
    pub mismatches: i32,
}

impl Payment {
    /// Whether the store bore Pakasir's fee of this order invoice, the order's price being
    /// `price`: the base amount (what the store receives) is then below the price, and the
    /// customer paid the total, at most the price.
    pub fn store_bore_fee(&self, price: i64) -> bool {
        self.kind == Kind::Order && self.amount < price
    }

    /// What the customer paid for the order of this invoice, its price being `price`: the base
    /// amount when they paid the fee on top, the whole total when the store bore the fee. A
    /// late payment whose goods are gone credits this much to the balance.
    pub fn paid_for_order(&self, price: i64) -> i64 {
        self.total_payment.min(price).max(self.amount)
    }
}

/// An invoice the gateway created, to be recorded.
#[derive(Clone, Debug)]
pub struct NewPayment<'a> {
    pub kind: Kind,
    pub order_id: Option<i64>,
    pub customer_id: i64,
    pub gateway_order_id: &'a str,
    pub method: &'a str,
    pub amount: i64,
    pub fee: i64,
    pub total_payment: i64,
    pub payment_number: &'a str,
    pub expired_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: i64,
    kind: String,
    order_id: Option<i64>,
    customer_id: i64,
    gateway_order_id: String,
    method: String,
    amount: i64,
    fee: i64,
    total_payment: i64,
    payment_number: String,
    expired_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    status: String,
    outcome: Option<String>,
    invoice_chat_id: Option<i64>,
    invoice_message_id: Option<i32>,
    created_at: OffsetDateTime,
    mismatches: i32,
}

const COLUMNS: &str = "id, kind, order_id, customer_id, gateway_order_id, method, amount, fee, \
     total_payment, payment_number, expired_at, expires_at, status, outcome, invoice_chat_id, \
     invoice_message_id, created_at, mismatches";

impl From<PaymentRow> for Payment {
    fn from(r: PaymentRow) -> Self {
        Payment {
            id: r.id,
            kind: Kind::parse(&r.kind),
            order_id: r.order_id,
            customer_id: r.customer_id,
            gateway_order_id: r.gateway_order_id,
            method: r.method,
            amount: r.amount,
            fee: r.fee,
            total_payment: r.total_payment,
            payment_number: r.payment_number,
            expired_at: r.expired_at,
            expires_at: r.expires_at,
            status: Status::parse(&r.status),
            outcome: r.outcome.as_deref().and_then(Outcome::parse),
            invoice_chat_id: r.invoice_chat_id,
            invoice_message_id: r.invoice_message_id,
            created_at: r.created_at,
            mismatches: r.mismatches,
        }
    }
}

/// The payment whose `column` equals `value` (`id`, `order_id` or `gateway_order_id`).
async fn fetch<T>(
    conn: &mut PgConnection,
    column: &str,
    value: T,
    for_update: bool,
) -> sqlx::Result<Option<Payment>>
where
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
{
    let lock = if for_update { " for update" } else { "" };
    let sql = format!("select {COLUMNS} from payments where {column} = $1{lock}");
    Ok(sqlx::query_as::<_, PaymentRow>(&sql)
        .bind(value)
        .fetch_optional(conn)
        .await?
        .map(Payment::from))
}

/// Records an invoice and queues it for reconciliation and expiry. Recording the same gateway
/// order twice (a retried create answers the same invoice) returns the first row.
pub async fn insert(
    conn: &mut PgConnection,
    tenant: TenantId,
    new: &NewPayment<'_>,
) -> sqlx::Result<Payment> {
    // The payment and its first check in the queue are written by one statement.
    let sql = format!(
        "with inserted as ( \
             insert into payments (tenant_id, kind, order_id, customer_id, gateway_order_id, method, \
             amount, fee, total_payment, payment_number, expired_at, expires_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             on conflict (tenant_id, gateway_order_id) do nothing returning {COLUMNS}), \
         queued as ( \
             insert into payment_queue (payment_id, tenant_id, due_at) \
             select id, $1, least(created_at + make_interval(secs => $13), expires_at) from inserted) \
         select {COLUMNS} from inserted"
    );
    let inserted = sqlx::query_as::<_, PaymentRow>(&sql)
        .bind(tenant)
        .bind(new.kind.as_str())
        .bind(new.order_id)
        .bind(new.customer_id)
        .bind(new.gateway_order_id)
        .bind(new.method)
        .bind(new.amount)
        .bind(new.fee)
        .bind(new.total_payment)
        .bind(new.payment_number)
        .bind(new.expired_at)
        .bind(new.expires_at)
        .bind(FIRST_CHECK_AFTER.as_seconds_f64())
        .fetch_optional(&mut *conn)
        .await?
        .map(Payment::from);
    match inserted {
        Some(payment) => Ok(payment),
        None => by_gateway_id(conn, new.gateway_order_id)
            .await?
            .ok_or(sqlx::Error::RowNotFound),
    }
}

pub async fn get(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Payment>> {
    fetch(conn, "id", id, false).await
}

pub async fn by_gateway_id(
    conn: &mut PgConnection,
    gateway_order_id: &str,
) -> sqlx::Result<Option<Payment>> {
    fetch(conn, "gateway_order_id", gateway_order_id.to_owned(), false).await
}

/// The invoice of an order, if one was created.
pub async fn of_order(conn: &mut PgConnection, order_id: i64) -> sqlx::Result<Option<Payment>> {
    fetch(conn, "order_id", order_id, false).await
}

async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Payment>> {
    fetch(conn, "id", id, true).await
}

/// Remembers where the invoice photo was sent, so it can be removed once settled.
pub async fn set_invoice_message(
    conn: &mut PgConnection,
    id: i64,
    chat_id: i64,
    message_id: i32,
) -> sqlx::Result<()> {
    sqlx::query("update payments set invoice_chat_id = $2, invoice_message_id = $3 where id = $1")
        .bind(id)
        .bind(chat_id)
        .bind(message_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The unique index that keeps a customer to one pending deposit at a time.
const ONE_PENDING_DEPOSIT: &str = "payments_one_pending_deposit";

/// The customer's pending deposit invoice, if they have one (the newest, should an older host
/// have left several).
pub async fn open_deposit(conn: &mut PgConnection, customer: i64) -> sqlx::Result<Option<Payment>> {
    let sql = format!(
        "select {COLUMNS} from payments where customer_id = $1 and kind = 'deposit' \
         and status = 'pending' order by id desc limit 1"
    );
    Ok(sqlx::query_as::<_, PaymentRow>(&sql)
        .bind(customer)
        .fetch_optional(conn)
        .await?
        .map(Payment::from))
}

/// Whether `error` is the database refusing a second pending deposit of one customer: two
/// requests raced past [`open_deposit`], and the later one must give way.
pub fn is_second_pending_deposit(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db)
        if db.is_unique_violation() && db.constraint() == Some(ONE_PENDING_DEPOSIT))
}

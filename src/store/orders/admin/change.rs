//! What admins do with an order: mark it paid, refund it once, send its goods again, cancel
//! it when it has no open invoice. Each writes its audit row and its outbox message in the
//! caller's transaction.

use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use utoipa::ToSchema;

use super::view::{by_code, normalise_code};
use crate::{
    db::TenantId,
    store::{
        audit::{self, Actor, Entry},
        error::{OpError, OpResult},
        orders::{self, Order, Status},
        outbox::{self, FAST_PATH_GRACE_SECS, Message},
        payments::{self, Manual},
        wallet::{self, Change, Reason, WalletError},
    },
};

/// The longest reason an admin may give with a refund (the ledger's note column allows 500).
pub const REASON_MAX_CHARS: usize = 500;

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
    /// Why, required (as for a balance adjustment): kept on the ledger row and in the audit log.
    pub reason: Option<String>,
}

impl RefundInput {
    /// Checks the input against the order: an amount from 1 to the order's total, a reason
    /// of 1 to [`REASON_MAX_CHARS`] characters. Returns the amount and the trimmed reason.
    pub fn validate(&self, total: i64) -> OpResult<(i64, String)> {
        let amount = refund_amount(self.amount, total)?;
        let reason = match self.reason.as_deref().map(str::trim) {
            None | Some("") => {
                return Err(OpError::invalid("reason", "say why the order is refunded"));
            }
            Some(reason) => check_reason(reason)?,
        };
        Ok((amount, reason))
    }
}

/// The amount a refund credits: `amount` if it lies from 1 to the order's total, the whole
/// total when absent.
pub fn refund_amount(amount: Option<i64>, total: i64) -> OpResult<i64> {
    let amount = amount.unwrap_or(total);
    if !(1..=total).contains(&amount) {
        return Err(OpError::invalid(
            "amount",
            format!("the amount must be between 1 and the order's total of {total}"),
        ));
    }
    Ok(amount)
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
        note: Some(&reason),
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
    let outbox = tell_buyer(
        conn,
        tenant,
        &order,
        Message::OrderRefunded { order_id: order.id },
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

/// Writes what the buyer of `order` is told of a change into the outbox, in the change's
/// transaction; the returned row is sent right after the commit.
async fn tell_buyer(
    conn: &mut PgConnection,
    tenant: TenantId,
    order: &Order,
    message: Message,
) -> sqlx::Result<i64> {
    outbox::enqueue(
        conn,
        tenant,
        order.customer_id,
        &message,
        FAST_PATH_GRACE_SECS,
    )
    .await
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
    let outbox = tell_buyer(
        conn,
        tenant,
        &order,
        Message::DeliverOrder { order_id: order.id },
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
    orders::close(conn, order, Status::Cancelled).await?;
    record_cancel(conn, tenant, actor, &order.code, None).await?;
    let outbox = tell_buyer(
        conn,
        tenant,
        order,
        Message::OrderCancelled { order_id: order.id },
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

/// A refunded order as its buyer's notice tells it.
#[derive(Debug, sqlx::FromRow)]
pub struct RefundNotice {
    pub code: String,
    pub amount: i64,
    /// Why the store refunded, as the admin wrote it (the refund's ledger note).
    pub reason: Option<String>,
}

/// The code, refunded amount and reason of a refunded order, for the buyer's notice.
pub async fn refund_of(
    conn: &mut PgConnection,
    order_id: i64,
) -> sqlx::Result<Option<RefundNotice>> {
    sqlx::query_as(
        "select o.code, o.refunded_amount as amount, l.note as reason from orders o \
         left join balance_ledger l on l.reason = 'refund' and l.reference = o.code \
         where o.id = $1 and o.refunded_amount is not null",
    )
    .bind(order_id)
    .fetch_optional(conn)
    .await
}

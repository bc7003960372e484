//! The two ends of a payment: settled (the gateway confirmed it) or closed (expired or
//! cancelled). Each locks the payment row, acts only on the state it expects, and writes the
//! messages that must follow into the outbox, all in the caller's transaction.

use sqlx::PgConnection;

use super::{Kind, Outcome, Payment, Status, lock, queue::queue_last_look};
use crate::{
    db::TenantId,
    store::{
        fulfilment::{self, Audience},
        orders::{self, Order, Status as OrderStatus},
        outbox::{self, Message, Sender, Written},
        wallet::{self, Reason, WalletError},
    },
};

pub(super) use crate::store::outbox::FAST_PATH_GRACE_SECS;

#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error("no such payment")]
    NotFound,
    #[error(transparent)]
    Wallet(#[from] WalletError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What settling did.
#[derive(Clone, Debug)]
pub enum Settled {
    /// This call completed the payment; the outbox messages to send after the commit.
    Now { payment: Payment, outbox: Written },
    /// The payment had been completed before: nothing changed.
    Already(Payment),
}

/// Completes a payment the gateway confirmed: the order is paid (or, when it had expired,
/// revived or credited), or the deposit credited; the customer and the staff are told
/// through the outbox (a paid order as [`fulfilment::follow_up`] says), every message written
/// by one statement, claimed for the caller when `sender` says it sends them itself. Exactly
/// once: the payment row is locked and only a payment that is not completed yet changes, so a
/// replay finds it completed and does nothing.
pub async fn settle(
    conn: &mut PgConnection,
    tenant: TenantId,
    payment_id: i64,
    sender: Sender,
) -> Result<Settled, SettleError> {
    let payment = lock(conn, payment_id).await?.ok_or(SettleError::NotFound)?;
    if payment.status == Status::Completed {
        return Ok(Settled::Already(payment));
    }
    // The order a payment paid, as locked by this transaction.
    let mut paid_order = None;
    let outcome = match (payment.kind, payment.order_id) {
        (Kind::Order, Some(order_id)) => {
            let (outcome, order) = pay_order(conn, tenant, &payment, order_id).await?;
            paid_order = Some(order);
            outcome
        }
        _ => {
            wallet::credit(
                conn,
                tenant,
                payment.customer_id,
                payment.amount,
                Reason::Deposit,
                &payment.gateway_order_id,
            )
            .await?;
            Outcome::Deposited
        }
    };
    // Completed and taken off the payment queue (as `dequeue` does) in one statement.
    sqlx::query(
        "with completed as ( \
             update payments set status = 'completed', outcome = $2, completed_at = now(), \
             last_checked_at = now() where id = $1 and status <> 'completed') \
         delete from payment_queue where payment_id = $1",
    )
    .bind(payment.id)
    .bind(outcome.as_str())
    .execute(&mut *conn)
    .await?;

    let customer = payment.customer_id;
    let mut messages = vec![(customer, Message::PaymentReceived { payment_id })];
    match (outcome, paid_order) {
        (Outcome::Delivered | Outcome::LateDelivered, Some(order)) => {
            // A paid order is followed the same way however it was paid. The order row read
            // under its lock is not read again: what follows needs only its id, customer and
            // total, which paying it did not change.
            messages.extend(fulfilment::follow_up(conn, tenant, &order, Some(payment_id)).await?);
        }
        _ => {
            // Money that reached a balance instead: the staff hear of it as a payment.
            let audience = Audience::load(conn, tenant).await?;
            for &member in &audience.staff {
                messages.push((member, Message::AdminPayment { payment_id }));
            }
        }
    }
    // Every message of the payment is written by one statement.
    let written = outbox::write(conn, tenant, &messages, sender).await?;
    Ok(Settled::Now {
        payment: Payment {
            status: Status::Completed,
            outcome: Some(outcome),
            ..payment
        },
        outbox: written,
    })
}

/// Pays the order behind a confirmed payment. An order that is still awaiting payment is paid;
/// one that expired or was cancelled meanwhile gets its goods reserved again if they are still
/// there; otherwise (or when it was paid another way) the money goes to the balance. The
/// customer paid, so the money is never dropped.
async fn pay_order(
    conn: &mut PgConnection,
    tenant: TenantId,
    payment: &Payment,
    order_id: i64,
) -> Result<(Outcome, Order), SettleError> {
    let order = orders::lock(conn, order_id)
        .await?
        .ok_or(SettleError::NotFound)?;
    let outcome = match order.status {
        OrderStatus::AwaitingPayment => {
            orders::mark_paid(conn, &order, "qris").await?;
            Outcome::Delivered
        }
        OrderStatus::Expired | OrderStatus::Cancelled => {
            if orders::revive_paid(conn, &order, "qris").await? {
                Outcome::LateDelivered
            } else {
                Outcome::Credited
            }
        }
        OrderStatus::Paid | OrderStatus::Delivered => Outcome::Credited,
    };
    if outcome == Outcome::Credited {
        // What the customer paid for the order: when the store took the fee on itself, it
        // bears the fee here too.
        wallet::credit(
            conn,
            tenant,
            payment.customer_id,
            payment.paid_for_order(order.total),
            Reason::LatePayment,
            &payment.gateway_order_id,
        )
        .await?;
    }
    Ok((outcome, order))
}

/// What closing did.
#[derive(Clone, Debug)]
pub enum Closed {
    /// This call closed the payment (and its order); the outbox message to send after commit.
    Now { payment: Payment, outbox: i64 },
    /// The payment was not pending any more: nothing changed.
    NotPending(Payment),
}

/// Ends a pending payment that was not paid, after the gateway cancelled it: `Expired` by the
/// expiry job, `Cancelled` at the customer's request. Its order (still awaiting payment) ends
/// the same way and its stock returns to the shelf; the customer is told through the outbox.
pub async fn close(
    conn: &mut PgConnection,
    tenant: TenantId,
    payment_id: i64,
    status: Status,
) -> Result<Closed, SettleError> {
    debug_assert!(matches!(status, Status::Expired | Status::Cancelled));
    let payment = lock(conn, payment_id).await?.ok_or(SettleError::NotFound)?;
    if payment.status != Status::Pending {
        return Ok(Closed::NotPending(payment));
    }
    sqlx::query("update payments set status = $2 where id = $1 and status = 'pending'")
        .bind(payment.id)
        .bind(status.as_str())
        .execute(&mut *conn)
        .await?;
    // Not dequeued: the job asks the gateway once more a little later (see `queue.rs`).
    queue_last_look(conn, payment.id).await?;
    if let Some(order_id) = payment.order_id
        && let Some(order) = orders::lock(conn, order_id).await?
        && order.status == OrderStatus::AwaitingPayment
    {
        let order_status = if status == Status::Expired {
            OrderStatus::Expired
        } else {
            OrderStatus::Cancelled
        };
        orders::close(conn, &order, order_status).await?;
    }
    let message = Message::InvoiceClosed { payment_id };
    let id = outbox::enqueue(
        conn,
        tenant,
        payment.customer_id,
        &message,
        FAST_PATH_GRACE_SECS,
    )
    .await?;
    Ok(Closed::Now {
        payment: Payment { status, ..payment },
        outbox: id,
    })
}

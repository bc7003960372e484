//! Asking Pakasir, then acting: a payment is settled only after `transactiondetail` says it is
//! completed, and ended only after `transactioncancel` and a fresh `transactiondetail` say it
//! was not paid. When Pakasir cannot be asked, nothing changes and a later pass retries.

use super::PayStore;
use crate::{
    pakasir::{PaymentStatus, Transaction},
    store::{
        audit::Actor,
        orders::{self, admin as order_admin},
        outbox::{Sender, Written},
        payments::{self, Closed, Payment, Settled, Status},
    },
};

/// What confirming a payment came to.
#[derive(Debug)]
pub enum Verdict {
    /// This call settled the payment.
    Settled(Payment),
    /// It had been settled before.
    Already(Payment),
    /// Pakasir says it is not paid.
    NotPaid(PaymentStatus),
    /// Pakasir's record of this order id differs from ours (project or base amount).
    Mismatch(&'static str),
    /// Pakasir could not be asked; nothing changed.
    Unreachable,
}

/// Asks Pakasir about `payment` and settles it if it is completed.
pub async fn confirm(store: &PayStore, payment: &Payment) -> anyhow::Result<Verdict> {
    if payment.status == Status::Completed {
        return Ok(Verdict::Already(payment.clone()));
    }
    let Some(transaction) = detail(store, payment).await else {
        return Ok(Verdict::Unreachable);
    };
    if let Some(problem) = mismatch(store, payment, &transaction) {
        tracing::warn!(store = %store.ctx.tenant().slug, payment = payment.id, problem, "Pakasir's transaction differs from the local payment");
        super::review::note(store, payment, &transaction).await;
        return Ok(Verdict::Mismatch(problem));
    }
    super::review::agreed(store, payment).await;
    if transaction.status != PaymentStatus::Completed {
        return Ok(Verdict::NotPaid(transaction.status));
    }
    settle(store, payment).await
}

/// `transactiondetail` for the payment; `None` when Pakasir could not answer.
pub(super) async fn detail(store: &PayStore, payment: &Payment) -> Option<Transaction> {
    let keys = store.ctx.gateway();
    let result = store
        .ctx
        .pakasir
        .detail(
            &keys.credentials(),
            &payment.gateway_order_id,
            payment.amount,
        )
        .await;
    store.note_gateway(&result).await;
    result.ok()
}

pub(super) fn mismatch(
    store: &PayStore,
    payment: &Payment,
    tx: &Transaction,
) -> Option<&'static str> {
    if tx.order_id != payment.gateway_order_id {
        Some("order id")
    } else if tx.amount != payment.amount {
        Some("amount")
    } else if tx.project != *store.ctx.gateway().project.expose() {
        Some("project")
    } else {
        None
    }
}

/// Settles a payment Pakasir confirmed, then sends what must follow.
///
/// When the store's bot runs here, the payment's messages are written already claimed for it
/// and what they say is read in the settlement's own transaction, so that the sends after the
/// commit need no transaction of their own before them. Should that reading fail, the
/// settlement is rolled back and done again with the messages left to the outbox: a message
/// that cannot be read never holds up the money.
pub(super) async fn settle(store: &PayStore, payment: &Payment) -> anyhow::Result<Verdict> {
    if store.courier.is_some() {
        match settle_as(store, payment, Sender::Writer).await {
            Err(Unsettled::Reading(error)) => tracing::warn!(
                store = %store.ctx.tenant().slug,
                payment = payment.id,
                error = format!("{error:#}"),
                "the payment's messages could not be read with its settlement; the outbox sends them"
            ),
            done => return done.map_err(Unsettled::into_inner),
        }
    }
    settle_as(store, payment, Sender::Worker)
        .await
        .map_err(Unsettled::into_inner)
}

/// Why [`settle_as`] settled nothing.
enum Unsettled {
    /// Reading what the messages say failed; the transaction was rolled back.
    Reading(anyhow::Error),
    Other(anyhow::Error),
}

impl Unsettled {
    fn into_inner(self) -> anyhow::Error {
        match self {
            Unsettled::Reading(error) | Unsettled::Other(error) => error,
        }
    }
}

impl From<sqlx::Error> for Unsettled {
    fn from(error: sqlx::Error) -> Self {
        Unsettled::Other(error.into())
    }
}

impl From<payments::SettleError> for Unsettled {
    fn from(error: payments::SettleError) -> Self {
        Unsettled::Other(error.into())
    }
}

/// One attempt at settling, with the messages sent by `sender` first.
async fn settle_as(
    store: &PayStore,
    payment: &Payment,
    sender: Sender,
) -> Result<Verdict, Unsettled> {
    let tenant = store.ctx.tenant();
    let mut tx = store.ctx.db.tenant(tenant.id).await?;
    let settled = payments::settle(&mut tx, tenant.id, payment.id, sender).await?;
    let sending = match (&settled, &store.courier) {
        (
            Settled::Now {
                outbox: Written::Claimed(claimed),
                ..
            },
            Some(courier),
        ) => Some(
            courier
                .prepare(&store.ctx, &mut tx, claimed.clone())
                .await
                .map_err(Unsettled::Reading)?,
        ),
        _ => None,
    };
    tx.commit().await?;
    match settled {
        Settled::Now { payment, outbox } => {
            // Items moved from reserved to sold (or back from the shelf for a late payment).
            store.ctx.catalog.invalidate_stock(tenant.id);
            metrics::counter!("tokobot_payments_completed_total", "store" => tenant.slug.clone(), "outcome" => payment.outcome.map_or("", |o| o.as_str())).increment(1);
            tracing::info!(store = %tenant.slug, payment = payment.id, outcome = ?payment.outcome, "payment settled");
            // The sends run in a task of their own, so that the caller (the Pakasir webhook,
            // whose answer Pakasir waits for) does not wait for the customer chat's pacing.
            // A task lost to a stop leaves its rows to the outbox worker.
            match (sending, outbox) {
                (Some(sending), _) => {
                    tokio::spawn(sending);
                }
                (None, Written::Queued(ids)) => store.send_soon(ids),
                // Claimed rows with no courier to send them cannot be written (the claim is
                // asked for only with a courier); the worker would take them after the lease.
                (None, Written::Claimed(_)) => {}
            }
            Ok(Verdict::Settled(payment))
        }
        Settled::Already(payment) => Ok(Verdict::Already(payment)),
    }
}

/// What ending an unpaid payment came to.
#[derive(Debug)]
pub enum Ending {
    /// It was closed now (expired or cancelled), its order too.
    Closed(Payment),
    /// It was paid after all and has been settled (or was settled before).
    Paid(Verdict),
    /// It was no longer pending here.
    NotPending(Payment),
    /// Pakasir could not cancel it or say it was not paid; nothing changed, retry later.
    Unreachable,
}

/// Ends a pending payment: cancels it at Pakasir (an invoice is never ended only locally),
/// then asks `transactiondetail` what it is now. Paid meanwhile: it is settled. Not paid: it is
/// closed with `status` (`Expired` or `Cancelled`), its order with it.
pub async fn end(store: &PayStore, payment: &Payment, status: Status) -> anyhow::Result<Ending> {
    end_as(store, payment, status, None).await
}

/// Ends a pending order invoice at the store's request: as [`end`] with `Cancelled`, and the
/// order's cancellation is written to the audit log as `actor`'s, in the transaction that
/// closes it.
pub async fn cancel_by(
    store: &PayStore,
    payment: &Payment,
    actor: &Actor,
) -> anyhow::Result<Ending> {
    end_as(store, payment, Status::Cancelled, Some(actor)).await
}

async fn end_as(
    store: &PayStore,
    payment: &Payment,
    status: Status,
    actor: Option<&Actor>,
) -> anyhow::Result<Ending> {
    if payment.status != Status::Pending {
        return Ok(Ending::NotPending(payment.clone()));
    }
    let keys = store.ctx.gateway();
    let cancelled = store
        .ctx
        .pakasir
        .cancel(
            &keys.credentials(),
            &payment.gateway_order_id,
            payment.amount,
        )
        .await;
    // A refusal (Pakasir says it is completed, say) is not an outage; the detail call decides.
    store.note_gateway(&cancelled).await;
    let Some(transaction) = detail(store, payment).await else {
        return Ok(Ending::Unreachable);
    };
    match transaction.status {
        PaymentStatus::Completed if mismatch(store, payment, &transaction).is_none() => {
            Ok(Ending::Paid(settle(store, payment).await?))
        }
        // A completed record that disagrees with ours is counted towards a review, so it is
        // not retried at its expiry forever either.
        PaymentStatus::Completed => {
            super::review::note(store, payment, &transaction).await;
            Ok(Ending::Unreachable)
        }
        PaymentStatus::Expired | PaymentStatus::Cancelled => {
            close(store, payment, status, actor).await
        }
        // Still payable although Pakasir accepted the cancel: its record says the invoice is
        // open where ours ends it, which is counted towards a review like any disagreement.
        _ if cancelled.is_ok() => {
            super::review::note_status(store, payment, &transaction, status).await;
            Ok(Ending::Unreachable)
        }
        // Still payable: the cancel did not go through; retried later.
        _ => Ok(Ending::Unreachable),
    }
}

async fn close(
    store: &PayStore,
    payment: &Payment,
    status: Status,
    actor: Option<&Actor>,
) -> anyhow::Result<Ending> {
    let tenant = store.ctx.tenant();
    let mut tx = store.ctx.db.tenant(tenant.id).await?;
    let closed = payments::close(&mut tx, tenant.id, payment.id, status).await?;
    if let (Closed::Now { .. }, Some(actor), Some(order_id)) = (&closed, actor, payment.order_id)
        && let Some(order) = orders::get(&mut tx, order_id).await?
    {
        order_admin::record_cancel(
            &mut tx,
            tenant.id,
            actor,
            &order.code,
            Some(&payment.gateway_order_id),
        )
        .await?;
    }
    tx.commit().await?;
    match closed {
        Closed::Now { payment, outbox } => {
            store.ctx.catalog.invalidate_stock(tenant.id);
            store.send_now(&[outbox]).await;
            Ok(Ending::Closed(payment))
        }
        Closed::NotPending(payment) => Ok(Ending::NotPending(payment)),
    }
}

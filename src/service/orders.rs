//! Orders as the store runs them, where a flow needs the gateway: cancelling an order whose
//! QRIS invoice is still open cancels the invoice at Pakasir first, because an invoice is never
//! ended only locally (the buyer could still pay it). The other order operations need no
//! gateway and are plain domain functions in `store::orders::admin`.

use super::{
    ServiceError,
    payments::{self, Ending, PayStore},
};
use crate::store::{
    audit::Actor,
    error::OpError,
    orders::{
        Status,
        admin::{self as order_admin, not_cancellable},
    },
    payments::{self as payment_records, Status as PaymentStatus},
};

/// Cancels the unpaid order `code` as `actor`: its goods go back on the shelf (customers see
/// the counts at once) and its coupon use is returned; the buyer is told through the outbox.
/// With a pending invoice, Pakasir cancels it first; should the buyer have paid meanwhile, the
/// payment is settled instead and the cancellation refused.
pub async fn cancel(store: &PayStore, actor: &Actor, code: &str) -> Result<(), ServiceError> {
    let ctx = &store.ctx;
    let tenant = ctx.tenant_id();
    let mut tx = ctx.db.tenant(tenant).await?;
    let order = order_admin::by_code(&mut tx, code, true).await?;
    if order.status != Status::AwaitingPayment {
        return Err(not_cancellable(order.status).into());
    }
    let invoice = payment_records::of_order(&mut tx, order.id)
        .await?
        .filter(|p| p.status == PaymentStatus::Pending);
    let Some(invoice) = invoice else {
        let notice = order_admin::cancel_without_invoice(&mut tx, tenant, actor, &order).await?;
        tx.commit().await?;
        ctx.catalog.invalidate_stock(tenant);
        store.send_now(&[notice]).await;
        return Ok(());
    };
    // The order's lock must not be held across Pakasir's calls; closing the invoice locks
    // the payment and then the order again, and acts only if both are still open.
    drop(tx);
    match payments::cancel_by(store, &invoice, actor).await? {
        Ending::Closed(_) => Ok(()),
        Ending::Paid(_) => Err(OpError::conflict(
            "paid_meanwhile",
            "the buyer paid the invoice meanwhile, so the order is paid and was not cancelled",
        )
        .into()),
        Ending::NotPending(_) => Err(OpError::conflict(
            "not_cancellable",
            "the order's invoice ended meanwhile; look at the order again",
        )
        .into()),
        Ending::Unreachable => Err(OpError::conflict(
            "gateway_unavailable",
            "Pakasir could not cancel the invoice now; nothing changed, try again in a minute",
        )
        .into()),
    }
}

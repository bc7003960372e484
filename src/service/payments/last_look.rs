//! One more question to Pakasir about a payment closed here. Closing cancels the invoice at
//! Pakasir and asks `transactiondetail` first, but a payment the customer's bank had under way
//! can complete at Pakasir a moment later, and its webhook may be lost. The payments job asks
//! once more a little after every close (`store::payments::LAST_LOOK_AFTER`), and the
//! customer's "check status" asks too; a completed payment is then settled as every late
//! payment is (the goods if they are still there, the balance otherwise).

use time::OffsetDateTime;

use super::{
    PayStore, Verdict,
    confirm::{detail, mismatch, settle},
};
use crate::{
    pakasir::PaymentStatus,
    store::payments::{LAST_LOOK_WINDOW, Payment, Status},
};

/// Asks Pakasir about a closed (expired or cancelled) payment and settles it when Pakasir says
/// it is completed and its record matches ours. `None`: not asked, because the payment is not a
/// closed one or it closed too long ago (`LAST_LOOK_WINDOW`).
pub async fn last_look(store: &PayStore, payment: &Payment) -> anyhow::Result<Option<Verdict>> {
    let closed = matches!(payment.status, Status::Expired | Status::Cancelled);
    if !closed || payment.expires_at + LAST_LOOK_WINDOW < OffsetDateTime::now_utc() {
        return Ok(None);
    }
    let Some(transaction) = detail(store, payment).await else {
        return Ok(Some(Verdict::Unreachable));
    };
    if let Some(problem) = mismatch(store, payment, &transaction) {
        tracing::warn!(store = %store.ctx.tenant().slug, payment = payment.id, problem, "Pakasir's transaction differs from a closed payment");
        return Ok(Some(Verdict::Mismatch(problem)));
    }
    if transaction.status != PaymentStatus::Completed {
        return Ok(Some(Verdict::NotPaid(transaction.status)));
    }
    tracing::info!(store = %store.ctx.tenant().slug, payment = payment.id, "a closed payment was completed at Pakasir");
    Ok(Some(settle(store, payment).await?))
}

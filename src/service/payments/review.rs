//! A payment whose Pakasir record disagrees with ours (another base amount, project or order id;
//! or still payable after Pakasir accepted its cancel): each such answer is counted, and the one
//! that reaches `store::payments::REVIEW_AFTER` holds the payment for review and alerts the owner
//! (see `store::payments::review` for the rule on its goods).

use super::PayStore;
use crate::{
    pakasir::{PaymentStatus, Transaction},
    store::payments::{self, Noted, Payment, Status},
};

/// Notes that `seen`, Pakasir's answer about `payment`, disagrees with it. The owner's alert
/// follows the gateway notices switch, since it is news of the gateway too. Errors are logged,
/// never raised: the caller's own outcome (nothing settled) stands either way, and the next
/// check counts again.
pub(super) async fn note(store: &PayStore, payment: &Payment, seen: &Transaction) {
    hold_after_repeats(store, payment, facts(store, payment, seen)).await;
}

/// Notes that Pakasir still reports `seen` payable after it accepted the cancel of an invoice we
/// are ending with `ours` (expired or cancelled): its record disagrees with ours on the status.
pub(super) async fn note_status(
    store: &PayStore,
    payment: &Payment,
    seen: &Transaction,
    ours: Status,
) {
    let theirs = match &seen.status {
        PaymentStatus::Completed => "completed",
        PaymentStatus::Pending => "pending",
        PaymentStatus::Expired => "expired",
        PaymentStatus::Cancelled => "cancelled",
        PaymentStatus::Other(word) => word,
    };
    let facts = format!("status {theirs} ≠ {}", ours.as_str());
    hold_after_repeats(store, payment, facts).await;
}

/// Notes that Pakasir's answer about `payment` agreed with it, which ends a streak of
/// disagreeing answers (only disagreements in a row hold a payment). Costs a write only when
/// there is a streak to end; errors are logged, never raised, as for [`note`].
pub(super) async fn agreed(store: &PayStore, payment: &Payment) {
    if payment.mismatches == 0 {
        return;
    }
    let cleared = async {
        let mut tx = store.ctx.db.tenant(store.ctx.tenant_id()).await?;
        payments::note_agreement(&mut tx, payment.id).await?;
        tx.commit().await
    };
    if let Err(error) = cleared.await {
        tracing::warn!(%error, "could not end a streak of disagreeing Pakasir answers");
    }
}

/// Counts the disagreement described by `facts`, holding the payment when it is the last one
/// allowed, and sends the owner's alert at once.
async fn hold_after_repeats(store: &PayStore, payment: &Payment, facts: String) {
    let tenant = store.ctx.tenant();
    let owner = tenant
        .settings
        .notifications
        .gateway_failure
        .then_some(tenant.owner_telegram_id);
    let noted = async {
        let mut tx = store.ctx.db.tenant(tenant.id).await?;
        let noted = payments::note_mismatch(&mut tx, tenant.id, payment.id, &facts, owner).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(noted)
    };
    match noted.await {
        Ok(Noted::Held { alert }) => {
            metrics::counter!("tokobot_payments_held_for_review_total", "store" => tenant.slug.clone())
                .increment(1);
            tracing::warn!(store = %tenant.slug, payment = payment.id, facts, "a payment is held for review");
            if let Some(alert) = alert {
                store.send_now(&[alert]).await;
            }
        }
        Ok(Noted::Counted(_) | Noted::NotPending) => {}
        Err(error) => tracing::warn!(%error, "could not count a disagreeing Pakasir answer"),
    }
}

/// What differs, Pakasir's value first, in a form the owner can compare with the dashboard:
/// `amount 30000 ≠ 25000`.
fn facts(store: &PayStore, payment: &Payment, seen: &Transaction) -> String {
    let project = store.ctx.gateway().project.expose().clone();
    let mut differences = Vec::new();
    if seen.order_id != payment.gateway_order_id {
        differences.push(format!(
            "order_id {} ≠ {}",
            seen.order_id, payment.gateway_order_id
        ));
    }
    if seen.amount != payment.amount {
        differences.push(format!("amount {} ≠ {}", seen.amount, payment.amount));
    }
    if seen.project != project {
        differences.push(format!("project {} ≠ {}", seen.project, project));
    }
    differences.join(", ")
}

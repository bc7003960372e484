//! Payments as the webhook route, the jobs and the bot all drive them: the Pakasir calls around
//! the store's payment records (`store::payments`).
//!
//! - `confirm.rs`: confirming a payment with `transactiondetail` and settling it; ending an
//!   unpaid one (cancel at Pakasir, then close), which settles it instead when it was paid late.
//! - `review.rs`: a payment whose Pakasir record keeps disagreeing with ours is held for review
//!   and its owner alerted, instead of being checked every minute for ever.
//! - `last_look.rs`: asking Pakasir once more about a payment closed here (the job's last look
//!   after the close, the customer's "check status"), so a payment completed just before or
//!   while it was closed is settled as a late payment.
//!
//! Every path works on a [`PayStore`]: a store's context and, when its bot runs in this
//! process, a [`Courier`] that sends the outbox rows a change wrote right after its commit. A
//! store whose bot does not run here (suspended, or starting) still has its payments confirmed
//! and credited; the messages wait in the outbox until its bot runs again.

mod confirm;
mod last_look;
mod review;

use std::sync::Arc;

use futures::future::BoxFuture;

pub use confirm::{Ending, Verdict, cancel_by, confirm, end};
pub use last_look::last_look;

use crate::{
    db::TenantTx,
    pakasir::PakasirError,
    service::ctx::StoreCtx,
    store::{gateway, outbox::Claimed},
};

/// Sends outbox rows right after the commit that wrote them. The bot implements it for a store
/// whose bot runs in this process; what it does not send, the outbox worker sends later, so a
/// courier is a shortcut and never the only way a message leaves.
pub trait Courier: Send + Sync {
    fn send_now<'a>(&'a self, ctx: &'a StoreCtx, outbox: &'a [i64]) -> BoxFuture<'a, ()>;

    /// Reads what `claimed` say in `tx`, the open transaction that wrote them claimed for this
    /// courier, and returns their sending: to be run once `tx` has committed, and dropped
    /// unrun if it does not. An error leaves `tx` unfit to commit.
    fn prepare<'a>(
        &'a self,
        ctx: &'a Arc<StoreCtx>,
        tx: &'a mut TenantTx,
        claimed: Vec<Claimed>,
    ) -> BoxFuture<'a, anyhow::Result<Sending>>;
}

/// The sends (and their records) of messages a courier prepared, run after the commit.
pub type Sending = BoxFuture<'static, ()>;

/// A store as payment work needs it.
#[derive(Clone)]
pub struct PayStore {
    pub ctx: Arc<StoreCtx>,
    /// The fast path for messages; `None` leaves them to the outbox worker.
    pub(super) courier: Option<Arc<dyn Courier>>,
}

impl PayStore {
    pub fn new(ctx: Arc<StoreCtx>, courier: Option<Arc<dyn Courier>>) -> Self {
        Self { ctx, courier }
    }

    /// Sends outbox rows just committed, when the store's bot runs here; what fails stays in
    /// the outbox for the worker.
    pub async fn send_now(&self, outbox: &[i64]) {
        if let Some(courier) = &self.courier {
            courier.send_now(&self.ctx, outbox).await;
        }
    }

    /// Sends outbox rows just committed in a task of their own, so that the caller (the Pakasir
    /// webhook, whose answer Pakasir waits for) does not wait for Telegram's pacing of the
    /// customer's chat. A task lost to a stop leaves its rows to the outbox worker.
    pub fn send_soon(&self, outbox: Vec<i64>) {
        if let Some(courier) = &self.courier {
            let (courier, ctx) = (Arc::clone(courier), Arc::clone(&self.ctx));
            tokio::spawn(async move { courier.send_now(&ctx, &outbox).await });
        }
    }

    /// Records the outcome of a Pakasir call in the store's failure streak: an outage (Pakasir
    /// unreachable or failing, or refusing the store's key) extends it, a success ends it, and
    /// a refusal of one request (an order already completed, say) leaves it alone. The alert a
    /// third failure writes is sent at once. Bookkeeping errors are logged, never raised: they
    /// must not hide the call's own outcome.
    pub async fn note_gateway<T>(&self, result: &Result<T, PakasirError>) {
        let tenant = self.ctx.tenant();
        let failure = match result {
            Ok(_) if !self.ctx.gateway_was_failing() => return,
            Ok(_) => None,
            Err(error) if is_outage(error) => Some(error.to_string()),
            Err(error) => {
                tracing::info!(store = %tenant.slug, %error, "Pakasir refused a request");
                return;
            }
        };
        if let Some(reason) = &failure {
            metrics::counter!("tokobot_gateway_failures_total", "store" => tenant.slug.clone())
                .increment(1);
            tracing::warn!(store = %tenant.slug, error = %reason, "a Pakasir call failed");
        }
        let outcome = async {
            let mut tx = self.ctx.db.tenant(tenant.id).await?;
            let alert = match &failure {
                None => {
                    gateway::record_success(&mut tx).await?;
                    None
                }
                Some(reason) => {
                    // The streak is counted either way; the switch decides whether the owner
                    // is told when it reaches the threshold.
                    let owner = tenant
                        .settings
                        .notifications
                        .gateway_failure
                        .then_some(tenant.owner_telegram_id);
                    gateway::record_failure(&mut tx, tenant.id, owner, reason).await?
                }
            };
            tx.commit().await?;
            Ok::<_, sqlx::Error>(alert)
        };
        match outcome.await {
            Ok(alert) => {
                self.ctx.set_gateway_failing(failure.is_some());
                if let Some(alert) = alert {
                    self.send_now(&[alert]).await;
                }
            }
            Err(error) => tracing::warn!(%error, "could not record the gateway's health"),
        }
    }
}

/// Whether a failed call means the gateway cannot be used: it is down, answers what cannot be
/// understood, or refuses the store's project and key (which only the owner can fix). Callers
/// check amounts and order ids before calling, so `Invalid` is never a request of ours.
fn is_outage(error: &PakasirError) -> bool {
    match error {
        PakasirError::Unavailable { .. } | PakasirError::Invalid(_) => true,
        PakasirError::Rejected { status, .. } => matches!(status, 401 | 403),
    }
}

//! Payments as the bot, the webhook route and the jobs see them: the Pakasir calls around the
//! store's payment records, and what customers and admins are told.
//!
//! - `invoice.rs`: creating a QRIS invoice for an order or a deposit and sending its photo.
//! - `confirm.rs`: confirming a payment with `transactiondetail` and settling it; ending an
//!   unpaid one (cancel at Pakasir, then close).
//! - `notify.rs`: the payment messages of the outbox, rendered in the reader's language.
//! - `handlers.rs`: the customer's buttons (pay by QRIS, check status, cancel) and deposits.
//! - `manual.rs`: an admin marks an order paid by hand (`/lunas KODE`).
//!
//! Every path works on a [`PayStore`]: a store's context and, when its bot runs in this
//! process, the bot. A store whose bot does not run here (suspended, or starting) still has
//! its payments confirmed and credited; the messages wait in the outbox until it runs again.
//! The stores that [`PayStore`]'s constructors find (for the Pakasir webhook and the jobs)
//! work on the money pool, so that no amount of browsing can hold payments up.

pub mod confirm;
pub mod handlers;
pub mod invoice;
pub mod manual;
pub mod notify;

use std::{collections::HashMap, sync::Arc};

use super::{GatewayKeys, StoreBot, StoreCtx, delivery};
use crate::{
    db::TenantId,
    host::{Host, Route, Running},
    pakasir::PakasirError,
    store::gateway,
    tenants::repo,
};

/// A store as payment work needs it.
#[derive(Clone)]
pub struct PayStore {
    pub ctx: Arc<StoreCtx>,
    /// The running bot, for sending right after a commit; `None` leaves it to the outbox worker.
    pub bot: Option<StoreBot>,
}

impl PayStore {
    /// The store `slug`, running or not; `None` when no such store exists.
    pub async fn by_slug(host: &Host, slug: &str) -> anyhow::Result<Option<PayStore>> {
        if let Route::Running(running) = host.route(slug) {
            return Ok(Some(Self::of_running(host, &running)));
        }
        let tenant = repo::by_slug(host.money().db.registry(), slug).await?;
        match tenant {
            Some(tenant) => Self::offline(host, tenant).await.map(Some),
            None => Ok(None),
        }
    }

    /// The store with id `tenant`, looked up among `running` first.
    pub async fn by_id(
        host: &Host,
        running: &HashMap<TenantId, PayStore>,
        tenant: TenantId,
    ) -> anyhow::Result<Option<PayStore>> {
        if let Some(store) = running.get(&tenant) {
            return Ok(Some(store.clone()));
        }
        match repo::by_id(host.money().db.registry(), tenant).await? {
            Some(tenant) => Self::offline(host, tenant).await.map(Some),
            None => Ok(None),
        }
    }

    /// The stores running in this process, by id.
    pub fn running(host: &Host) -> HashMap<TenantId, PayStore> {
        host.running_stores()
            .into_iter()
            .map(|running| (running.ctx.tenant_id(), Self::of_running(host, &running)))
            .collect()
    }

    /// A running store, its context taken onto the money pool.
    fn of_running(host: &Host, running: &Running) -> Self {
        PayStore {
            ctx: Arc::new(running.ctx.with_services(host.money())),
            bot: Some(running.bot.clone()),
        }
    }

    /// A context for a store whose bot does not run here.
    async fn offline(host: &Host, tenant: crate::tenants::model::Tenant) -> anyhow::Result<Self> {
        let secrets = repo::secrets(host.money().db.registry(), host.sealer(), tenant.id).await?;
        let ctx = StoreCtx::new(Arc::new(tenant), GatewayKeys::of(&secrets), host.money());
        Ok(PayStore {
            ctx: Arc::new(ctx),
            bot: None,
        })
    }

    /// Sends outbox messages just committed, when the bot runs here; what fails stays in the
    /// outbox for the worker.
    pub async fn send_now(&self, outbox: &[i64]) {
        let Some(bot) = &self.bot else {
            return;
        };
        for &id in outbox {
            if let Err(error) = delivery::process(bot, &self.ctx, id).await {
                tracing::warn!(
                    outbox_id = id,
                    error = format!("{error:#}"),
                    "a payment message was not sent; the outbox retries it"
                );
            }
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

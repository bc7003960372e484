//! Pending payments that no webhook settled: reconciliation and expiry.
//!
//! Every pending payment sits in `payment_queue` with the time it is due: a first check a
//! minute after its creation, then one a minute, and its expiry. A pass claims due entries
//! across stores with `FOR UPDATE SKIP LOCKED` and a lease, so several host processes on one
//! database share the work without doing any of it twice, and an entry whose process died is
//! claimed again once its lease runs out. For each payment:
//! - before its expiry, `transactiondetail` is asked: completed payments are settled (a lost
//!   webhook, a host that was down), pending ones are checked again later;
//! - at its expiry, it is cancelled at Pakasir and asked about once more: paid meanwhile, it is
//!   settled (a late payment); otherwise it is closed, its order expired, its stock released
//!   and its customer told;
//! - when Pakasir cannot be reached, nothing changes and the payment is retried later.
//! - a little after it was closed (here or by another path), Pakasir is asked once more: a
//!   payment completed at the last moment is settled as a late payment (`last_look`).
//!
//! The same loop erases SNK submissions older than each store's retention, once an hour.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::{
    host::Host,
    pakasir::PaymentStatus,
    service::payments::{self as service, Ending, PayStore, Verdict},
    store::{
        payments::{self, CHECK_EVERY, Payment, Status},
        snk,
    },
    tenants::repo,
};

const EVERY: Duration = Duration::from_secs(10);
/// SNK retention is counted in days; an hourly purge is more than precise enough.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// Payments claimed per pass; the next pass takes the rest.
const BATCH: i64 = 200;
/// How long a claimed payment is left to the process that claimed it.
const LEASE: time::Duration = time::Duration::minutes(2);

/// Runs a pass every few seconds until `stop` fires.
pub async fn run(host: Host, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(EVERY);
    // The first purge waits an hour, so a host starting many stores is not slowed by it.
    let mut purge =
        tokio::time::interval_at(tokio::time::Instant::now() + PURGE_EVERY, PURGE_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(error) = run_once(&host, OffsetDateTime::now_utc()).await {
                    tracing::warn!(error = format!("{error:#}"), "the payments pass failed");
                }
            }
            _ = purge.tick() => {
                if let Err(error) = purge_snk_once(&host).await {
                    tracing::warn!(error = format!("{error:#}"), "the SNK purge failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Erases, store by store, the SNK submissions older than the store's retention; returns how
/// many went. Deleting is idempotent, so host processes running it at once do no harm.
pub async fn purge_snk_once(host: &Host) -> anyhow::Result<u64> {
    let mut purged = 0;
    let mut after: Option<String> = None;
    loop {
        let page = repo::list(host.db().registry(), after.as_deref(), 100).await?;
        let Some(last) = page.last() else {
            return Ok(purged);
        };
        after = Some(last.slug.clone());
        for tenant in &page {
            let mut tx = host.db().tenant(tenant.id).await?;
            purged += snk::purge_older_than(&mut tx, tenant.settings.snk_retention_days).await?;
            tx.commit().await?;
        }
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Payments found completed at Pakasir and settled.
    pub settled: usize,
    /// Payments cancelled and closed at their expiry.
    pub closed: usize,
    /// Payments still pending, to be checked again.
    pub pending: usize,
    /// Payments Pakasir could not be asked about, to be retried.
    pub unreachable: usize,
}

/// One pass over the payments due by `horizon`. The job passes the current time; tests pass a
/// later one to act as if that time had come, so they never wait for minutes.
pub async fn run_once(host: &Host, horizon: OffsetDateTime) -> anyhow::Result<Pass> {
    // The money pool: a crowd browsing the stores cannot keep this pass from its connections.
    let due = payments::claim_due(host.money().db.registry(), horizon, BATCH, LEASE).await?;
    let mut pass = Pass::default();
    if due.is_empty() {
        return Ok(pass);
    }
    let running = host.running_pay_stores();
    for (payment_id, tenant) in due {
        let store = match host.pay_store_by_id(&running, tenant).await {
            Ok(Some(store)) => store,
            // A purged store's rows are gone with it; the queue entry went with the payment.
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(%tenant, error = format!("{error:#}"), "cannot open a store for its payments");
                continue;
            }
        };
        match process(&store, payment_id, horizon).await {
            Ok(Step::Settled) => pass.settled += 1,
            Ok(Step::Closed) => pass.closed += 1,
            Ok(Step::Pending) => pass.pending += 1,
            Ok(Step::Unreachable) => pass.unreachable += 1,
            Ok(Step::Gone) => {}
            Err(error) => {
                tracing::warn!(store = %store.ctx.tenant().slug, payment_id, error = format!("{error:#}"), "a payment could not be reconciled; retrying later");
            }
        }
    }
    Ok(pass)
}

enum Step {
    Settled,
    Closed,
    Pending,
    Unreachable,
    /// Not pending any more (settled or closed by another path).
    Gone,
}

async fn process(store: &PayStore, payment_id: i64, now: OffsetDateTime) -> anyhow::Result<Step> {
    let ctx = &store.ctx;
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let payment = payments::get(&mut tx, payment_id).await?;
    let payment = match payment {
        Some(payment) if payment.status == Status::Pending => payment,
        Some(payment) if matches!(payment.status, Status::Expired | Status::Cancelled) => {
            tx.commit().await?;
            return last_look(store, &payment).await;
        }
        _ => {
            payments::dequeue(&mut tx, payment_id).await?;
            tx.commit().await?;
            return Ok(Step::Gone);
        }
    };
    tx.commit().await?;
    if payment.expires_at <= now {
        return expire(store, &payment).await;
    }
    match service::confirm(store, &payment).await? {
        Verdict::Settled(_) => Ok(Step::Settled),
        Verdict::Already(_) => Ok(Step::Gone),
        // Pakasir ended it before we did (its own expiry): end it here as well.
        Verdict::NotPaid(PaymentStatus::Expired | PaymentStatus::Cancelled) => {
            expire(store, &payment).await
        }
        Verdict::NotPaid(_) => {
            let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
            payments::checked_pending(&mut tx, &payment, OffsetDateTime::now_utc()).await?;
            tx.commit().await?;
            Ok(Step::Pending)
        }
        Verdict::Mismatch(_) | Verdict::Unreachable => retry_later(store, &payment).await,
    }
}

async fn expire(store: &PayStore, payment: &Payment) -> anyhow::Result<Step> {
    match service::end(store, payment, Status::Expired).await? {
        Ending::Closed(_) => Ok(Step::Closed),
        Ending::Paid(Verdict::Settled(_)) => Ok(Step::Settled),
        Ending::Paid(_) | Ending::NotPending(_) => Ok(Step::Gone),
        Ending::Unreachable => retry_later(store, payment).await,
    }
}

/// The look at Pakasir a little after a payment was closed here; the queue entry goes after
/// it, except when Pakasir could not be asked (retried while the look's window lasts).
async fn last_look(store: &PayStore, payment: &Payment) -> anyhow::Result<Step> {
    let step = match service::last_look(store, payment).await? {
        Some(Verdict::Settled(_)) => Step::Settled,
        Some(Verdict::Unreachable) => return retry_later(store, payment).await,
        Some(_) | None => Step::Gone,
    };
    let mut tx = store.ctx.db.tenant(store.ctx.tenant_id()).await?;
    payments::dequeue(&mut tx, payment.id).await?;
    tx.commit().await?;
    Ok(step)
}

async fn retry_later(store: &PayStore, payment: &Payment) -> anyhow::Result<Step> {
    let mut tx = store.ctx.db.tenant(store.ctx.tenant_id()).await?;
    payments::reschedule(&mut tx, payment.id, OffsetDateTime::now_utc() + CHECK_EVERY).await?;
    tx.commit().await?;
    Ok(Step::Unreachable)
}

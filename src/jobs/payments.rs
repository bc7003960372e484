//! Pending payments that no webhook settled: reconciliation and expiry.
//!
//! Every pending payment sits in `payment_queue` with the time it is due: a first check a
//! minute after its creation, then one a minute, and its expiry. A pass claims due entries
//! across stores with `FOR UPDATE SKIP LOCKED` and a lease, so several host processes on one
//! database share the work without doing any of it twice, and an entry whose process died is
//! claimed again once its lease runs out.
//!
//! The pass is fair across stores: it claims the earliest due payment of every store before
//! the second of any, at most [`PER_STORE`] of one store, and works on each store in its own
//! lane (`lanes.rs`), [`STORES_AT_ONCE`] stores at a time, without waiting for the lanes it
//! started before the next pass. A store with thousands of pending invoices, or whose Pakasir
//! answers slowly, thus delays no other store's settlement, expiry and stock release. For each
//! payment:
//! - before its expiry, `transactiondetail` is asked: completed payments are settled (a lost
//!   webhook, a host that was down), pending ones are checked again later;
//! - at its expiry, it is cancelled at Pakasir and asked about once more: paid meanwhile, it is
//!   settled (a late payment); otherwise it is closed, its order expired, its stock released
//!   and its customer told;
//! - when Pakasir cannot be reached, nothing changes and the payment is retried later, and so
//!   are the rest of the store's payments of that pass, without asking a gateway that is down;
//! - a little after it was closed (here or by another path), Pakasir is asked once more: a
//!   payment completed at the last moment is settled as a late payment (`last_look`).
//!
//! The same loop erases SNK submissions older than each store's retention, once an hour.

use std::{collections::HashMap, ops::AddAssign, time::Duration};

use time::OffsetDateTime;
use tokio::{sync::watch, task::JoinSet};

use super::lanes::Lanes;
use crate::{
    db::TenantId,
    host::Host,
    pakasir::PaymentStatus,
    service::payments::{self as service, Ending, PayStore, Verdict},
    store::{
        payments::{self, CHECK_EVERY, Claim, Payment, Status},
        snk,
    },
    tenants::repo,
};

const EVERY: Duration = Duration::from_secs(10);
/// SNK retention is counted in days; an hourly purge is more than precise enough.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// Payments claimed per pass; the next pass takes the rest.
const BATCH: i64 = 200;
/// Payments of one store claimed per pass: a lane does them one after another, so this bounds
/// how long one lane can take (and keeps it well inside [`LEASE`]).
pub const PER_STORE: i64 = 10;
/// Stores worked on at once. Their lanes mostly wait for Pakasir and take a connection of the
/// money pool only for each short transaction, so this may exceed the pool's size.
pub const STORES_AT_ONCE: usize = 8;
/// How long a claimed payment is left to the process that claimed it.
const LEASE: time::Duration = time::Duration::minutes(2);
/// How long stopping waits for lanes at work before it aborts them. Every step of a lane is its
/// own transaction, so an aborted lane leaves its payments to be claimed again.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Runs a pass every few seconds until `stop` fires.
pub async fn run(host: Host, mut stop: watch::Receiver<bool>) {
    let lanes = Lanes::new(STORES_AT_ONCE);
    let mut working = JoinSet::new();
    let mut tick = tokio::time::interval(EVERY);
    // The first purge waits an hour, so a host starting many stores is not slowed by it.
    let mut purge =
        tokio::time::interval_at(tokio::time::Instant::now() + PURGE_EVERY, PURGE_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                // Finished lanes are let go; those still working keep their stores out of
                // this pass.
                while working.try_join_next().is_some() {}
                let now = OffsetDateTime::now_utc();
                if let Err(error) = start_pass(&host, &lanes, &mut working, now).await {
                    tracing::warn!(error = format!("{error:#}"), "the payments pass failed");
                }
            }
            _ = purge.tick() => {
                if let Err(error) = purge_snk_once(&host).await {
                    tracing::warn!(error = format!("{error:#}"), "the SNK purge failed");
                }
            }
            _ = stop.changed() => {
                let drained = async { while working.join_next().await.is_some() {} };
                if tokio::time::timeout(STOP_GRACE, drained).await.is_err() {
                    working.shutdown().await;
                }
                return;
            }
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

impl AddAssign for Pass {
    fn add_assign(&mut self, other: Pass) {
        self.settled += other.settled;
        self.closed += other.closed;
        self.pending += other.pending;
        self.unreachable += other.unreachable;
    }
}

/// One pass over the payments due by `horizon`, waiting for all of it. The job passes the
/// current time and does not wait (see [`run`]); tests pass a later one to act as if that time
/// had come, so they never wait for minutes.
pub async fn run_once(host: &Host, horizon: OffsetDateTime) -> anyhow::Result<Pass> {
    let mut working = JoinSet::new();
    start_pass(host, &Lanes::new(STORES_AT_ONCE), &mut working, horizon).await?;
    let mut pass = Pass::default();
    while let Some(lane) = working.join_next().await {
        pass += lane?;
    }
    Ok(pass)
}

/// Claims the payments due by `horizon` of the stores whose lane is free, fairly across
/// stores, and starts a lane in `working` for each store that has some.
async fn start_pass(
    host: &Host,
    lanes: &Lanes,
    working: &mut JoinSet<Pass>,
    horizon: OffsetDateTime,
) -> anyhow::Result<()> {
    let busy = lanes.busy();
    let claim = Claim {
        per_store: PER_STORE,
        limit: BATCH,
        except: &busy,
    };
    // The money pool: a crowd browsing the stores cannot keep this pass from its connections.
    let due = payments::claim_due(host.money().db.registry(), horizon, claim, LEASE).await?;
    if due.is_empty() {
        return Ok(());
    }
    let running = host.running_pay_stores();
    lanes.start(working, due, |tenant, payment_ids| {
        lane(host.clone(), running.clone(), tenant, payment_ids, horizon)
    });
    Ok(())
}

/// One store's claimed payments, one after another. Two in a row that Pakasir could not be
/// asked about mean it is away for this store (or refuses it): the rest are put back for later
/// rather than each waiting out the same outage, up to three attempts of fifteen seconds.
async fn lane(
    host: Host,
    running: HashMap<TenantId, PayStore>,
    tenant: TenantId,
    payment_ids: Vec<i64>,
    horizon: OffsetDateTime,
) -> Pass {
    let mut pass = Pass::default();
    let store = match host.pay_store_by_id(&running, tenant).await {
        Ok(Some(store)) => store,
        // A purged store's rows are gone with it; the queue entries went with its payments.
        Ok(None) => return pass,
        Err(error) => {
            tracing::warn!(%tenant, error = format!("{error:#}"), "cannot open a store for its payments");
            return pass;
        }
    };
    let mut ids = payment_ids.into_iter();
    let mut unreachable_in_a_row = 0;
    for payment_id in ids.by_ref() {
        let step = process(&store, payment_id, horizon).await;
        unreachable_in_a_row = match step {
            Ok(Step::Unreachable) => unreachable_in_a_row + 1,
            _ => 0,
        };
        match step {
            Ok(Step::Settled) => pass.settled += 1,
            Ok(Step::Closed) => pass.closed += 1,
            Ok(Step::Pending) => pass.pending += 1,
            Ok(Step::Unreachable) => pass.unreachable += 1,
            Ok(Step::Gone) => {}
            Err(error) => {
                tracing::warn!(store = %store.ctx.tenant().slug, payment_id, error = format!("{error:#}"), "a payment could not be reconciled; retrying later");
            }
        }
        if unreachable_in_a_row == 2 {
            break;
        }
    }
    let rest: Vec<i64> = ids.collect();
    if !rest.is_empty() {
        pass.unreachable += rest.len();
        if let Err(error) = put_back(&store, &rest).await {
            // Their leases run out and a later pass claims them again.
            tracing::warn!(store = %store.ctx.tenant().slug, error = format!("{error:#}"), "could not put payments back for later");
        }
    }
    pass
}

/// Puts a store's claimed payments back in the queue for a later check.
async fn put_back(store: &PayStore, payment_ids: &[i64]) -> anyhow::Result<()> {
    let mut tx = store.ctx.db.tenant(store.ctx.tenant_id()).await?;
    let later = OffsetDateTime::now_utc() + CHECK_EVERY;
    for &id in payment_ids {
        payments::reschedule(&mut tx, id, later).await?;
    }
    tx.commit().await?;
    Ok(())
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
        // A disagreeing record is Pakasir answering, not Pakasir away: it must not make the
        // pass give up on the store's other payments. Each one counts towards holding the
        // payment for review (`service::confirm` notes it), which also takes it off the queue.
        Verdict::Mismatch(_) => {
            recheck_later(store, &payment).await?;
            Ok(Step::Pending)
        }
        Verdict::Unreachable => retry_later(store, &payment).await,
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

/// Pakasir could not be asked: the payment is looked at again in a minute.
async fn retry_later(store: &PayStore, payment: &Payment) -> anyhow::Result<Step> {
    recheck_later(store, payment).await?;
    Ok(Step::Unreachable)
}

async fn recheck_later(store: &PayStore, payment: &Payment) -> anyhow::Result<()> {
    let mut tx = store.ctx.db.tenant(store.ctx.tenant_id()).await?;
    payments::reschedule(&mut tx, payment.id, OffsetDateTime::now_utc() + CHECK_EVERY).await?;
    tx.commit().await?;
    Ok(())
}

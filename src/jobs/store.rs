//! Store work that must happen even when no customer is talking: sending what the outbox
//! still holds, and expiring unpaid orders so their reserved items go back on the shelf.
//!
//! Both are safe with several host processes on one database: outbox rows are claimed with a
//! lease before they are sent, and due orders are claimed from `order_expiry_queue` with a
//! lease and then taken with `FOR UPDATE SKIP LOCKED`.
//! Both move money or stock (goods delivered, reservations released), so both run on the
//! money pool ([`Host::money`]): a crowd browsing the stores cannot hold them up.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use tokio::sync::watch;

use crate::{
    bot::{
        delivery, events,
        texts::{fill, texts},
    },
    db::TenantId,
    host::{Host, telegram::is_token_rejection},
    service::payments::PayStore,
    store::{
        orders::expiry,
        outbox::{self, Message},
        templates,
    },
};

const OUTBOX_EVERY: Duration = Duration::from_secs(2);
/// Messages one outbox pass sends at most, and at most from one store.
const OUTBOX_BATCH: i64 = 200;
const OUTBOX_PER_STORE: i64 = 20;
const EXPIRY_EVERY: Duration = Duration::from_secs(10);
/// Orders one expiry pass claims at most; the next pass takes the rest.
const EXPIRY_BATCH: i64 = 500;
/// How long a claimed order is left to the process that claimed it before it is due again.
const EXPIRY_LEASE: time::Duration = time::Duration::seconds(30);

/// Sends the outbox messages whose fast path did not finish.
pub async fn outbox(host: Host, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(OUTBOX_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(error) = send_due(&host).await {
                    tracing::warn!(error = format!("{error:#}"), "the outbox pass failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// One pass over the due outbox messages of the stores running here. A store that does not
/// run here (suspended, restarting, or on another host) keeps its messages for later, and
/// they are not even read, so they never crowd out the messages of stores that can send.
pub async fn send_due(host: &Host) -> anyhow::Result<()> {
    let money = host.money();
    let running: HashMap<_, _> = host
        .running_stores()
        .into_iter()
        .map(|r| (r.ctx.tenant_id(), (r.ctx.with_services(money), r)))
        .collect();
    if running.is_empty() {
        return Ok(());
    }
    let stores: Vec<_> = running.keys().copied().collect();
    let due = outbox::due(money.db.registry(), &stores, OUTBOX_PER_STORE, OUTBOX_BATCH).await?;
    let mut rejected = HashSet::new();
    for (outbox_id, tenant) in due {
        // Only stores running here were asked for; one whose token Telegram just refused
        // keeps the rest of its messages.
        let Some((ctx, store)) = running.get(&tenant) else {
            continue;
        };
        if rejected.contains(&tenant) {
            continue;
        }
        if let Err(error) = delivery::process(&store.bot, ctx, outbox_id).await {
            if is_token_rejection(&error) {
                rejected.insert(tenant);
                continue;
            }
            tracing::warn!(store = %ctx.tenant().slug, outbox_id, error = format!("{error:#}"), "an outbox message was not sent; it will be retried");
        }
    }
    for tenant in rejected {
        if let Some((ctx, store)) = running.get(&tenant) {
            host.token_rejected(&ctx.tenant().slug, store.generation)
                .await;
        }
    }
    Ok(())
}

/// Expires unpaid orders whose hold ran out.
pub async fn expiry(host: Host, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(EXPIRY_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(error) = expire_due(&host).await {
                    tracing::warn!(error = format!("{error:#}"), "the expiry pass failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// One expiry pass: the orders due across stores come from `order_expiry_queue` in one query,
/// so a pass over a host whose stores have nothing due is that query alone. Each store with
/// due orders expires them in one transaction of its own, which also tells each customer
/// through the outbox; a store that fails is retried when the lease of its orders runs out and
/// holds up none of the others. Returns how many orders expired.
pub async fn expire_due(host: &Host) -> anyhow::Result<usize> {
    let money = host.money();
    let due = expiry::claim_due(money.db.registry(), EXPIRY_BATCH, EXPIRY_LEASE).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut by_store: HashMap<TenantId, Vec<i64>> = HashMap::new();
    for (order_id, tenant) in due {
        by_store.entry(tenant).or_default().push(order_id);
    }
    let running = host.running_pay_stores();
    let (mut expired, mut failed) = (0, 0);
    for (tenant, ids) in by_store {
        let outcome = match host.pay_store_by_id(&running, tenant).await {
            Ok(Some(store)) => expire_store(&store, &ids).await,
            // A purged store's orders went with it, and their queue entries too.
            Ok(None) => Ok(0),
            Err(error) => Err(error),
        };
        match outcome {
            Ok(count) => expired += count,
            Err(error) => {
                failed += 1;
                tracing::warn!(%tenant, error = format!("{error:#}"), "could not expire the store's orders; retrying later");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} store(s) could not expire their orders");
    }
    Ok(expired)
}

async fn expire_store(store: &PayStore, ids: &[i64]) -> anyhow::Result<usize> {
    let ctx = &store.ctx;
    let tenant = ctx.tenant_id();
    let mut tx = ctx.db.tenant(tenant).await?;
    let expired = expiry::expire(&mut tx, ids).await?;
    let mut notices = Vec::new();
    for order in &expired {
        let t = texts(ctx.locale_of(order.customer_id));
        let own = events::render(
            ctx,
            &mut tx,
            templates::INVOICE_EXPIRED,
            order.customer_id,
            Some(order),
        )
        .await?;
        let text = own.unwrap_or_else(|| fill(t.order_expired_notice, &[("code", &order.code)]));
        notices.push(
            outbox::enqueue(
                &mut tx,
                tenant,
                order.customer_id,
                &Message::Text { text },
                0,
            )
            .await?,
        );
    }
    tx.commit().await?;
    if !expired.is_empty() {
        ctx.catalog.invalidate_stock(tenant);
        store.send_now(&notices).await;
    }
    Ok(expired.len())
}

//! Store work that must happen even when no customer is talking: sending what the outbox
//! still holds, and expiring unpaid orders so their reserved items go back on the shelf.
//!
//! Both are safe with several host processes on one database: outbox rows are claimed with a
//! lease before they are sent, and expiring orders are taken with `FOR UPDATE SKIP LOCKED`.
//! Both move money or stock (goods delivered, reservations released), so both run on the
//! money pool ([`Host::money`]): a crowd browsing the stores cannot hold them up.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use tokio::sync::watch;

use crate::{
    bot::{
        StoreBot, StoreCtx, delivery, events,
        texts::{fill, texts},
    },
    host::{Host, telegram::is_token_rejection},
    store::{
        orders,
        outbox::{self, Message},
        templates,
    },
};

const OUTBOX_EVERY: Duration = Duration::from_secs(2);
/// Messages one outbox pass sends at most, and at most from one store.
const OUTBOX_BATCH: i64 = 200;
const OUTBOX_PER_STORE: i64 = 20;
const EXPIRY_EVERY: Duration = Duration::from_secs(15);

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

/// One expiry pass over the stores running here; each expired order's customer is told
/// through the outbox, in the same transaction that expired it. A store that fails is
/// retried at the next pass and holds up none of the others.
pub async fn expire_due(host: &Host) -> anyhow::Result<()> {
    let mut failed = 0;
    for store in host.running_stores() {
        let ctx = store.ctx.with_services(host.money());
        if let Err(error) = expire_store(&store.bot, &ctx).await {
            failed += 1;
            tracing::warn!(store = %ctx.tenant().slug, error = format!("{error:#}"), "could not expire the store's orders; retrying at the next pass");
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} store(s) could not expire their orders");
    }
    Ok(())
}

async fn expire_store(bot: &StoreBot, ctx: &StoreCtx) -> anyhow::Result<()> {
    let tenant = ctx.tenant_id();
    let mut tx = ctx.db.tenant(tenant).await?;
    let expired = orders::expire_due(&mut tx, 100).await?;
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
        ctx.catalog.invalidate(tenant);
        for id in notices {
            delivery::process(bot, ctx, id).await.ok();
        }
    }
    Ok(())
}

//! Store work that must happen even when no customer is talking: sending what the outbox
//! still holds, and expiring unpaid orders so their reserved items go back on the shelf.
//!
//! Both are safe with several host processes on one database: outbox rows are claimed with a
//! lease before they are sent, and expiring orders are taken with `FOR UPDATE SKIP LOCKED`.

use std::{collections::HashMap, time::Duration};

use tokio::sync::watch;

use crate::{
    bot::{
        delivery, events,
        texts::{fill, texts},
    },
    host::Host,
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
    let running: HashMap<_, _> = host
        .running_stores()
        .into_iter()
        .map(|r| (r.ctx.tenant_id(), r))
        .collect();
    if running.is_empty() {
        return Ok(());
    }
    let stores: Vec<_> = running.keys().copied().collect();
    let due = outbox::due(
        host.db().registry(),
        &stores,
        OUTBOX_PER_STORE,
        OUTBOX_BATCH,
    )
    .await?;
    for (outbox_id, tenant) in due {
        let Some(store) = running.get(&tenant) else {
            continue;
        };
        if let Err(error) = delivery::process(&store.bot, &store.ctx, outbox_id).await {
            tracing::warn!(store = %store.ctx.tenant().slug, outbox_id, error = format!("{error:#}"), "an outbox message was not sent; it will be retried");
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
/// through the outbox, in the same transaction that expired it.
pub async fn expire_due(host: &Host) -> anyhow::Result<()> {
    for store in host.running_stores() {
        let ctx = &store.ctx;
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
            let text =
                own.unwrap_or_else(|| fill(t.order_expired_notice, &[("code", &order.code)]));
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
                delivery::process(&store.bot, ctx, id).await.ok();
            }
        }
    }
    Ok(())
}

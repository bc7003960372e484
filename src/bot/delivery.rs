//! Delivering goods: the outbox messages of a store, and the goods of a paid order.

use std::{sync::Arc, time::Instant};

use futures::future::BoxFuture;
use teloxide::{
    prelude::*,
    types::{InputFile, ParseMode},
    utils::html::escape,
};

mod prepared;

use prepared::Prepared;

use super::{
    HandlerResult, StoreBot, StoreCtx, events,
    split::{MESSAGE_LIMIT, code_blocks, pack},
    texts::{Texts, fill},
    ui,
};
use crate::{
    db::TenantTx,
    service::payments::{Courier, Sending},
    store::{
        orders::{self, Order},
        outbox::{self, Claimed, Message},
        stock, templates,
    },
};

/// Sends one outbox message if it is still pending and nobody else holds it, then records
/// the outcome. Used by the outbox worker.
pub async fn process(bot: &StoreBot, ctx: &StoreCtx, outbox_id: i64) -> HandlerResult {
    send_batch(bot, ctx, &[outbox_id])
        .await?
        .into_iter()
        .next()
        .map_or(Ok(()), |(_, result)| result)
}

/// Sends the outbox messages `ids` (those still pending and not held by another sender), in
/// order, and records the outcomes; returns each claimed message's outcome.
///
/// The messages one change wrote are claimed together and their outcomes recorded together,
/// so a payment's three or four messages cost three transactions (the claim, the goods and
/// what preceded them, the notices after), not two each. The claim is a
/// lease: it is committed without waiting for the disk (as bookkeeping), since a claim lost
/// to a crash only lets the message be claimed again, which the crash of its sender allows
/// anyway. What the messages of a payment say (the payment, the order, its items and goods,
/// the store's texts) is read in the claim's transaction, each row once ([`prepared`]), so
/// the sends that follow ask the database nothing. The outcomes are committed durably, so a
/// message recorded sent is never sent again;
/// goods are recorded as soon as they are sent, and when the sends take half the lease
/// (Telegram's pacing), every outcome is, so that no other sender takes a sent message for a
/// lost one.
async fn send_batch(
    bot: &StoreBot,
    ctx: &StoreCtx,
    ids: &[i64],
) -> anyhow::Result<Vec<(Claimed, HandlerResult)>> {
    let tenant = ctx.tenant_id();
    let claimed_at = Instant::now();
    let mut tx = ctx.db.tenant_bookkeeping(tenant).await?;
    let claimed = outbox::claim(&mut tx, ids).await?;
    let ready = prepared::read(ctx, &mut tx, &claimed).await?;
    tx.commit().await?;
    send_claimed(bot, ctx, claimed_at, claimed, ready).await
}

/// Reads what `claimed` say in `tx`, the open transaction that wrote them already claimed by
/// this process ([`outbox::enqueue_claimed`]), and returns their sending, to be run once `tx`
/// has committed and dropped unrun if it does not: a message is never sent before the change
/// that wrote it is durable. The sending records the outcomes as [`send_batch`] does.
pub async fn prepare_claimed(
    bot: &StoreBot,
    ctx: &Arc<StoreCtx>,
    tx: &mut TenantTx,
    claimed: Vec<Claimed>,
) -> anyhow::Result<BoxFuture<'static, ()>> {
    // The lease began with the transaction, a little before this; the sends that follow
    // measure their share of it from here, which errs by that little only.
    let claimed_at = Instant::now();
    let ready = prepared::read(ctx, tx, &claimed).await?;
    let (bot, ctx) = (bot.clone(), Arc::clone(ctx));
    Ok(Box::pin(async move {
        report(send_claimed(&bot, &ctx, claimed_at, claimed, ready).await);
    }))
}

/// Sends claimed messages with what was read for them, in order, and records the outcomes.
async fn send_claimed(
    bot: &StoreBot,
    ctx: &StoreCtx,
    claimed_at: Instant,
    claimed: Vec<Claimed>,
    ready: Vec<Prepared>,
) -> anyhow::Result<Vec<(Claimed, HandlerResult)>> {
    let mut outcomes = Vec::with_capacity(claimed.len());
    let mut recorded = 0;
    for (message, ready) in claimed.into_iter().zip(ready) {
        let result = match ready {
            Prepared::AtSend => send(bot, ctx, &message).await,
            ready => ready.send(bot, ctx, message.chat_id).await,
        };
        let goods = matches!(message.message, Message::DeliverOrder { .. });
        outcomes.push((message, result));
        // Goods are recorded as soon as they are sent, whatever follows them: a notice held
        // up after them (by pacing, or a busy pool) must not leave them to be sent twice.
        if goods || claimed_at.elapsed() > outbox::LEASE / 2 {
            record(ctx, &outcomes[recorded..]).await?;
            recorded = outcomes.len();
        }
    }
    record(ctx, &outcomes[recorded..]).await?;
    Ok(outcomes)
}

/// Records the outcomes of sends in one transaction: sent, or failed and retried later.
async fn record(ctx: &StoreCtx, outcomes: &[(Claimed, HandlerResult)]) -> anyhow::Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let sent: Vec<&Claimed> = outcomes
        .iter()
        .filter(|(_, result)| result.is_ok())
        .map(|(message, _)| message)
        .collect();
    if !sent.is_empty() {
        let ids: Vec<i64> = sent.iter().map(|message| message.id).collect();
        let delivered: Vec<i64> = sent
            .iter()
            .filter_map(|message| match message.message {
                Message::DeliverOrder { order_id } => Some(order_id),
                _ => None,
            })
            .collect();
        outbox::mark_sent(&mut tx, &ids, &delivered).await?;
    }
    for (message, result) in outcomes {
        if let Err(error) = result {
            outbox::mark_failed(&mut tx, message, &format!("{error:#}")).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Sends outbox messages right after the commit that wrote them. A failure is logged and left
/// to the outbox worker, so one chat that cannot be reached never holds up the others.
pub async fn process_all(bot: &StoreBot, ctx: &StoreCtx, outbox: &[i64]) {
    report(send_batch(bot, ctx, outbox).await);
}

/// Logs what a fast path could not send; the outbox worker sends it later.
fn report(sent: anyhow::Result<Vec<(Claimed, HandlerResult)>>) {
    match sent {
        Ok(outcomes) => {
            for (message, result) in outcomes {
                if let Err(error) = result {
                    tracing::warn!(
                        outbox_id = message.id,
                        error = format!("{error:#}"),
                        "a message was not sent; the outbox retries it"
                    );
                }
            }
        }
        Err(error) => tracing::warn!(
            error = format!("{error:#}"),
            "messages were not sent; the outbox retries them"
        ),
    }
}

/// A running store's bot as the payment service's fast path: it sends the outbox rows a
/// change just committed; what fails stays in the outbox for the worker.
pub struct BotCourier(pub StoreBot);

impl Courier for BotCourier {
    fn send_now<'a>(&'a self, ctx: &'a StoreCtx, outbox: &'a [i64]) -> BoxFuture<'a, ()> {
        Box::pin(process_all(&self.0, ctx, outbox))
    }

    fn prepare<'a>(
        &'a self,
        ctx: &'a Arc<StoreCtx>,
        tx: &'a mut TenantTx,
        claimed: Vec<Claimed>,
    ) -> BoxFuture<'a, anyhow::Result<Sending>> {
        Box::pin(prepare_claimed(&self.0, ctx, tx, claimed))
    }
}

/// Sends a message that the claim's transaction did not read for ([`Prepared::AtSend`]): it
/// reads what it needs in transactions of its own.
async fn send(bot: &StoreBot, ctx: &StoreCtx, claimed: &Claimed) -> HandlerResult {
    match &claimed.message {
        Message::Text { text } => Ok(ui::send(
            bot,
            teloxide::types::ChatId(claimed.chat_id),
            text.clone(),
            None,
        )
        .await?),
        Message::LowStock { .. } | Message::TokenRestored { .. } => {
            super::notices::send(bot, ctx, claimed).await
        }
        Message::OrderRefunded { .. }
        | Message::BalanceAdjusted { .. }
        | Message::OrderCancelled { .. } => super::store_notices::send(bot, ctx, claimed).await,
        _ => super::payments::notify::send(bot, ctx, claimed).await,
    }
}

/// Goods that take more messages than this also arrive as one `.txt` file, which is easier to
/// copy from than a long run of messages.
const FILE_AFTER_MESSAGES: usize = 3;

/// Sends the goods of a paid order to its customer: whole items per message, split below
/// Telegram's limit (an item longer than a message is cut across messages), and a `.txt`
/// file of everything when the delivery is long.
pub async fn send_goods(bot: &StoreBot, ctx: &StoreCtx, t: &Texts, order: &Order) -> HandlerResult {
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let items = orders::items(&mut tx, order.id).await?;
    let goods = Goods::read(ctx, &mut tx, order, items).await?;
    tx.commit().await?;
    goods.send(bot, ctx, t, order).await
}

/// What a delivery sends, read in the caller's transaction.
struct Goods {
    items: Vec<orders::Item>,
    contents: Vec<(i64, String)>,
    own_footer: Option<String>,
}

impl Goods {
    /// The goods of `order`, whose `items` the caller has read.
    async fn read(
        ctx: &StoreCtx,
        tx: &mut TenantTx,
        order: &Order,
        items: Vec<orders::Item>,
    ) -> anyhow::Result<Self> {
        let tenant = ctx.tenant_id();
        let contents = stock::contents_of_order(tx, &ctx.sealer, tenant, order.id).await?;
        let own_footer = events::render(
            ctx,
            tx,
            templates::GOODS_DELIVERED,
            order.customer_id,
            Some(order),
        )
        .await?;
        Ok(Self {
            items,
            contents,
            own_footer,
        })
    }

    async fn send(self, bot: &StoreBot, ctx: &StoreCtx, t: &Texts, order: &Order) -> HandlerResult {
        let mut blocks = vec![fill(t.delivery_title, &[("code", &order.code)])];
        let mut file = String::new();
        for item in &self.items {
            blocks.push(format!("\n<b>{}</b>", escape(&item.product_name)));
            file.push_str(&format!("# {}\n", item.product_name));
            for (_, content) in self
                .contents
                .iter()
                .filter(|(product, _)| *product == item.product_id)
            {
                blocks.extend(code_blocks(content, MESSAGE_LIMIT));
                file.push_str(content);
                file.push('\n');
            }
            file.push('\n');
        }
        // The store's `goods_delivered` text closes the delivery in place of the bot's own line.
        blocks.push(format!(
            "\n{}",
            self.own_footer.as_deref().unwrap_or(t.delivery_footer)
        ));
        let messages = pack(blocks, MESSAGE_LIMIT);
        let chat = teloxide::types::ChatId(order.customer_id);
        let long = messages.len() > FILE_AFTER_MESSAGES;
        // Goods may be protected from forwarding and saving, as the store chose.
        let protect = ctx.tenant().settings.protect_content;
        for text in messages {
            bot.send_message(chat, text)
                .parse_mode(ParseMode::Html)
                .protect_content(protect)
                .await?;
        }
        if long {
            let document =
                InputFile::memory(file.into_bytes()).file_name(format!("{}.txt", order.code));
            bot.send_document(chat, document)
                .caption(fill(t.delivery_file_caption, &[("code", &order.code)]))
                .protect_content(protect)
                .await?;
        }
        Ok(())
    }
}

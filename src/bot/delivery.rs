//! Delivering goods: the outbox messages of a store, and the goods of a paid order.

use futures::future::BoxFuture;
use teloxide::{
    prelude::*,
    types::{InputFile, ParseMode},
    utils::html::escape,
};

use super::{
    HandlerResult, StoreBot, StoreCtx, events,
    split::{MESSAGE_LIMIT, code_blocks, pack},
    texts::{Texts, fill, texts},
    ui,
};
use crate::{
    service::payments::Courier,
    store::{
        orders::{self, Order},
        outbox::{self, Claimed, Message},
        stock, templates,
    },
};

/// Sends one outbox message if it is still pending and nobody else holds it, then records
/// the outcome. Used by the fast path right after a commit and by the outbox worker.
pub async fn process(bot: &StoreBot, ctx: &StoreCtx, outbox_id: i64) -> HandlerResult {
    let tenant = ctx.tenant_id();
    let mut tx = ctx.db.tenant(tenant).await?;
    let claimed = outbox::claim(&mut tx, outbox_id).await?;
    tx.commit().await?;
    let Some(claimed) = claimed else {
        return Ok(());
    };
    let result = send(bot, ctx, &claimed).await;
    let mut tx = ctx.db.tenant(tenant).await?;
    match &result {
        Ok(()) => {
            outbox::mark_sent(&mut tx, claimed.id).await?;
            if let Message::DeliverOrder { order_id } = claimed.message {
                orders::mark_delivered(&mut tx, order_id).await?;
            }
        }
        Err(error) => outbox::mark_failed(&mut tx, &claimed, &format!("{error:#}")).await?,
    }
    tx.commit().await?;
    result
}

/// A running store's bot as the payment service's fast path: it sends the outbox rows a
/// change just committed; what fails stays in the outbox for the worker.
pub struct BotCourier(pub StoreBot);

impl Courier for BotCourier {
    fn send_now<'a>(&'a self, ctx: &'a StoreCtx, outbox: &'a [i64]) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            for &id in outbox {
                if let Err(error) = process(&self.0, ctx, id).await {
                    tracing::warn!(
                        outbox_id = id,
                        error = format!("{error:#}"),
                        "a payment message was not sent; the outbox retries it"
                    );
                }
            }
        })
    }
}

async fn send(bot: &StoreBot, ctx: &StoreCtx, claimed: &Claimed) -> HandlerResult {
    let locale = ctx.locale_of(claimed.chat_id);
    match &claimed.message {
        Message::DeliverOrder { order_id } => {
            let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
            let order = orders::get(&mut tx, *order_id).await?;
            tx.commit().await?;
            match order {
                Some(order) => send_goods(bot, ctx, texts(locale), &order).await,
                None => Ok(()),
            }
        }
        Message::Text { text } => Ok(ui::send(
            bot,
            teloxide::types::ChatId(claimed.chat_id),
            text.clone(),
            None,
        )
        .await?),
        Message::OrderPaid { .. } | Message::LowStock { .. } | Message::TokenRestored { .. } => {
            super::notices::send(bot, ctx, claimed).await
        }
        Message::OrderRefunded { .. }
        | Message::BalanceAdjusted { .. }
        | Message::OrderCancelled { .. } => super::store_notices::send(bot, ctx, claimed).await,
        _ => super::payments::notify::send(bot, ctx, claimed).await,
    }
}

/// Sends outbox messages right after the commit that wrote them. A failure is logged and left
/// to the outbox worker, so one chat that cannot be reached never holds up the others.
pub async fn process_all(bot: &StoreBot, ctx: &StoreCtx, outbox: &[i64]) {
    for &id in outbox {
        if let Err(error) = process(bot, ctx, id).await {
            tracing::warn!(
                outbox_id = id,
                error = format!("{error:#}"),
                "a message was not sent; the outbox retries it"
            );
        }
    }
}

/// Goods that take more messages than this also arrive as one `.txt` file, which is easier to
/// copy from than a long run of messages.
const FILE_AFTER_MESSAGES: usize = 3;

/// Sends the goods of a paid order to its customer: whole items per message, split below
/// Telegram's limit (an item longer than a message is cut across messages), and a `.txt`
/// file of everything when the delivery is long.
pub async fn send_goods(bot: &StoreBot, ctx: &StoreCtx, t: &Texts, order: &Order) -> HandlerResult {
    let tenant = ctx.tenant_id();
    let mut tx = ctx.db.tenant(tenant).await?;
    let items = orders::items(&mut tx, order.id).await?;
    let goods = stock::contents_of_order(&mut tx, &ctx.sealer, tenant, order.id).await?;
    let own_footer = events::render(
        ctx,
        &mut tx,
        templates::GOODS_DELIVERED,
        order.customer_id,
        Some(order),
    )
    .await?;
    tx.commit().await?;
    let mut blocks = vec![fill(t.delivery_title, &[("code", &order.code)])];
    let mut file = String::new();
    for item in &items {
        blocks.push(format!("\n<b>{}</b>", escape(&item.product_name)));
        file.push_str(&format!("# {}\n", item.product_name));
        for (_, content) in goods
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
        own_footer.as_deref().unwrap_or(t.delivery_footer)
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

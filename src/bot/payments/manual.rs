//! `/lunas KODE`: an admin marks an order paid by hand (the customer paid another way while
//! the gateway was down). The goods go out as for any payment, and the audit log records it.

use teloxide::prelude::*;

use crate::{
    bot::{
        HandlerResult, StoreBot,
        texts::{Texts, fill, texts},
        ui::Reply,
    },
    service::payments::PayStore,
    store::{
        audit::Actor,
        outbox::{self, Message as Outgoing},
        payments::{self, Manual},
    },
};

/// Marks the order `code` paid, if the sender is one of the store's admins.
pub async fn mark_paid(
    bot: &StoreBot,
    msg: &Message,
    store: &PayStore,
    t: &Texts,
    code: &str,
) -> HandlerResult {
    let ctx = &store.ctx;
    let tenant = ctx.tenant();
    let admin = msg.from.as_ref().map_or(0, |u| u.id.0 as i64);
    let reply = |text: String| Reply::text(text).send(bot, msg.chat.id);
    if !tenant.is_admin(admin) {
        return reply(t.admins_only.to_owned()).await;
    }
    let code = code.trim().to_uppercase();
    if code.is_empty() {
        return reply(t.manual_usage.to_owned()).await;
    }
    let mut tx = ctx.db.tenant(tenant.id).await?;
    let outcome =
        match payments::mark_order_paid(&mut tx, tenant.id, &code, &Actor::Admin(admin)).await? {
            Manual::Paid { order, outbox } => Ok((order, outbox)),
            Manual::NotFound => Err(fill(t.manual_not_found, &[("code", &code)])),
            Manual::AlreadyPaid => Err(t.order_already_paid.to_owned()),
            Manual::SoldOut => Err(fill(t.manual_sold_out, &[("code", &code)])),
        };
    let (order, mut sends) = match outcome {
        Ok(paid) => paid,
        Err(text) => {
            // Nothing changed: give the connection back before Telegram is called.
            drop(tx);
            return reply(text).await;
        }
    };
    let customer_texts = texts(ctx.locale_of(order.customer_id));
    let notice = Outgoing::Text {
        text: fill(
            customer_texts.manual_paid_customer,
            &[("code", &order.code)],
        ),
    };
    let first = outbox::enqueue(&mut tx, tenant.id, order.customer_id, &notice, 30).await?;
    tx.commit().await?;
    ctx.catalog.invalidate_stock(tenant.id);
    tracing::info!(store = %tenant.slug, order = %order.code, admin, "order marked paid by hand");
    sends.insert(0, first);
    reply(fill(t.manual_paid_admin, &[("code", &order.code)])).await?;
    store.send_now(&sends).await;
    Ok(())
}

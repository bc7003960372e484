//! The staff's notices of the outbox, rendered when they are sent, in the reader's language:
//! a paid order (however it was paid), a product's stock at the low-stock threshold, and the
//! bot running again after Telegram refused its token.

use teloxide::{types::ChatId, utils::html::escape};

use super::{
    HandlerResult, StoreBot, StoreCtx,
    payments::notify::amount_paid,
    texts::{Texts, fill, texts},
    ui,
};
use crate::store::{
    money::rupiah,
    orders::{Item, Order},
    outbox::{Claimed, Message},
    payments::{Outcome, Payment},
};

/// Sends one staff notice of the outbox; other kinds are not for this module.
pub async fn send(bot: &StoreBot, ctx: &StoreCtx, claimed: &Claimed) -> HandlerResult {
    let t = texts(ctx.locale_of(claimed.chat_id));
    let text = match &claimed.message {
        Message::LowStock {
            name,
            available,
            threshold,
            ..
        } => fill(
            t.low_stock_notice,
            &[
                ("product", &escape(name)),
                ("available", &available.to_string()),
                ("threshold", &threshold.to_string()),
            ],
        ),
        Message::TokenRestored { since } => fill(
            t.token_restored_notice,
            &[("since", &ui::local_time(&ctx.tenant(), *since))],
        ),
        // `OrderPaid` is read with the batch it was claimed in (`bot::delivery`), then sent
        // by [`send_order_paid`].
        _ => return Ok(()),
    };
    Ok(ui::send(bot, ChatId(claimed.chat_id), text, None).await?)
}

/// A paid order as the staff read it, from what the outbox's batch read for it
/// (`bot::delivery`): the order, its items and the gateway's payment when there was one.
pub struct OrderPaid {
    pub order: Order,
    pub items: Vec<Item>,
    pub payment: Option<Payment>,
}

/// Tells a member of the staff that an order was paid.
pub async fn send_order_paid(
    bot: &StoreBot,
    ctx: &StoreCtx,
    chat: i64,
    read: &OrderPaid,
) -> HandlerResult {
    let text = order_paid(texts(ctx.locale_of(chat)), read);
    Ok(ui::send(bot, ChatId(chat), text, None).await?)
}

/// A paid order as the staff read it: code, how it was paid, the buyer, the items and the
/// amount.
fn order_paid(t: &Texts, read: &OrderPaid) -> String {
    let OrderPaid {
        order,
        items,
        payment,
    } = read;
    let method = match (&payment, order.payment_method.as_deref()) {
        (Some(_), _) | (None, Some("qris")) => t.method_qris,
        (None, Some("balance")) => t.method_balance,
        (None, Some("free")) => t.method_free,
        (None, _) => t.method_manual,
    };
    let amount = match &payment {
        Some(payment) => {
            let amount = amount_paid(t, payment, Some(order.total));
            // A payment that arrived after the invoice expired says so.
            let outcome = match payment.outcome {
                Some(Outcome::LateDelivered) => t.outcome_late_delivered,
                _ => t.outcome_delivered,
            };
            format!("{amount}\n{outcome}")
        }
        None => fill(t.amount_total, &[("total", &rupiah(order.total))]),
    };
    // A huge order's list is cut, so the notice still fits in one message.
    let mut lines = String::new();
    for item in items {
        let line = format!(
            "• {} × {} = {}",
            escape(&item.product_name),
            item.quantity,
            rupiah(item.unit_price * i64::from(item.quantity))
        );
        if lines.chars().count() + line.chars().count() > ITEMS_MAX_CHARS {
            lines.push_str("\n…");
            break;
        }
        if !lines.is_empty() {
            lines.push('\n');
        }
        lines.push_str(&line);
    }
    fill(
        t.order_paid_notice,
        &[
            ("code", &order.code),
            ("method", method),
            ("customer", &order.customer_id.to_string()),
            ("items", &lines),
            ("amount", &amount),
        ],
    )
}

/// Where the item list of a notice is cut (Telegram allows 4096 characters a message).
const ITEMS_MAX_CHARS: usize = 3000;

//! The customer's payment buttons and the deposit conversation.

use std::sync::Arc;

use teloxide::{
    prelude::*,
    types::{CallbackQuery, ChatId, InlineKeyboardMarkup},
};

use super::{
    PayStore,
    confirm::{self, Ending, Verdict},
    invoice::{self, Requested},
};
use crate::{
    bot::{
        CustomerDialogue, HandlerResult, StoreBot, StoreCtx,
        callbacks::Callback,
        customer::{Reply, checkout::not_payable, start, texts_for},
        dialogue::State,
        texts::{Texts, fill, menu_button},
        ui::{self, button},
    },
    store::{
        customers::Customer,
        money::rupiah,
        orders::Status as OrderStatus,
        payments::{self, Payment, Status},
        wallet,
    },
};

/// The largest top-up a customer can ask for in one invoice.
pub const DEPOSIT_MAXIMUM: i64 = 10_000_000;

/// Handles `💠 QRIS`, `🔄 Cek Status` and `❌ Batalkan` on an invoice.
pub async fn on_callback(
    bot: &StoreBot,
    q: &CallbackQuery,
    ctx: &Arc<StoreCtx>,
    t: &Texts,
    callback: Callback,
) -> HandlerResult {
    let customer = q.from.id.0 as i64;
    let store = PayStore {
        ctx: Arc::clone(ctx),
        bot: Some(bot.clone()),
    };
    match callback {
        Callback::PayQris { order } => pay_qris(bot, q, &store, t, customer, order).await,
        Callback::CheckPayment { payment } => {
            let Some(payment) = customers_payment(ctx, customer, payment).await? else {
                return Ok(ui::notice(bot, q, t.invoice_gone, true).await?);
            };
            let text = match payment.status {
                Status::Completed => t.payment_already_done,
                Status::Pending => match confirm::confirm(&store, &payment).await? {
                    Verdict::Settled(_) | Verdict::Already(_) => t.payment_already_done,
                    Verdict::NotPaid(_) => t.payment_pending,
                    Verdict::Mismatch(_) | Verdict::Unreachable => t.payment_check_failed,
                },
                _ => t.invoice_gone,
            };
            Ok(ui::notice(bot, q, text, true).await?)
        }
        Callback::CancelPayment { payment } => {
            let Some(payment) = customers_payment(ctx, customer, payment).await? else {
                return Ok(ui::notice(bot, q, t.invoice_gone, true).await?);
            };
            cancel(bot, q, &store, t, &payment).await
        }
        _ => Ok(()),
    }
}

/// Ends the customer's pending invoice and its order; the outbox tells them.
pub async fn cancel(
    bot: &StoreBot,
    q: &CallbackQuery,
    store: &PayStore,
    t: &Texts,
    payment: &Payment,
) -> HandlerResult {
    match confirm::end(store, payment, Status::Cancelled).await? {
        Ending::Closed(_) => Ok(ui::notice(bot, q, "", false).await?),
        Ending::Paid(_) => Ok(ui::notice(bot, q, t.payment_already_done, true).await?),
        Ending::NotPending(_) => Ok(ui::notice(bot, q, t.invoice_gone, true).await?),
        Ending::Unreachable => Ok(ui::notice(bot, q, t.cancel_failed, true).await?),
    }
}

async fn customers_payment(
    ctx: &StoreCtx,
    customer: i64,
    id: i64,
) -> anyhow::Result<Option<Payment>> {
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let payment = payments::get(&mut tx, id).await?;
    tx.commit().await?;
    Ok(payment.filter(|p| p.customer_id == customer))
}

async fn pay_qris(
    bot: &StoreBot,
    q: &CallbackQuery,
    store: &PayStore,
    t: &Texts,
    customer: i64,
    order: i64,
) -> HandlerResult {
    match invoice::for_order(store, bot, t, customer, order).await? {
        Requested::Sent(_) => Ok(ui::notice(bot, q, "", false).await?),
        Requested::GatewayDown => {
            let keyboard = InlineKeyboardMarkup::new([
                vec![button(t.retry_button, Callback::PayQris { order })],
                vec![button(t.pay_balance, Callback::PayBalance { order })],
                vec![button(t.cancel_order, Callback::Cancel { order })],
            ]);
            Reply::with(t.gateway_down.to_owned(), keyboard)
                .show(bot, q)
                .await
        }
        Requested::BelowMinimum => {
            let text = fill(
                t.qris_minimum,
                &[("minimum", &rupiah(crate::pakasir::client::MIN_AMOUNT))],
            );
            Ok(ui::notice(bot, q, &text, true).await?)
        }
        Requested::NotPayable(status) => {
            let text = not_payable(t, status.unwrap_or(OrderStatus::AwaitingPayment));
            Ok(ui::notice(bot, q, text, true).await?)
        }
    }
}

/// `💰 Deposit`: the balance, and the question how much to top up.
pub async fn deposit_menu(
    bot: &StoreBot,
    chat: ChatId,
    ctx: &StoreCtx,
    t: &Texts,
    dialogue: &CustomerDialogue,
) -> HandlerResult {
    let tenant = ctx.tenant();
    let mut tx = ctx.db.tenant(tenant.id).await?;
    let balance = wallet::balance(&mut tx, chat.0).await?;
    tx.commit().await?;
    let text = format!(
        "{}\n\n{}",
        fill(t.balance_line, &[("balance", &rupiah(balance))]),
        fill(
            t.deposit_prompt,
            &[("minimum", &rupiah(tenant.settings.deposit_minimum))]
        )
    );
    dialogue.update(State::EnteringDepositAmount).await?;
    Reply::text(text).send(bot, chat).await
}

/// The amount typed after `💰 Deposit`: a QRIS invoice for it, or the question again.
pub async fn deposit_amount_entered(
    bot: StoreBot,
    msg: Message,
    ctx: Arc<StoreCtx>,
    customer: Customer,
    dialogue: CustomerDialogue,
) -> HandlerResult {
    if msg.text().and_then(menu_button).is_some() {
        // The customer moved on to the menu instead of typing an amount.
        dialogue.exit().await?;
        return start::text(bot, msg, ctx, customer, dialogue).await;
    }
    let t = texts_for(&ctx, &customer);
    let minimum = ctx.tenant().settings.deposit_minimum;
    let amount = msg.text().and_then(parse_amount);
    let Some(amount) = amount.filter(|a| (minimum..=DEPOSIT_MAXIMUM).contains(a)) else {
        let text = fill(
            t.deposit_invalid,
            &[
                ("minimum", &rupiah(minimum)),
                ("maximum", &rupiah(DEPOSIT_MAXIMUM)),
            ],
        );
        return Reply::text(text).send(&bot, msg.chat.id).await;
    };
    let store = PayStore {
        ctx: Arc::clone(&ctx),
        bot: Some(bot.clone()),
    };
    match invoice::for_deposit(&store, &bot, t, msg.chat.id.0, amount).await? {
        Requested::Sent(_) => {
            dialogue.exit().await?;
            Ok(())
        }
        // The customer stays in the conversation and can type the amount again.
        _ => {
            Reply::text(t.gateway_down.to_owned())
                .send(&bot, msg.chat.id)
                .await
        }
    }
}

/// Reads an amount of rupiah as customers type it: `25000`, `25.000`, `Rp 25.000`.
pub fn parse_amount(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text
        .strip_prefix("Rp")
        .or_else(|| text.strip_prefix("rp"))
        .unwrap_or(text);
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, '.' | ',' | ' '))
        .collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 12 {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_amount;

    #[test]
    fn amounts_are_read_as_customers_type_them() {
        assert_eq!(parse_amount("25000"), Some(25_000));
        assert_eq!(parse_amount(" 25.000 "), Some(25_000));
        assert_eq!(parse_amount("Rp 1.250.000"), Some(1_250_000));
        for bad in ["", "abc", "25k", "-5000", "1e5", "9999999999999"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }
}

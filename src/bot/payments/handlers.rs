//! The customer's buttons on an invoice: pay by QRIS, check its status, cancel it.

use std::sync::Arc;

use teloxide::types::{CallbackQuery, InlineKeyboardMarkup};

use super::{
    invoice::{self, Asked, Creation, Requested},
    pay_store,
};
use crate::{
    bot::{
        HandlerResult, StoreBot, StoreCtx,
        callbacks::Callback,
        texts::{Texts, fill},
        ui::{self, Reply, button},
    },
    service::payments::{self as service, Ending, PayStore, Verdict},
    store::{
        money::rupiah,
        orders::Status as OrderStatus,
        payments::{self, Payment, Status},
    },
};

/// Handles `💠 QRIS`, `🔄 Cek Status` and `❌ Batalkan` on an invoice.
pub async fn on_callback(
    bot: &StoreBot,
    q: &CallbackQuery,
    ctx: &Arc<StoreCtx>,
    t: &'static Texts,
    callback: Callback,
) -> HandlerResult {
    let customer = q.from.id.0 as i64;
    let store = pay_store(bot, ctx);
    match callback {
        Callback::PayQris { order } => pay_qris(bot, q, &store, t, customer, order).await,
        Callback::CheckPayment { payment } => {
            let Some(payment) = customers_payment(ctx, customer, payment).await? else {
                return Ok(ui::notice(bot, q, t.invoice_gone, true).await?);
            };
            let text = match payment.status {
                Status::Completed => t.payment_already_done,
                Status::Pending => match service::confirm(&store, &payment).await? {
                    Verdict::Settled(_) | Verdict::Already(_) => t.payment_already_done,
                    Verdict::NotPaid(_) => t.payment_pending,
                    Verdict::Mismatch(_) | Verdict::Unreachable => t.payment_check_failed,
                },
                // Closed here, but perhaps paid at the last moment: Pakasir is asked, not only
                // our records; what it settles is told through the outbox.
                Status::Expired | Status::Cancelled => {
                    match service::last_look(&store, &payment).await? {
                        Some(Verdict::Settled(_) | Verdict::Already(_)) => t.payment_already_done,
                        Some(Verdict::Unreachable) => t.payment_check_failed,
                        Some(_) | None => t.invoice_gone,
                    }
                }
                Status::Review => t.payment_in_review,
                Status::Failed => t.invoice_gone,
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
    match service::end(store, payment, Status::Cancelled).await? {
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
    t: &'static Texts,
    customer: i64,
    order: i64,
) -> HandlerResult {
    let wanted = match invoice::for_order(store, bot, t, customer, order).await? {
        Asked::Answered(done) => return answer(bot, q, t, order, done, true).await,
        Asked::Create(wanted) => wanted,
    };
    // Pakasir may take many seconds to make an invoice. The button is answered now and the
    // invoice made off the update path; the photo follows when it is ready.
    let creation = Creation::begin(store, customer, wanted);
    ui::notice(bot, q, t.invoice_in_progress, false).await?;
    if let Some(creation) = creation {
        let (reply_bot, q) = (bot.clone(), q.clone());
        creation.finish_soon(bot, t, move |outcome| async move {
            answer(&reply_bot, &q, t, order, outcome?, false).await
        });
    }
    Ok(())
}

/// Tells the customer what became of asking for an order's invoice: on the button itself
/// while it is unanswered (`fresh`), in the chat once it was answered.
async fn answer(
    bot: &StoreBot,
    q: &CallbackQuery,
    t: &Texts,
    order: i64,
    done: Requested,
    fresh: bool,
) -> HandlerResult {
    let text = match done {
        Requested::Sent(_) if fresh => return Ok(ui::notice(bot, q, "", false).await?),
        Requested::Sent(_) => return Ok(()),
        Requested::GatewayDown => {
            let keyboard = InlineKeyboardMarkup::new([
                vec![button(t.retry_button, Callback::PayQris { order })],
                vec![button(t.pay_balance, Callback::PayBalance { order })],
                vec![button(t.cancel_order, Callback::Cancel { order })],
            ]);
            let reply = Reply::with(t.gateway_down.to_owned(), keyboard);
            return if fresh {
                reply.show(bot, q).await
            } else {
                reply.edit(bot, q).await
            };
        }
        Requested::BelowMinimum => fill(
            t.qris_minimum,
            &[("minimum", &rupiah(crate::pakasir::client::MIN_AMOUNT))],
        ),
        Requested::Blocked => t.customer_blocked.to_owned(),
        Requested::InReview => t.payment_in_review.to_owned(),
        Requested::NotPayable(status) => {
            not_payable(t, status.unwrap_or(OrderStatus::AwaitingPayment)).to_owned()
        }
    };
    if fresh {
        Ok(ui::notice(bot, q, &text, true).await?)
    } else {
        Reply::text(text).send(bot, ui::chat_of(q)).await
    }
}

/// Why an order cannot be paid (or cancelled) now, in words for the customer.
pub fn not_payable(t: &Texts, status: OrderStatus) -> &str {
    match status {
        OrderStatus::Paid | OrderStatus::Delivered => t.order_already_paid,
        OrderStatus::Cancelled => t.order_already_cancelled,
        OrderStatus::Expired => t.order_already_expired,
        OrderStatus::AwaitingPayment => t.order_not_found,
    }
}

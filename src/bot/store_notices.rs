//! The outbox messages that tell a customer what the store did to their order or money: an
//! unpaid order cancelled, a refund of an order to their balance, an adjustment of their
//! balance by an admin. Rendered when sent, in the customer's language, from the rows the
//! change wrote.

use teloxide::{types::ChatId, utils::html::escape};

use super::{
    HandlerResult, StoreBot, StoreCtx,
    texts::{fill, texts},
    ui,
};
use crate::store::{
    customers::admin::ledger_entry,
    money::rupiah,
    orders::{self, admin::refund_of},
    outbox::{Claimed, Message},
    wallet,
};

/// Sends one such notice; other kinds are not for this module.
pub async fn send(bot: &StoreBot, ctx: &StoreCtx, claimed: &Claimed) -> HandlerResult {
    let t = texts(ctx.locale_of(claimed.chat_id));
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let text = match claimed.message {
        Message::OrderRefunded { order_id } => {
            let Some(refund) = refund_of(&mut tx, order_id).await? else {
                return Ok(());
            };
            let balance = wallet::balance(&mut tx, claimed.chat_id).await?;
            let notice = fill(
                t.order_refunded_notice,
                &[
                    ("code", &refund.code),
                    ("amount", &rupiah(refund.amount)),
                    ("balance", &rupiah(balance)),
                ],
            );
            // The admin's words reach the buyer as text, never as markup.
            match refund.reason {
                Some(reason) => {
                    notice + &fill(t.refund_reason_line, &[("reason", &escape(&reason))])
                }
                None => notice,
            }
        }
        Message::OrderCancelled { order_id } => {
            let Some(order) = orders::get(&mut tx, order_id).await? else {
                return Ok(());
            };
            fill(t.order_cancelled_by_store, &[("code", &order.code)])
        }
        Message::BalanceAdjusted { ledger_id } => {
            let Some((amount, balance, reason)) = ledger_entry(&mut tx, ledger_id).await? else {
                return Ok(());
            };
            let signed = if amount > 0 {
                format!("+{}", rupiah(amount))
            } else {
                format!("-{}", rupiah(-amount))
            };
            fill(
                t.balance_adjusted_notice,
                &[
                    ("amount", &signed),
                    ("balance", &rupiah(balance)),
                    ("reason", &escape(reason.as_deref().unwrap_or("-"))),
                ],
            )
        }
        _ => return Ok(()),
    };
    tx.commit().await?;
    Ok(ui::send(bot, ChatId(claimed.chat_id), text, None).await?)
}

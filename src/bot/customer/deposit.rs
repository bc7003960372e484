//! `💰 Deposit`: the customer's balance and the conversation that tops it up with a QRIS
//! invoice.

use std::sync::Arc;

use teloxide::{prelude::*, types::ChatId};

use super::{Reply, start, texts_for};
use crate::{
    bot::{
        CustomerDialogue, HandlerResult, StoreBot, StoreCtx,
        dialogue::State,
        payments::{
            invoice::{self, Requested},
            pay_store,
        },
        texts::{Texts, fill, menu_button},
    },
    store::{
        customers::{Customer, admin as customer_admin},
        money::rupiah,
        wallet,
    },
};

/// The largest top-up a customer can ask for in one invoice.
pub const DEPOSIT_MAXIMUM: i64 = 10_000_000;

/// `💰 Deposit`: the balance, and the question how much to top up.
pub async fn deposit_menu(
    bot: &StoreBot,
    chat: ChatId,
    ctx: &Arc<StoreCtx>,
    t: &Texts,
    dialogue: &CustomerDialogue,
) -> HandlerResult {
    let tenant = ctx.tenant();
    let mut tx = ctx.db.tenant(tenant.id).await?;
    let balance = wallet::balance(&mut tx, chat.0).await?;
    let blocked = customer_admin::is_blocked(&mut tx, chat.0).await?;
    tx.commit().await?;
    if blocked {
        return Reply::text(t.customer_blocked.to_owned())
            .send(bot, chat)
            .await;
    }
    // A deposit invoice still open is shown again rather than a new one asked for.
    match invoice::show_open_deposit(&pay_store(bot, ctx), bot, t, chat.0).await? {
        Some(Requested::GatewayDown) => {
            return Reply::text(t.gateway_down.to_owned()).send(bot, chat).await;
        }
        Some(_) => return Ok(()),
        None => {}
    }
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
    // The deposit's messages name the customer: their row must not wait for the next flush.
    ctx.customers
        .settle_now(&ctx.db, ctx.tenant_id(), msg.chat.id.0)
        .await?;
    let store = pay_store(&bot, &ctx);
    match invoice::for_deposit(&store, &bot, t, msg.chat.id.0, amount).await? {
        Requested::Sent(_) => {
            dialogue.exit().await?;
            Ok(())
        }
        Requested::Blocked => {
            dialogue.exit().await?;
            Reply::text(t.customer_blocked.to_owned())
                .send(&bot, msg.chat.id)
                .await
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

//! `💰 Deposit`: the customer's balance and the conversation that tops it up with a QRIS
//! invoice.

use std::sync::Arc;

use teloxide::{
    payloads::EditMessageTextSetters,
    prelude::*,
    types::{ChatId, ParseMode},
};

use super::{Reply, start, texts_for};
use crate::{
    bot::{
        CustomerDialogue, HandlerResult, StoreBot, StoreCtx,
        dialogue::{DepositPrompt, State, TenantDialogues},
        payments::{
            invoice::{self, Asked, Creation, Requested},
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
    if invoice::show_open_deposit(&pay_store(bot, ctx), bot, t, chat.0)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let text = format!(
        "{}\n\n{}",
        fill(t.balance_line, &[("balance", &rupiah(balance))]),
        fill(
            t.deposit_prompt,
            &[("minimum", &rupiah(tenant.settings.deposit_minimum))]
        )
    );
    dialogue
        .update(State::EnteringDepositAmount {
            prompt: DepositPrompt::new(),
        })
        .await?;
    Reply::text(text).send(bot, chat).await
}

/// The amount typed after `💰 Deposit` (in its `prompt`): a QRIS invoice for it, or the
/// question again.
pub async fn deposit_amount_entered(
    bot: StoreBot,
    msg: Message,
    ctx: Arc<StoreCtx>,
    customer: Customer,
    dialogue: CustomerDialogue,
    dialogues: Arc<TenantDialogues>,
    prompt: DepositPrompt,
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
    let (store, chat) = (pay_store(&bot, &ctx), msg.chat.id);
    let wanted = match invoice::for_deposit(&store, &bot, t, chat.0, amount).await? {
        Asked::Create(wanted) => wanted,
        Asked::Answered(done) => return answer(&bot, chat, t, &dialogue, amount, done).await,
    };
    let Some(creation) = Creation::begin(&store, chat.0, wanted) else {
        // The amount typed again while Pakasir makes the first invoice asks for nothing more.
        return Reply::text(t.invoice_in_progress.to_owned())
            .send(&bot, chat)
            .await;
    };
    // Pakasir may take many seconds to make the invoice: the customer is answered now, and
    // this message is edited once the invoice photo is sent below it (or Pakasir failed).
    let waiting = bot.send_message(chat, t.invoice_in_progress).await?;
    let reply_bot = bot.clone();
    creation.finish_soon(&bot, t, move |outcome| async move {
        let done = match outcome {
            Ok(done) => done,
            Err(error) => {
                let failed = fill(t.deposit_failed, &[("amount", &rupiah(amount))]);
                edit(&reply_bot, &waiting, failed).await;
                return Err(error);
            }
        };
        let text = match &done {
            Requested::Sent(_) => fill(t.deposit_invoice_ready, &[("amount", &rupiah(amount))]),
            Requested::Blocked => t.customer_blocked.to_owned(),
            _ => fill(t.deposit_failed, &[("amount", &rupiah(amount))]),
        };
        edit(&reply_bot, &waiting, text).await;
        // The customer stays in the conversation after a failure, to type the amount again.
        // Only the prompt this amount answered ends: a customer who pressed `💰 Deposit` again
        // while the invoice was being made is in a new prompt, which is theirs to answer.
        if matches!(done, Requested::Sent(_) | Requested::Blocked) {
            dialogues
                .end_if(chat, &State::EnteringDepositAmount { prompt })
                .await?;
        }
        Ok(())
    });
    Ok(())
}

/// Tells the customer what the quick part of a top-up came to.
async fn answer(
    bot: &StoreBot,
    chat: ChatId,
    t: &Texts,
    dialogue: &CustomerDialogue,
    amount: i64,
    done: Requested,
) -> HandlerResult {
    match done {
        Requested::Sent(_) => Ok(dialogue.exit().await?),
        Requested::Blocked => {
            dialogue.exit().await?;
            Reply::text(t.customer_blocked.to_owned())
                .send(bot, chat)
                .await
        }
        // The customer stays in the conversation and can type the amount again.
        _ => {
            let failed = fill(t.deposit_failed, &[("amount", &rupiah(amount))]);
            Reply::text(failed).send(bot, chat).await
        }
    }
}

/// Replaces the text of the top-up's "one moment" message. Best effort: should Telegram refuse
/// (the customer deleted it), the invoice photo or the next message says what happened anyway.
async fn edit(bot: &StoreBot, waiting: &Message, text: String) {
    let edited = bot
        .edit_message_text(waiting.chat.id, waiting.id, text)
        .parse_mode(ParseMode::Html)
        .await;
    if let Err(error) = edited {
        tracing::debug!(%error, "could not edit the top-up's waiting message");
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

//! What a customer does in a store's bot.

use std::sync::Arc;

use teloxide::{
    prelude::*,
    types::{KeyboardButton, KeyboardMarkup, KeyboardRemove, ParseMode},
    utils::command::BotCommands,
};

use super::{
    CustomerDialogue, HandlerResult, StoreBot, StoreCtx,
    dialogue::State,
    texts::{self, texts},
};
use crate::{store::customers::Customer, tenants::model::Locale};

/// The commands customers can send.
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    /// The welcome and main menu; a deep-link payload is accepted and ignored.
    Start(String),
    /// Choose the bot's language.
    Language,
    /// The Indonesian name of the same command.
    Bahasa,
    Help,
}

/// The language to answer `customer` in.
pub fn locale_of(ctx: &StoreCtx, customer: &Customer) -> Locale {
    customer.language.unwrap_or(ctx.tenant().locale)
}

/// Answers a command; any command also ends an unfinished conversation.
pub async fn command(
    bot: StoreBot,
    msg: Message,
    cmd: Command,
    ctx: Arc<StoreCtx>,
    customer: Customer,
    dialogue: CustomerDialogue,
) -> HandlerResult {
    match cmd {
        Command::Start(_) => {
            if dialogue.get().await?.is_some_and(|s| s != State::Idle) {
                dialogue.exit().await?;
            }
            welcome(&bot, &msg, &ctx, &customer).await
        }
        Command::Language | Command::Bahasa => {
            ask_language(&bot, &msg, &ctx, &customer, &dialogue).await
        }
        Command::Help => {
            bot.send_message(msg.chat.id, texts(locale_of(&ctx, &customer)).help)
                .await?;
            Ok(())
        }
    }
}

/// Sends exactly one branded welcome.
async fn welcome(
    bot: &StoreBot,
    msg: &Message,
    ctx: &StoreCtx,
    customer: &Customer,
) -> HandlerResult {
    let tenant = ctx.tenant();
    let text = texts::welcome(&tenant, locale_of(ctx, customer));
    bot.send_message(msg.chat.id, text)
        .parse_mode(ParseMode::Html)
        .reply_markup(KeyboardRemove::new())
        .await?;
    Ok(())
}

async fn ask_language(
    bot: &StoreBot,
    msg: &Message,
    ctx: &StoreCtx,
    customer: &Customer,
    dialogue: &CustomerDialogue,
) -> HandlerResult {
    let t = texts(locale_of(ctx, customer));
    let keyboard = KeyboardMarkup::new([
        [KeyboardButton::new(t.language_button_id)],
        [KeyboardButton::new(t.language_button_en)],
    ])
    .resize_keyboard()
    .one_time_keyboard();
    bot.send_message(msg.chat.id, t.choose_language)
        .reply_markup(keyboard)
        .await?;
    dialogue.update(State::ChoosingLanguage).await?;
    Ok(())
}

/// The answer to the language question.
pub async fn language_chosen(
    bot: StoreBot,
    msg: Message,
    ctx: Arc<StoreCtx>,
    customer: Customer,
    dialogue: CustomerDialogue,
) -> HandlerResult {
    let Some(choice) = msg.text().and_then(texts::language_from_button) else {
        let t = texts(locale_of(&ctx, &customer));
        bot.send_message(msg.chat.id, t.language_unknown).await?;
        return Ok(());
    };
    let user = msg.from.as_ref().map_or(msg.chat.id.0, |u| u.id.0 as i64);
    ctx.customers
        .set_language(&ctx.db, ctx.tenant_id(), user, choice)
        .await?;
    dialogue.exit().await?;
    bot.send_message(msg.chat.id, texts(choice).language_saved)
        .reply_markup(KeyboardRemove::new())
        .await?;
    Ok(())
}

/// Text that no command, button or conversation expects.
pub async fn unknown(
    bot: StoreBot,
    msg: Message,
    ctx: Arc<StoreCtx>,
    customer: Customer,
) -> HandlerResult {
    bot.send_message(msg.chat.id, texts(locale_of(&ctx, &customer)).unknown_input)
        .await?;
    Ok(())
}

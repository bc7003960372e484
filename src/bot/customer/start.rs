//! Commands, the welcome, the main menu and the language choice.

use std::sync::Arc;

use teloxide::{
    prelude::*,
    types::{KeyboardButton, KeyboardMarkup, ParseMode},
    utils::command::BotCommands,
};

use super::{Reply, browse, checkout, texts_for};
use crate::{
    bot::{
        CustomerDialogue, HandlerResult, StoreBot, StoreCtx,
        dialogue::State,
        events,
        texts::{self, MenuButton, Texts, fill, texts},
        ui,
    },
    store::{customers::Customer, templates},
    tenants::model::Locale,
};

/// The commands customers can send.
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    /// The welcome and main menu; a deep-link payload is accepted and ignored.
    Start(String),
    /// The customer's cart.
    Cart,
    /// The customer's orders.
    Orders,
    /// Choose the bot's language.
    Language,
    /// The Indonesian name of the same command.
    Bahasa,
    Help,
    /// Ends the conversation in progress (a question the bot asked), changing nothing.
    Batal,
    /// The English name of the same command.
    Cancel,
    /// Admins: mark an order paid by hand (`/lunas KODE`).
    Lunas(String),
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
    if !matches!(cmd, Command::Language | Command::Bahasa)
        && dialogue.get().await?.is_some_and(|s| s != State::Idle)
    {
        dialogue.exit().await?;
    }
    let t = texts_for(&ctx, &customer);
    let customer_id = msg.chat.id.0;
    match cmd {
        Command::Start(_) => welcome(&bot, &msg, &ctx, &customer).await,
        Command::Cart => {
            super::cart::render(t, &super::cart::load(&ctx, customer_id).await?)
                .send(&bot, msg.chat.id)
                .await
        }
        Command::Orders => {
            checkout::history(&ctx, t, customer_id)
                .await?
                .send(&bot, msg.chat.id)
                .await
        }
        Command::Language | Command::Bahasa => ask_language(&bot, &msg, t, &dialogue).await,
        Command::Help => Reply::text(t.help.to_owned()).send(&bot, msg.chat.id).await,
        // Any command ended the conversation above; these two only say so.
        Command::Batal | Command::Cancel => {
            Reply::text(t.dialogue_cancelled.to_owned())
                .send(&bot, msg.chat.id)
                .await
        }
        Command::Lunas(code) => {
            let store = crate::bot::payments::PayStore {
                ctx: Arc::clone(&ctx),
                bot: Some(bot.clone()),
            };
            crate::bot::payments::manual::mark_paid(&bot, &msg, &store, t, &code).await
        }
    }
}

/// The main keyboard; admins also get the admin button.
fn main_keyboard(t: &Texts, admin: bool) -> KeyboardMarkup {
    let mut rows = vec![
        vec![
            KeyboardButton::new(t.menu_products),
            KeyboardButton::new(t.menu_stock),
        ],
        vec![
            KeyboardButton::new(t.menu_deposit),
            KeyboardButton::new(t.menu_info),
        ],
        vec![KeyboardButton::new(t.menu_how_to)],
    ];
    if admin {
        rows.push(vec![KeyboardButton::new(t.menu_admin)]);
    }
    KeyboardMarkup::new(rows).resize_keyboard()
}

/// Sends exactly one branded welcome, with the store's stats and the main keyboard.
async fn welcome(
    bot: &StoreBot,
    msg: &Message,
    ctx: &StoreCtx,
    customer: &Customer,
) -> HandlerResult {
    let tenant = ctx.tenant();
    let locale = locale_of(ctx, customer);
    let t = texts(locale);
    let catalog = ctx.catalog.get(&ctx.db, tenant.id).await?;
    let stats = fill(
        t.welcome_stats,
        &[
            ("customers", &catalog.customers.to_string()),
            ("sold", &catalog.items_sold().to_string()),
        ],
    );
    let first_name = msg.from.as_ref().map(|u| u.first_name.as_str());
    let own = events::render_cached(ctx, templates::WELCOME, msg.chat.id.0, first_name).await?;
    let text = format!("{}\n\n{stats}", texts::welcome(&tenant, locale, own));
    let admin = msg
        .from
        .as_ref()
        .is_some_and(|u| tenant.is_admin(u.id.0 as i64));
    bot.send_message(msg.chat.id, text)
        .parse_mode(ParseMode::Html)
        .reply_markup(main_keyboard(t, admin))
        .await?;
    Ok(())
}

async fn ask_language(
    bot: &StoreBot,
    msg: &Message,
    t: &Texts,
    dialogue: &CustomerDialogue,
) -> HandlerResult {
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
        let t = texts_for(&ctx, &customer);
        bot.send_message(msg.chat.id, t.language_unknown).await?;
        return Ok(());
    };
    ctx.customers
        .set_language(&ctx.db, ctx.tenant_id(), msg.chat.id.0, choice)
        .await?;
    dialogue.exit().await?;
    let tenant = ctx.tenant();
    let admin = msg
        .from
        .as_ref()
        .is_some_and(|u| tenant.is_admin(u.id.0 as i64));
    let t = texts(choice);
    bot.send_message(msg.chat.id, t.language_saved)
        .reply_markup(main_keyboard(t, admin))
        .await?;
    Ok(())
}

/// Text outside a conversation: a main-menu button, or something the bot does not know.
pub async fn text(
    bot: StoreBot,
    msg: Message,
    ctx: Arc<StoreCtx>,
    customer: Customer,
    dialogue: CustomerDialogue,
) -> HandlerResult {
    let t = texts_for(&ctx, &customer);
    let chat = msg.chat.id;
    let tenant = ctx.tenant();
    match msg.text().and_then(texts::menu_button) {
        Some(MenuButton::Products) => {
            let catalog = ctx.catalog.get(&ctx.db, tenant.id).await?;
            browse::categories(t, &catalog).send(&bot, chat).await
        }
        Some(MenuButton::Stock) => {
            let catalog = ctx.catalog.get(&ctx.db, tenant.id).await?;
            browse::stock_board(t, &catalog).send(&bot, chat).await
        }
        Some(MenuButton::Deposit) => {
            crate::bot::payments::handlers::deposit_menu(&bot, chat, &ctx, t, &dialogue).await
        }
        Some(MenuButton::Info) => template(&bot, &ctx, &msg, templates::INFO, t.info_default).await,
        Some(MenuButton::HowTo) => {
            template(&bot, &ctx, &msg, templates::HOW_TO_ORDER, t.how_to_default).await
        }
        Some(MenuButton::Admin)
            if msg
                .from
                .as_ref()
                .is_some_and(|u| tenant.is_admin(u.id.0 as i64)) =>
        {
            crate::bot::admin::menu_button(bot, &msg, ctx, dialogue).await
        }
        _ => {
            Reply::text(t.unknown_input.to_owned())
                .send(&bot, chat)
                .await
        }
    }
}

/// The store's own text, filled for the customer, or the bot's default.
async fn template(
    bot: &StoreBot,
    ctx: &StoreCtx,
    msg: &Message,
    name: &str,
    default: &str,
) -> HandlerResult {
    let first_name = msg.from.as_ref().map(|u| u.first_name.as_str());
    let own = events::render_cached(ctx, name, msg.chat.id.0, first_name).await?;
    let text = own.unwrap_or_else(|| default.to_owned());
    Ok(ui::send(bot, msg.chat.id, text, None).await?)
}

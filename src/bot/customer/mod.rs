//! What a customer does in a store's bot.
//!
//! - `start.rs`: commands, the welcome, the main menu, language choice.
//! - `browse.rs`: categories, products, the stock board.
//! - `cart.rs`: the cart and coupons.
//! - `checkout.rs`: checkout, payment from balance, cancelling, order history.

pub mod browse;
pub mod cart;
pub mod checkout;
pub mod start;

use std::sync::Arc;

use teloxide::{
    RequestError,
    prelude::*,
    types::{CallbackQuery, ChatId, InlineKeyboardMarkup},
};

pub use start::{Command, command, language_chosen};

use super::{
    CustomerDialogue, HandlerResult, StoreBot, StoreCtx,
    callbacks::Callback,
    payments,
    texts::{Texts, texts},
    ui,
};
use crate::store::customers::Customer;

/// A message to show: text and, optionally, inline buttons.
pub struct Reply {
    pub text: String,
    pub keyboard: Option<InlineKeyboardMarkup>,
}

impl Reply {
    pub fn text(text: String) -> Self {
        Self {
            text,
            keyboard: None,
        }
    }

    pub fn with(text: String, keyboard: InlineKeyboardMarkup) -> Self {
        Self {
            text,
            keyboard: Some(keyboard),
        }
    }

    pub async fn send(self, bot: &StoreBot, chat: ChatId) -> HandlerResult {
        Ok(ui::send(bot, chat, self.text, self.keyboard.map(Into::into)).await?)
    }

    /// Replaces the button's message (answering the button).
    pub async fn show(self, bot: &StoreBot, q: &CallbackQuery) -> HandlerResult {
        Ok(ui::show(bot, q, self.text, self.keyboard.unwrap_or_default()).await?)
    }

    /// Replaces the button's message when the button was already answered.
    pub async fn edit(self, bot: &StoreBot, q: &CallbackQuery) -> HandlerResult {
        let Some(message) = q.regular_message() else {
            return self.send(bot, ui::chat_of(q)).await;
        };
        let request = bot
            .edit_message_text(message.chat.id, message.id, self.text)
            .parse_mode(teloxide::types::ParseMode::Html)
            .reply_markup(self.keyboard.unwrap_or_default());
        match request.await {
            Ok(_) | Err(RequestError::Api(_)) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

/// The catalogue for `customer`.
pub fn texts_for(ctx: &StoreCtx, customer: &Customer) -> &'static Texts {
    texts(start::locale_of(ctx, customer))
}

/// Routes every inline button.
pub async fn callback(
    bot: StoreBot,
    q: CallbackQuery,
    ctx: Arc<StoreCtx>,
    customer: Customer,
    dialogue: CustomerDialogue,
) -> HandlerResult {
    if let Some(data) = q
        .data
        .as_deref()
        .filter(|d| d.starts_with(super::admin::PREFIX))
    {
        return super::admin::on_callback(bot.clone(), &q, ctx, dialogue, data).await;
    }
    let t = texts_for(&ctx, &customer);
    let Some(callback) = q.data.as_deref().and_then(Callback::parse) else {
        return Ok(ui::notice(&bot, &q, t.stale_button, true).await?);
    };
    match callback {
        Callback::Noop => Ok(ui::notice(&bot, &q, "", false).await?),
        Callback::Categories | Callback::Category { .. } | Callback::Product { .. } => {
            browse::on_callback(&bot, &q, &ctx, t, callback).await
        }
        Callback::Add { .. }
        | Callback::Cart
        | Callback::CartQty { .. }
        | Callback::CartClear
        | Callback::Coupon => cart::on_callback(&bot, &q, &ctx, t, &dialogue, callback).await,
        Callback::PayQris { .. }
        | Callback::CheckPayment { .. }
        | Callback::CancelPayment { .. } => {
            payments::handlers::on_callback(&bot, &q, &ctx, t, callback).await
        }
        Callback::SnkFulfil { .. } | Callback::SnkApprove { .. } | Callback::SnkReject { .. } => {
            crate::bot::snk::on_callback(&bot, &q, &ctx, t, &dialogue, callback).await
        }
        Callback::Checkout
        | Callback::AcceptPrices
        | Callback::PayBalance { .. }
        | Callback::Cancel { .. }
        | Callback::Orders
        | Callback::Order { .. }
        | Callback::Resend { .. } => checkout::on_callback(&bot, &q, &ctx, t, callback).await,
    }
}

/// The code typed after "🏷 Kupon".
pub async fn coupon_entered(
    bot: StoreBot,
    msg: Message,
    ctx: Arc<StoreCtx>,
    customer: Customer,
    dialogue: CustomerDialogue,
) -> HandlerResult {
    let t = texts_for(&ctx, &customer);
    cart::coupon_entered(&bot, &msg, &ctx, t, &dialogue).await
}

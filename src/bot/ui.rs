//! Small helpers every handler uses to talk: send, edit in place, answer a button, format, and
//! [`Reply`], a message to show that customer and payment screens share.

use teloxide::{
    ApiError, RequestError,
    payloads::{EditMessageTextSetters, SendMessageSetters},
    prelude::*,
    types::{
        CallbackQuery, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, ParseMode, ReplyMarkup,
    },
};
use time::OffsetDateTime;

use super::{HandlerResult, StoreBot, callbacks::Callback};
use crate::tenants::model::Tenant;

/// Sends an HTML message.
pub async fn send(
    bot: &StoreBot,
    chat: ChatId,
    text: String,
    markup: Option<ReplyMarkup>,
) -> Result<(), RequestError> {
    let mut request = bot.send_message(chat, text).parse_mode(ParseMode::Html);
    if let Some(markup) = markup {
        request = request.reply_markup(markup);
    }
    request.await?;
    Ok(())
}

/// Shows `text` in place of the message a button belongs to (or as a new message when that
/// message is gone), and answers the button so the client stops its spinner. The answer and
/// the new text are two calls to Telegram made at once: the customer sees the page one round
/// trip sooner than if one waited for the other.
pub async fn show(
    bot: &StoreBot,
    q: &CallbackQuery,
    text: String,
    keyboard: InlineKeyboardMarkup,
) -> Result<(), RequestError> {
    let (answered, shown) = tokio::join!(
        bot.answer_callback_query(q.id.clone()).into_future(),
        replace(bot, q, text, keyboard)
    );
    answered?;
    shown
}

/// The message a button belongs to, replaced by `text` (or `text` sent anew).
async fn replace(
    bot: &StoreBot,
    q: &CallbackQuery,
    text: String,
    keyboard: InlineKeyboardMarkup,
) -> Result<(), RequestError> {
    match q.regular_message() {
        Some(message) => {
            let edited = bot
                .edit_message_text(message.chat.id, message.id, text.clone())
                .parse_mode(ParseMode::Html)
                .reply_markup(keyboard.clone())
                .await;
            match edited {
                Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
                // The message is too old or was deleted: say it anew.
                Err(RequestError::Api(_)) => {
                    send(bot, message.chat.id, text, Some(keyboard.into())).await
                }
                Err(other) => Err(other),
            }
        }
        None => send(bot, ChatId(q.from.id.0 as i64), text, Some(keyboard.into())).await,
    }
}

/// Answers a button with a short notice (an alert when `alert`).
pub async fn notice(
    bot: &StoreBot,
    q: &CallbackQuery,
    text: &str,
    alert: bool,
) -> Result<(), RequestError> {
    bot.answer_callback_query(q.id.clone())
        .text(text)
        .show_alert(alert)
        .await?;
    Ok(())
}

pub fn button(label: impl Into<String>, callback: Callback) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label, callback.to_string())
}

/// A time in the store's time zone, e.g. `24/11/2026 17:05 WIB`.
pub fn local_time(tenant: &Tenant, at: OffsetDateTime) -> String {
    let zone = jiff::tz::TimeZone::get(&tenant.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    match jiff::Timestamp::from_second(at.unix_timestamp()) {
        Ok(ts) => ts.to_zoned(zone).strftime("%d/%m/%Y %H:%M %Z").to_string(),
        Err(_) => at.to_string(),
    }
}

/// The chat of a button's message, or the presser's private chat.
pub fn chat_of(q: &CallbackQuery) -> ChatId {
    q.regular_message()
        .map(|m| m.chat.id)
        .unwrap_or(ChatId(q.from.id.0 as i64))
}

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
        Ok(send(bot, chat, self.text, self.keyboard.map(Into::into)).await?)
    }

    /// Replaces the button's message (answering the button).
    pub async fn show(self, bot: &StoreBot, q: &CallbackQuery) -> HandlerResult {
        Ok(show(bot, q, self.text, self.keyboard.unwrap_or_default()).await?)
    }

    /// Replaces the button's message when the button was already answered.
    pub async fn edit(self, bot: &StoreBot, q: &CallbackQuery) -> HandlerResult {
        let Some(message) = q.regular_message() else {
            return self.send(bot, chat_of(q)).await;
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

//! Small helpers every handler uses to talk: send, edit in place, answer a button, format.

use teloxide::{
    ApiError, RequestError,
    payloads::{EditMessageTextSetters, SendMessageSetters},
    prelude::*,
    types::{
        CallbackQuery, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, ParseMode, ReplyMarkup,
    },
};
use time::OffsetDateTime;

use super::{StoreBot, callbacks::Callback};
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
/// message is gone), and answers the button so the client stops its spinner.
pub async fn show(
    bot: &StoreBot,
    q: &CallbackQuery,
    text: String,
    keyboard: InlineKeyboardMarkup,
) -> Result<(), RequestError> {
    bot.answer_callback_query(q.id.clone()).await?;
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

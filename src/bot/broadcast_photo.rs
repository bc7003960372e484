//! A broadcast's photo, checked with Telegram before anything is queued.
//!
//! A photo given to the API by URL (or by a file id from another bot) may be one Telegram
//! cannot fetch or use; queued as it is, every recipient's message would fail the same way.
//! So before such a broadcast is queued, the store's bot sends the photo with its caption to
//! the owner's chat, as the preview the admin screen shows too: Telegram fetches the photo
//! then, and its answer is either the file id every recipient then gets (the photo is uploaded
//! once) or its reason for refusing the photo, which refuses the broadcast with nothing
//! queued. The host never fetches the URL itself, so an owner's URL cannot make the host reach
//! into its own network.
//!
//! When the owner's chat cannot take the preview (the owner never started the bot, or blocked
//! it) or the store's bot does not run in this process, the photo is queued unchecked and the
//! first recipient's send uploads it, as before. The admin screen needs no check: its photo
//! is one the admin sent this bot, and its preview is the same send.

use teloxide::{
    ApiError, RequestError,
    prelude::*,
    types::{FileId, InputFile},
};

use crate::{
    bot::StoreBot,
    store::{
        broadcast::Draft,
        error::{OpError, OpResult},
    },
};

/// The photo as Telegram takes it: a URL it fetches, or a file id it has.
pub fn input(photo: &str) -> InputFile {
    match reqwest::Url::parse(photo) {
        Ok(url) if photo.starts_with("http") => InputFile::url(url),
        _ => InputFile::file_id(FileId(photo.to_owned())),
    }
}

/// Sends the draft's photo to the owner's chat; `Some(file_id)` of Telegram's copy when it
/// took it, `None` when there is no photo or nobody to show it to.
pub async fn check(bot: &StoreBot, owner: i64, draft: &Draft) -> OpResult<Option<String>> {
    let Some(photo) = &draft.photo else {
        return Ok(None);
    };
    let sent = bot
        .send_photo(ChatId(owner), input(photo))
        .caption(draft.text.clone())
        .await;
    match sent {
        Ok(message) => Ok(message
            .photo()
            .and_then(|sizes| sizes.last())
            .map(|size| size.file.id.0.clone())),
        Err(error) => refusal(error),
    }
}

/// What a failed preview means for the broadcast.
fn refusal(error: RequestError) -> OpResult<Option<String>> {
    match error {
        // The owner's chat, not the photo: queue it unchecked.
        RequestError::Api(
            ApiError::BotBlocked
            | ApiError::ChatNotFound
            | ApiError::UserDeactivated
            | ApiError::CantInitiateConversation,
        ) => Ok(None),
        RequestError::Api(ApiError::Unknown(description))
            if description.starts_with("Forbidden") =>
        {
            Ok(None)
        }
        RequestError::Api(ApiError::InvalidToken) => Err(OpError::conflict(
            "bot_token_rejected",
            "Telegram rejected the store's bot token, so the photo could not be checked",
        )),
        RequestError::Api(refused) => Err(OpError::invalid(
            "photo",
            format!("Telegram cannot use this photo ({refused}); nothing was queued"),
        )),
        RequestError::RetryAfter(_) => Err(OpError::conflict(
            "telegram_busy",
            "Telegram asked the bot to slow down while checking the photo; try again shortly",
        )),
        other => Err(OpError::conflict(
            "telegram_unavailable",
            format!("Telegram could not be reached to check the photo ({other}); try again"),
        )),
    }
}

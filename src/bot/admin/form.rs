//! The one dialogue mechanism of the admin side: prompt → validate → confirm, cancel everywhere.
//!
//! [`Cx`] is what an area's handler holds: who the admin is, the store, the chat, and the
//! button that was pressed (screens replace its message rather than piling up new ones). Its
//! methods are the steps every admin dialogue is made of, so that a dozen wizards share one
//! way to ask, to refuse an answer, to confirm and to cancel.

use std::{str::FromStr, sync::Arc};

use futures::StreamExt;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use teloxide::{
    net::Download,
    prelude::*,
    types::{
        CallbackQuery, ChatId, FileMeta, InlineKeyboardButton, InlineKeyboardMarkup, InputFile,
    },
};

use super::{Area, CANCEL, CONFIRM, denied};
use crate::{
    bot::{CustomerDialogue, HandlerResult, StoreBot, StoreCtx, dialogue::State, texts::admin, ui},
    store::{
        audit::Actor,
        error::{OpError, OpResult},
    },
    tenants::model::{Locale, Tenant},
};

/// Where an admin is in a dialogue: the area that asked, and that area's own step (any serde
/// value of the area's choosing: what is being edited, the answers so far, the draft).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminStep {
    pub area: Area,
    pub step: serde_json::Value,
}

/// An admin handler's context.
pub struct Cx {
    pub bot: StoreBot,
    pub ctx: Arc<StoreCtx>,
    /// The admin's Telegram id, re-checked against the store's admins when the update arrived.
    pub admin: i64,
    pub chat: ChatId,
    /// The admin's own language (their choice as a customer, else the store's).
    pub locale: Locale,
    dialogue: CustomerDialogue,
    /// The button pressed, when the update is a button.
    query: Option<CallbackQuery>,
}

impl Cx {
    /// The context of a button press, if the presser is an admin of the store; anyone else is
    /// logged, counted and answered as for a stale button.
    pub async fn from_query(
        bot: StoreBot,
        q: &CallbackQuery,
        ctx: Arc<StoreCtx>,
        dialogue: CustomerDialogue,
    ) -> anyhow::Result<Option<Cx>> {
        let user = q.from.id.0 as i64;
        let locale = ctx.locale_of(user);
        if !ctx.tenant().is_admin(user) {
            denied(&ctx, user, q.data.as_deref().unwrap_or_default());
            super::answer_denied(&bot, q, crate::bot::texts::texts(locale).stale_button).await?;
            return Ok(None);
        }
        Ok(Some(Cx {
            bot,
            chat: ui::chat_of(q),
            ctx,
            admin: user,
            locale,
            dialogue,
            query: Some(q.clone()),
        }))
    }

    /// The context of a message, if its sender is an admin of the store. Anyone else's admin
    /// dialogue (an admin removed meanwhile) ends without a word.
    pub async fn from_message(
        bot: StoreBot,
        msg: &Message,
        ctx: Arc<StoreCtx>,
        dialogue: CustomerDialogue,
    ) -> anyhow::Result<Option<Cx>> {
        let Some(user) = msg.from.as_ref().map(|u| u.id.0 as i64) else {
            return Ok(None);
        };
        if !ctx.tenant().is_admin(user) {
            denied(&ctx, user, "message");
            if dialogue
                .get()
                .await?
                .is_some_and(|s| super::is_admin_state(&s))
            {
                dialogue.exit().await?;
            }
            return Ok(None);
        }
        Ok(Some(Cx {
            bot,
            locale: ctx.locale_of(user),
            ctx,
            admin: user,
            chat: msg.chat.id,
            dialogue,
            query: None,
        }))
    }

    /// The common admin texts in the admin's language.
    pub fn t(&self) -> &'static admin::AdminTexts {
        admin::of(self.locale)
    }

    pub fn actor(&self) -> Actor {
        Actor::Admin(self.admin)
    }

    pub fn tenant(&self) -> Arc<Tenant> {
        self.ctx.tenant()
    }

    pub fn is_owner(&self) -> bool {
        self.tenant().owner_telegram_id == self.admin
    }

    /// Shows a screen: in place of the pressed button's message, or as a new message.
    pub async fn show(&self, text: String, keyboard: InlineKeyboardMarkup) -> HandlerResult {
        match &self.query {
            Some(q) => Ok(ui::show(&self.bot, q, text, keyboard).await?),
            None => self.send(text, keyboard).await,
        }
    }

    /// Sends a new message, leaving the screen above it as it was.
    pub async fn send(&self, text: String, keyboard: InlineKeyboardMarkup) -> HandlerResult {
        let markup = (!keyboard.inline_keyboard.is_empty()).then(|| keyboard.into());
        Ok(ui::send(&self.bot, self.chat, text, markup).await?)
    }

    /// A short answer to the pressed button (or a message, when there is no button).
    pub async fn toast(&self, text: &str) -> HandlerResult {
        match &self.query {
            Some(q) => Ok(ui::notice(&self.bot, q, text, true).await?),
            None => {
                self.send(text.to_owned(), InlineKeyboardMarkup::default())
                    .await
            }
        }
    }

    /// Asks for the next input of `area`'s dialogue and remembers `step` until it comes.
    pub async fn ask<S: Serialize>(&self, area: Area, step: &S, prompt: String) -> HandlerResult {
        self.remember(area, step).await?;
        let text = format!("{prompt}\n\n<i>{}</i>", self.t().cancel_hint);
        self.show(text, self.cancel_keyboard()).await
    }

    /// Refuses an input with one line saying what to send instead; the question stands.
    pub async fn again(&self, line: String) -> HandlerResult {
        self.send(line, self.cancel_keyboard()).await
    }

    /// Shows what will change with ✅ and ❌; `draft` comes back to the area's `on_confirm`.
    pub async fn confirm<S: Serialize>(
        &self,
        area: Area,
        draft: &S,
        summary: String,
    ) -> HandlerResult {
        self.remember(area, draft).await?;
        let t = self.t();
        let keyboard = InlineKeyboardMarkup::new([[
            InlineKeyboardButton::callback(t.confirm_button, CONFIRM),
            InlineKeyboardButton::callback(t.cancel_button, CANCEL),
        ]]);
        self.show(format!("{summary}\n\n{}", t.confirm_question), keyboard)
            .await
    }

    /// Ends the dialogue and shows `text` with the way back to `area` and to the menu.
    pub async fn finish(&self, text: String, back: Area) -> HandlerResult {
        self.end().await?;
        self.show(text, self.back_keyboard(back)).await
    }

    /// Refuses an operation the store's state does not allow, ending the dialogue.
    pub async fn fail(&self, error: OpError, back: Area) -> HandlerResult {
        let line = self.explain(&error)?;
        self.finish(line, back).await
    }

    /// What a lookup found, or `None` after telling the admin in a short answer why nothing was
    /// (the order or customer is gone); a database fault stays an error of the handler.
    pub async fn found<T>(&self, found: OpResult<T>) -> anyhow::Result<Option<T>> {
        match found {
            Ok(value) => Ok(Some(value)),
            Err(error) => {
                let line = self.explain(&error)?;
                self.toast(&line).await?;
                Ok(None)
            }
        }
    }

    /// One line for an operation's refusal, in the admin's language (the API's English message
    /// never reaches the chat); a database fault stays an error of the handler.
    pub fn explain(&self, error: &OpError) -> anyhow::Result<String> {
        match admin::refusals::line(self.locale, error) {
            Some(line) => Ok(line),
            None => anyhow::bail!("admin operation failed: {error}"),
        }
    }

    /// ❌, `/batal` or `/cancel`: the dialogue ends and nothing changes.
    pub async fn cancel(&self) -> HandlerResult {
        self.end().await?;
        self.show(
            self.t().cancelled.to_owned(),
            self.back_keyboard(Area::Menu),
        )
        .await
    }

    /// The step the admin's dialogue waits on, if any.
    pub async fn pending(&self) -> anyhow::Result<Option<AdminStep>> {
        Ok(match self.dialogue.get().await? {
            Some(State::Admin(step)) => Some(step),
            _ => None,
        })
    }

    /// Reads an area's own step back; a step from an older version of the bot reads as none.
    pub fn step<S: DeserializeOwned>(value: serde_json::Value) -> Option<S> {
        serde_json::from_value(value).ok()
    }

    /// The answer for a step that no longer parses: the dialogue ends.
    pub async fn stale(&self) -> HandlerResult {
        self.end().await?;
        self.show(self.t().stale.to_owned(), self.back_keyboard(Area::Menu))
            .await
    }

    /// Sends a file into the admin's chat.
    pub async fn send_document(
        &self,
        file_name: String,
        bytes: Vec<u8>,
        caption: String,
    ) -> HandlerResult {
        if let Some(q) = &self.query {
            ui::notice(&self.bot, q, "", false).await?;
        }
        self.bot
            .send_document(self.chat, InputFile::memory(bytes).file_name(file_name))
            .caption(caption)
            .parse_mode(teloxide::types::ParseMode::Html)
            .await?;
        Ok(())
    }

    /// Downloads a file the admin sent (a document's `file`), refusing one over `max_bytes`
    /// before and while downloading (Telegram's stated size may be missing).
    pub async fn download(
        &self,
        file: &FileMeta,
        max_bytes: usize,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        if file.size as usize > max_bytes {
            return Ok(None);
        }
        let file = self.bot.get_file(file.id.clone()).await?;
        let mut stream = self.bot.download_file_stream(&file.path);
        let mut bytes = Vec::with_capacity(file.size as usize);
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk?);
            if bytes.len() > max_bytes {
                return Ok(None);
            }
        }
        Ok(Some(bytes))
    }

    /// The row of ◀️ Back (to `area`) and ⬅️ Admin Menu under a result.
    pub fn back_keyboard(&self, area: Area) -> InlineKeyboardMarkup {
        let t = self.t();
        let menu = InlineKeyboardButton::callback(t.back_to_menu, Area::Menu.data(&[]));
        if area == Area::Menu {
            return InlineKeyboardMarkup::new([[menu]]);
        }
        InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(t.back, area.data(&[])), menu]])
    }

    fn cancel_keyboard(&self) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(
            self.t().cancel_button,
            CANCEL,
        )]])
    }

    async fn remember<S: Serialize>(&self, area: Area, step: &S) -> HandlerResult {
        let step = AdminStep {
            area,
            step: serde_json::to_value(step)?,
        };
        self.dialogue.update(State::Admin(step)).await?;
        Ok(())
    }

    async fn end(&self) -> HandlerResult {
        if self
            .dialogue
            .get()
            .await?
            .is_some_and(|s| super::is_admin_state(&s))
        {
            self.dialogue.exit().await?;
        }
        Ok(())
    }
}

/// The parts of an admin button's data after its area, read one by one.
pub struct Args<'a> {
    parts: std::iter::Peekable<std::str::Split<'a, char>>,
}

impl<'a> Args<'a> {
    pub fn new(data: &'a str) -> Self {
        Self {
            parts: data.split(':').peekable(),
        }
    }

    pub fn word(&mut self) -> Option<&'a str> {
        self.parts.next().filter(|p| !p.is_empty())
    }

    pub fn num<T: FromStr>(&mut self) -> Option<T> {
        self.word()?.parse().ok()
    }

    pub fn is_empty(&mut self) -> bool {
        self.parts.peek().is_none_or(|p| p.is_empty())
    }
}

//! The broadcast area: choose the audience, send the content (a text, or a photo with a
//! caption), see a preview, confirm; then one message shows the progress, edited by the
//! sender (`jobs::broadcast`) every few seconds, with pause, resume and cancel buttons.
//!
//! The content is checked with the same `Draft::validate` as the API's before the preview,
//! and again by `store::broadcast::create` at ✅, so a refused draft queues nothing.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use teloxide::{
    prelude::*,
    types::{FileId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, ParseMode},
};

use super::{Area, Args, Cx};
use crate::{
    bot::{
        HandlerResult, StoreBot, StoreCtx,
        texts::{admin::broadcast as texts, fill},
    },
    store::{
        broadcast::{self, Audience, Broadcast, CAPTION_LIMIT, Control, Draft, State, TEXT_LIMIT},
        error::OpError,
    },
};

pub const READY: bool = true;

#[derive(Debug, Serialize, Deserialize)]
enum Step {
    /// Waiting for the text or the photo.
    Content { audience: Audience },
    /// A valid draft, previewed, waiting for ✅.
    Confirm {
        text: String,
        photo: Option<String>,
        audience: Audience,
    },
}

pub async fn open(cx: &Cx) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut keyboard = vec![
        vec![InlineKeyboardButton::callback(
            t.to_all,
            Area::Broadcast.data(&[&"n", &"all"]),
        )],
        vec![InlineKeyboardButton::callback(
            t.to_buyers,
            Area::Broadcast.data(&[&"n", &"buyers"]),
        )],
    ];
    keyboard.extend(cx.back_keyboard(Area::Menu).inline_keyboard);
    cx.show(t.title.to_owned(), InlineKeyboardMarkup::new(keyboard))
        .await
}

pub async fn on_callback(cx: &Cx, args: &mut Args<'_>) -> HandlerResult {
    let t = texts::of(cx.locale);
    let control = match args.word() {
        Some("n") => {
            let audience = match args.word() {
                Some("buyers") => Audience::Buyers,
                _ => Audience::All,
            };
            let prompt = fill(
                t.ask_content,
                &[
                    ("limit", &TEXT_LIMIT.to_string()),
                    ("caption_limit", &CAPTION_LIMIT.to_string()),
                ],
            );
            return cx
                .ask(Area::Broadcast, &Step::Content { audience }, prompt)
                .await;
        }
        Some("p") => (Control::Pause, t.paused),
        Some("r") => (Control::Resume, t.resumed),
        Some("c") => (Control::Cancel, t.cancelled),
        _ => return cx.toast(cx.t().stale).await,
    };
    let Some(id) = args.num::<i64>() else {
        return cx.toast(cx.t().stale).await;
    };
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    match broadcast::control(&mut tx, tenant.id, &cx.actor(), id, control.0).await {
        Ok(current) => {
            tx.commit().await?;
            show_progress(&cx.bot, &cx.ctx, &current).await?;
            cx.toast(control.1).await
        }
        Err(OpError::Database(error)) => Err(error.into()),
        Err(error) => {
            drop(tx);
            let line = cx.explain(&error)?;
            cx.toast(&line).await
        }
    }
}

pub async fn on_input(cx: &Cx, step: Value, msg: &Message) -> HandlerResult {
    let t = texts::of(cx.locale);
    let Some(Step::Content { audience } | Step::Confirm { audience, .. }) = Cx::step(step) else {
        return cx.stale().await;
    };
    let draft = match (msg.photo().and_then(|sizes| sizes.last()), msg.text()) {
        (Some(photo), _) => Draft {
            text: msg.caption().unwrap_or_default().to_owned(),
            photo: Some(photo.file.id.0.clone()),
            audience,
        },
        (None, Some(text)) => Draft {
            text: text.to_owned(),
            photo: None,
            audience,
        },
        (None, None) => return cx.again(t.not_content.to_owned()).await,
    };
    if let Err(error) = draft.validate() {
        // The refusal in the admin's language, already HTML-safe.
        let message = cx.explain(&error)?;
        return cx.again(fill(t.invalid, &[("message", &message)])).await;
    }
    // The preview is the message exactly as customers will get it.
    match &draft.photo {
        Some(photo) => {
            cx.bot
                .send_photo(cx.chat, InputFile::file_id(FileId(photo.clone())))
                .caption(draft.text.clone())
                .await?;
        }
        None => {
            cx.bot.send_message(cx.chat, draft.text.clone()).await?;
        }
    }
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let count = broadcast::audience_size(&mut tx, audience).await?;
    tx.commit().await?;
    let summary = fill(
        t.summary,
        &[
            ("count", &count.to_string()),
            ("audience", audience_label(t, audience)),
        ],
    );
    let confirm = Step::Confirm {
        text: draft.text,
        photo: draft.photo,
        audience,
    };
    // The admin typed the content, so the question comes as a new message under the preview.
    cx.confirm(Area::Broadcast, &confirm, summary).await
}

pub async fn on_confirm(cx: &Cx, step: Value) -> HandlerResult {
    let t = texts::of(cx.locale);
    let Some(Step::Confirm {
        text,
        photo,
        audience,
    }) = Cx::step(step)
    else {
        return cx.stale().await;
    };
    let draft = Draft {
        text,
        photo,
        audience,
    };
    // The progress message exists before the broadcast, so the sender can edit it from its
    // first message on.
    let progress = cx
        .bot
        .send_message(cx.chat, t.preparing)
        .parse_mode(ParseMode::Html)
        .await?;
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    // The recipients are everyone who has written to the store, including since the last flush.
    cx.ctx.customers.settle_store(&mut tx, tenant.id).await?;
    let created = broadcast::create(
        &mut tx,
        tenant.id,
        &cx.actor(),
        &draft,
        Some((cx.chat.0, progress.id.0)),
    )
    .await;
    let created = match created {
        Ok(created) => {
            tx.commit().await?;
            created
        }
        Err(OpError::Database(error)) => return Err(error.into()),
        Err(error) => {
            drop(tx);
            cx.bot.delete_message(cx.chat, progress.id).await.ok();
            return cx.fail(error, Area::Broadcast).await;
        }
    };
    show_progress(&cx.bot, &cx.ctx, &created).await?;
    cx.finish(
        fill(t.started, &[("id", &created.id.to_string())]),
        Area::Menu,
    )
    .await
}

/// Shows a broadcast's progress in the admin's progress message, with the buttons its state
/// allows. Telegram refuses an edit that changes nothing; that is no failure here.
pub async fn show_progress(
    bot: &StoreBot,
    ctx: &StoreCtx,
    current: &Broadcast,
) -> anyhow::Result<()> {
    let Some((chat, message)) = current.progress_message else {
        return Ok(());
    };
    let t = texts::of(ctx.locale_of(chat));
    let p = &current.progress;
    let text = fill(
        t.progress,
        &[
            ("id", &current.id.to_string()),
            ("state", state_label(t, current.state)),
            ("sent", &p.sent.to_string()),
            ("total", &p.total.to_string()),
            ("failed", &p.failed.to_string()),
            ("blocked", &p.blocked.to_string()),
            ("unknown", &p.unknown.to_string()),
            ("left", &p.left.to_string()),
        ],
    );
    let id = &current.id;
    let button = |label: &str, action: &str| {
        InlineKeyboardButton::callback(label.to_owned(), Area::Broadcast.data(&[&action, id]))
    };
    let row = match current.state {
        State::Queued | State::Running => vec![button(t.pause, "p"), button(t.cancel, "c")],
        State::Paused => vec![button(t.resume, "r"), button(t.cancel, "c")],
        State::Cancelled | State::Done => Vec::new(),
    };
    let request = bot
        .edit_message_text(ChatId(chat), teloxide::types::MessageId(message), text)
        .parse_mode(ParseMode::Html)
        .reply_markup(InlineKeyboardMarkup::new([row]));
    match request.await {
        Ok(_) => Ok(()),
        Err(teloxide::RequestError::Api(teloxide::ApiError::MessageNotModified)) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

fn audience_label(t: &texts::BroadcastTexts, audience: Audience) -> &'static str {
    match audience {
        Audience::All => t.audience_all,
        Audience::Buyers => t.audience_buyers,
    }
}

fn state_label(t: &texts::BroadcastTexts, state: State) -> &'static str {
    match state {
        State::Queued => t.state_queued,
        State::Running => t.state_running,
        State::Paused => t.state_paused,
        State::Cancelled => t.state_cancelled,
        State::Done => t.state_done,
    }
}

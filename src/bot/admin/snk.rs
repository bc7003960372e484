//! SNK review: the submissions waiting for a decision, opened for the admin (text and
//! screenshot), approved or rejected with an optional note the customer reads.

use serde::{Deserialize, Serialize};
use teloxide::{
    prelude::*,
    types::{FileId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message},
    utils::html::escape,
};

use super::{
    Area, Args, Cx,
    page::{PER_PAGE, nav_row, paginate},
};
use crate::{
    bot::{
        HandlerResult,
        split::{MESSAGE_LIMIT, split_message},
        texts::{admin::snk as texts, fill},
        ui,
    },
    store::{
        error::OpError,
        snk::{self, NOTE_LIMIT, Status},
    },
};

/// The one question of this area: the note for a decision.
#[derive(Debug, Serialize, Deserialize)]
enum Step {
    Note { id: i64, approve: bool },
}

pub async fn open(cx: &Cx) -> HandlerResult {
    list(cx, 0).await
}

pub async fn on_callback(cx: &Cx, args: &mut Args<'_>) -> HandlerResult {
    let t = texts::of(cx.locale);
    match (args.word(), args.num::<i64>()) {
        (Some("l"), page) => list(cx, page.unwrap_or(0).max(0) as u32).await,
        (Some("v"), Some(id)) => view(cx, id).await,
        (Some("a"), Some(id)) => decide(cx, id, Status::Approved, None).await,
        (Some("an"), Some(id)) => {
            let prompt = fill(t.note_prompt_approve, &[("id", &id.to_string())]);
            cx.ask(Area::Snk, &Step::Note { id, approve: true }, prompt)
                .await
        }
        (Some("r"), Some(id)) => {
            let prompt = fill(t.note_prompt_reject, &[("id", &id.to_string())]);
            cx.ask(Area::Snk, &Step::Note { id, approve: false }, prompt)
                .await
        }
        _ => cx.toast(cx.t().stale).await,
    }
}

pub async fn on_input(cx: &Cx, step: serde_json::Value, msg: &Message) -> HandlerResult {
    let Some(Step::Note { id, approve }) = Cx::step(step) else {
        return cx.stale().await;
    };
    let t = texts::of(cx.locale);
    let Some(text) = msg.text().map(str::trim) else {
        return cx.again(cx.t().text_expected.to_owned()).await;
    };
    if text.chars().count() > NOTE_LIMIT {
        let line = fill(t.note_too_long, &[("limit", &NOTE_LIMIT.to_string())]);
        return cx.again(line).await;
    }
    let note = (text != "-").then_some(text);
    let status = if approve {
        Status::Approved
    } else {
        Status::Rejected
    };
    decide(cx, id, status, note).await
}

pub async fn on_confirm(cx: &Cx, _step: serde_json::Value) -> HandlerResult {
    cx.stale().await
}

async fn list(cx: &Cx, page: u32) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let total = snk::count_pending(&mut tx).await?;
    let paged = paginate(total as usize, page, PER_PAGE);
    let rows = snk::pending(&mut tx, paged.start as i64, PER_PAGE as i64).await?;
    tx.commit().await?;
    if rows.is_empty() {
        return cx
            .show(t.empty.to_owned(), cx.back_keyboard(Area::Menu))
            .await;
    }
    let mut keyboard: Vec<Vec<InlineKeyboardButton>> = rows
        .iter()
        .map(|row| {
            let label = fill(
                t.row,
                &[
                    ("id", &row.id.to_string()),
                    ("product", &row.product),
                    ("customer", &row.customer_id.to_string()),
                ],
            );
            vec![InlineKeyboardButton::callback(
                label,
                Area::Snk.data(&[&"v", &row.id]),
            )]
        })
        .collect();
    let nav = nav_row(cx.t(), paged, |p| Area::Snk.data(&[&"l", &p]));
    if !nav.is_empty() {
        keyboard.push(nav);
    }
    keyboard.extend(cx.back_keyboard(Area::Menu).inline_keyboard);
    let text = fill(t.title, &[("count", &total.to_string())]);
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

/// Opens one submission for the admin: its text, and its screenshot as a photo.
async fn view(cx: &Cx, id: i64) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let submission = snk::get(&mut tx, &cx.ctx.sealer, tenant.id, id).await?;
    let Some(submission) = submission.filter(|s| s.status == Status::Pending) else {
        tx.commit().await?;
        return cx.toast(t.already_decided).await;
    };
    let row = snk::pending_one(&mut tx, id).await?;
    tx.commit().await?;
    let (code, product, created) = match &row {
        Some(r) => (
            r.order_code.as_str(),
            r.product.as_str(),
            Some(r.created_at),
        ),
        None => ("-", "-", None),
    };
    let text = fill(
        t.view,
        &[
            ("id", &id.to_string()),
            ("code", code),
            ("product", &escape(product)),
            ("customer", &submission.customer_id.to_string()),
            (
                "time",
                &created
                    .map(|at| ui::local_time(&tenant, at))
                    .unwrap_or_default(),
            ),
            (
                "text",
                &escape(
                    submission
                        .text
                        .as_ref()
                        .map_or("-", |s| s.expose().as_str()),
                ),
            ),
        ],
    );
    let keyboard = InlineKeyboardMarkup::new([
        vec![
            InlineKeyboardButton::callback(t.approve, Area::Snk.data(&[&"a", &id])),
            InlineKeyboardButton::callback(t.approve_with_note, Area::Snk.data(&[&"an", &id])),
        ],
        vec![InlineKeyboardButton::callback(
            t.reject,
            Area::Snk.data(&[&"r", &id]),
        )],
        vec![InlineKeyboardButton::callback(
            cx.t().back,
            Area::Snk.data(&[&"l", &0]),
        )],
    ]);
    match submission.photo {
        Some(photo) => {
            // The screenshot goes first; the text (which may be long) follows with the buttons.
            cx.toast("").await.ok();
            cx.bot
                .send_photo(
                    cx.chat,
                    InputFile::file_id(FileId(photo.expose().to_owned())),
                )
                .caption(format!("📋 SNK #{id}"))
                .await?;
            send_pieces(cx, text, keyboard).await
        }
        None => send_pieces(cx, text, keyboard).await,
    }
}

/// Sends a possibly long text, the buttons under its last piece.
async fn send_pieces(cx: &Cx, text: String, keyboard: InlineKeyboardMarkup) -> HandlerResult {
    let mut pieces = split_message(&text, MESSAGE_LIMIT);
    let last = pieces.pop().unwrap_or_default();
    for piece in pieces {
        cx.send(piece, InlineKeyboardMarkup::default()).await?;
    }
    cx.show(last, keyboard).await
}

async fn decide(cx: &Cx, id: i64, status: Status, note: Option<&str>) -> HandlerResult {
    let t = texts::of(cx.locale);
    let outcome = crate::bot::snk::review(&cx.bot, &cx.ctx, id, status, note, &cx.actor()).await?;
    match outcome {
        Ok(()) => {
            let done = if status == Status::Approved {
                t.approved
            } else {
                t.rejected
            };
            cx.finish(fill(done, &[("id", &id.to_string())]), Area::Snk)
                .await
        }
        Err(OpError::Conflict { .. }) => cx.finish(t.already_decided.to_owned(), Area::Snk).await,
        Err(refused) => cx.fail(refused, Area::Snk).await,
    }
}

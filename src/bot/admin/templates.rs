//! The message templates area: the six event texts, each shown as the store wrote it (or as
//! using the bot's default), changed with a preview filled with sample values before it is
//! saved, or reset to the default. Every rule is `store::templates`', the one the catalog
//! document obeys as well.

use serde::{Deserialize, Serialize};
use teloxide::{
    types::{InlineKeyboardButton, InlineKeyboardMarkup, Message},
    utils::html::escape,
};

use super::{Area, Args, Cx};
use crate::{
    bot::{
        HandlerResult,
        texts::{
            admin::templates::{self as texts, TemplatesTexts},
            fill,
        },
    },
    store::templates::{self, MAX_CHARS, NAMES, Problem},
};

/// Whether the menu offers this area yet.
pub const READY: bool = true;

/// The steps of this area's dialogues.
#[derive(Debug, Serialize, Deserialize)]
enum Step {
    /// Waiting for the new text of a template.
    Write { name: String },
    /// The preview is shown; ✅ saves the text.
    Save { name: String, body: String },
    /// ✅ puts the template back to the bot's default.
    Reset { name: String },
}

pub async fn open(cx: &Cx) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let written = templates::all(&mut tx).await?;
    tx.commit().await?;
    let mut rows: Vec<Vec<InlineKeyboardButton>> = NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mark = if written.iter().any(|(n, _)| n == name) {
                t.custom_mark
            } else {
                t.default_mark
            };
            vec![InlineKeyboardButton::callback(
                format!("{mark} {}", t.label(name)),
                Area::Templates.data(&[&"v", &i]),
            )]
        })
        .collect();
    rows.extend(cx.back_keyboard(Area::Menu).inline_keyboard);
    cx.show(t.title.to_owned(), InlineKeyboardMarkup::new(rows))
        .await
}

pub async fn on_callback(cx: &Cx, args: &mut Args<'_>) -> HandlerResult {
    let t = texts::of(cx.locale);
    let action = args.word();
    let Some(name) = args.num::<usize>().and_then(|i| NAMES.get(i)) else {
        return cx.toast(cx.t().stale).await;
    };
    let name = (*name).to_owned();
    match action {
        Some("v") => view(cx, &name).await,
        Some("e") => {
            let prompt = fill(
                t.prompt,
                &[
                    ("label", t.label(&name)),
                    ("limit", &MAX_CHARS.to_string()),
                    ("placeholders", &allowed(&name)),
                ],
            );
            cx.ask(Area::Templates, &Step::Write { name }, prompt).await
        }
        Some("r") => {
            let question = fill(t.reset_question, &[("label", t.label(&name))]);
            cx.confirm(Area::Templates, &Step::Reset { name }, question)
                .await
        }
        _ => cx.toast(cx.t().stale).await,
    }
}

pub async fn on_input(cx: &Cx, step: serde_json::Value, msg: &Message) -> HandlerResult {
    let Some(Step::Write { name }) = Cx::step(step) else {
        return cx.stale().await;
    };
    let t = texts::of(cx.locale);
    let Some(body) = msg.text() else {
        return cx.again(cx.t().text_expected.to_owned()).await;
    };
    if let Some(problem) = templates::problem(&name, body) {
        return cx.again(explain(t, &name, &problem)).await;
    }
    let preview = templates::preview(&name, body, &cx.tenant().display_name)?;
    let summary = fill(t.preview, &[("preview", &escape(&preview))]);
    let draft = Step::Save {
        name,
        body: body.to_owned(),
    };
    cx.confirm(Area::Templates, &draft, summary).await
}

pub async fn on_confirm(cx: &Cx, step: serde_json::Value) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.ctx.tenant_id();
    let mut tx = cx.ctx.db.tenant(tenant).await?;
    let text = match Cx::step(step) {
        Some(Step::Save { name, body }) => {
            match templates::set(&mut tx, tenant, &cx.actor(), &name, &body).await {
                Ok(()) => fill(t.saved, &[("label", t.label(&name))]),
                Err(error) => return cx.fail(error, Area::Templates).await,
            }
        }
        Some(Step::Reset { name }) => {
            match templates::reset(&mut tx, tenant, &cx.actor(), &name).await {
                Ok(true) => fill(t.reset_done, &[("label", t.label(&name))]),
                Ok(false) => fill(t.already_default, &[("label", t.label(&name))]),
                Err(error) => return cx.fail(error, Area::Templates).await,
            }
        }
        _ => return cx.stale().await,
    };
    tx.commit().await?;
    // Customers read the store's texts from the catalog snapshot.
    cx.ctx.catalog.invalidate(tenant);
    cx.finish(text, Area::Templates).await
}

/// One template: its text (or that the default is used), and what can be done with it.
async fn view(cx: &Cx, name: &str) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let body = templates::get(&mut tx, name).await?;
    tx.commit().await?;
    let index = NAMES.iter().position(|n| *n == name).unwrap_or_default();
    let text = fill(
        t.view,
        &[
            ("label", t.label(name)),
            ("placeholders", &allowed(name)),
            (
                "body",
                &body
                    .as_deref()
                    .map_or_else(|| t.using_default.to_owned(), escape),
            ),
        ],
    );
    let mut actions = vec![InlineKeyboardButton::callback(
        t.edit_button,
        Area::Templates.data(&[&"e", &index]),
    )];
    if body.is_some() {
        actions.push(InlineKeyboardButton::callback(
            t.reset_button,
            Area::Templates.data(&[&"r", &index]),
        ));
    }
    let mut rows = vec![actions];
    rows.extend(cx.back_keyboard(Area::Templates).inline_keyboard);
    cx.show(text, InlineKeyboardMarkup::new(rows)).await
}

/// The placeholders of a template, as the admin types them.
fn allowed(name: &str) -> String {
    templates::braced(templates::placeholders(name))
}

/// One line saying what is wrong with a text and what to send instead.
fn explain(t: &TemplatesTexts, name: &str, problem: &Problem) -> String {
    match problem {
        Problem::Empty | Problem::UnknownName => t.empty.to_owned(),
        Problem::Nul => t.nul.to_owned(),
        Problem::TooLong(chars) => fill(
            t.too_long,
            &[
                ("chars", &chars.to_string()),
                ("limit", &MAX_CHARS.to_string()),
            ],
        ),
        Problem::UnknownPlaceholders(unknown) => fill(
            t.unknown_placeholders,
            &[
                ("unknown", &escape(&templates::braced(unknown))),
                ("placeholders", &allowed(name)),
            ],
        ),
    }
}

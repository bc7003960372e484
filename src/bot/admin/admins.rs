//! The admins area, for the store's owner only: the admins listed, one added by Telegram id or
//! by a forwarded message of theirs, one removed; each change confirmed first.
//!
//! The changes are `tenants::admin::{add_admin, remove_admin}`, the path `PATCH` takes for
//! `admin_telegram_ids`; they check again, on the store's locked row, that the presser owns the
//! store. The new list is swapped into the running store at once, so a removed admin's next
//! press is already refused.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use teloxide::{
    types::{InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageOrigin},
    utils::html::escape,
};

use super::{Area, Args, Cx};
use crate::{
    bot::{
        HandlerResult,
        texts::{
            admin::admins::{self as texts, AdminsTexts},
            fill,
        },
    },
    store::error::OpError,
    tenants::admin::{add_admin, remove_admin},
};

/// Whether the menu offers this area yet.
pub const READY: bool = true;

#[derive(Debug, Serialize, Deserialize)]
enum Step {
    /// Waiting for an id or a forwarded message.
    Who,
    Add {
        id: i64,
    },
    Remove {
        id: i64,
    },
}

pub async fn open(cx: &Cx) -> HandlerResult {
    if !cx.is_owner() {
        return cx.toast(cx.t().owner_only).await;
    }
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let admins = if tenant.admin_telegram_ids.is_empty() {
        t.none.to_owned()
    } else {
        tenant
            .admin_telegram_ids
            .iter()
            .map(|id| format!("• <code>{id}</code>"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let text = fill(
        t.title,
        &[
            ("owner", &tenant.owner_telegram_id.to_string()),
            ("admins", &admins),
        ],
    );
    let mut rows = vec![vec![InlineKeyboardButton::callback(
        t.add_button,
        Area::Admins.data(&[&"add"]),
    )]];
    for id in &tenant.admin_telegram_ids {
        rows.push(vec![InlineKeyboardButton::callback(
            fill(t.remove_button, &[("id", &id.to_string())]),
            Area::Admins.data(&[&"rm", id]),
        )]);
    }
    rows.extend(cx.back_keyboard(Area::Menu).inline_keyboard);
    cx.show(text, InlineKeyboardMarkup::new(rows)).await
}

pub async fn on_callback(cx: &Cx, args: &mut Args<'_>) -> HandlerResult {
    if !cx.is_owner() {
        return cx.toast(cx.t().owner_only).await;
    }
    let t = texts::of(cx.locale);
    match (args.word(), args.num::<i64>()) {
        (Some("add"), _) => {
            cx.ask(Area::Admins, &Step::Who, t.add_prompt.to_owned())
                .await
        }
        (Some("rm"), Some(id)) => {
            let question = fill(t.remove_question, &[("id", &id.to_string())]);
            cx.confirm(Area::Admins, &Step::Remove { id }, question)
                .await
        }
        _ => cx.toast(cx.t().stale).await,
    }
}

pub async fn on_input(cx: &Cx, step: serde_json::Value, msg: &Message) -> HandlerResult {
    if !cx.is_owner() {
        return cx.stale().await;
    }
    let Some(Step::Who) = Cx::step(step) else {
        return cx.stale().await;
    };
    let t = texts::of(cx.locale);
    let (id, name) = match msg.forward_origin() {
        Some(MessageOrigin::User { sender_user, .. }) if sender_user.is_bot => {
            return cx.again(t.bot_sender.to_owned()).await;
        }
        Some(MessageOrigin::User { sender_user, .. }) => (
            sender_user.id.0 as i64,
            format!("({})", escape(&sender_user.full_name())),
        ),
        Some(_) => return cx.again(t.hidden_sender.to_owned()).await,
        None => match msg.text().and_then(|s| s.trim().parse::<i64>().ok()) {
            Some(id) if id > 0 => (id, String::new()),
            _ => return cx.again(t.add_invalid.to_owned()).await,
        },
    };
    let tenant = cx.tenant();
    if tenant.is_owner(id) {
        return cx.again(t.is_owner.to_owned()).await;
    }
    if tenant.is_admin(id) {
        return cx
            .again(fill(t.already_admin, &[("id", &id.to_string())]))
            .await;
    }
    let question = fill(t.add_question, &[("id", &id.to_string()), ("name", &name)]);
    cx.confirm(Area::Admins, &Step::Add { id }, question).await
}

pub async fn on_confirm(cx: &Cx, step: serde_json::Value) -> HandlerResult {
    let t = texts::of(cx.locale);
    let slug = cx.tenant().slug.clone();
    let (result, id, done) = match Cx::step(step) {
        Some(Step::Add { id }) => (
            add_admin(&cx.ctx.db, &slug, cx.admin, id).await,
            id,
            t.added,
        ),
        Some(Step::Remove { id }) => (
            remove_admin(&cx.ctx.db, &slug, cx.admin, id).await,
            id,
            t.removed,
        ),
        _ => return cx.stale().await,
    };
    match result {
        Ok(tenant) => {
            cx.ctx.replace_tenant(Arc::new(tenant));
            cx.finish(fill(done, &[("id", &id.to_string())]), Area::Admins)
                .await
        }
        Err(error) => refused(cx, t, id, error).await,
    }
}

/// Says why a change was refused in the owner's language.
async fn refused(cx: &Cx, t: &AdminsTexts, id: i64, error: OpError) -> HandlerResult {
    let id = id.to_string();
    let line = match &error {
        OpError::Conflict {
            code: "already_admin",
            ..
        } => fill(t.already_admin, &[("id", &id)]),
        OpError::NotFound { what: "admin" } => fill(t.not_admin, &[("id", &id)]),
        OpError::Conflict {
            code: "not_permitted",
            ..
        } => cx.t().owner_only.to_owned(),
        _ => return cx.fail(error, Area::Admins).await,
    };
    cx.finish(line, Area::Admins).await
}

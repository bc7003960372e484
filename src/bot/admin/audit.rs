//! The activity log: the store's audit trail, newest first, filtered by kind of action or by
//! who acted, a page at a time. It only reads; the rows are written by the operations.
//!
//! Filters are buttons, not typed text, so they fit in a button's data: an action family
//! (`order.`, `stock.`, ...) or an admin's Telegram id. Older pages follow the id cursor.

use serde_json::Value;
use teloxide::{
    types::{InlineKeyboardButton, InlineKeyboardMarkup, Message},
    utils::html::escape,
};

use super::{Area, Args, Cx};
use crate::{
    bot::{
        HandlerResult,
        texts::{admin::audit as texts, fill},
        ui,
    },
    store::audit::{self, Filter, Row},
};

/// Entries on one page; each shows at most two short JSON excerpts, so a page stays far
/// below Telegram's 4096 characters.
const PER_PAGE: i64 = 8;
/// How much of a `before` or `after` value an entry shows.
const EXCERPT: usize = 120;
/// The action families offered as filters (every audited action starts with one).
const FAMILIES: [&str; 12] = [
    "order.",
    "customer.",
    "product.",
    "category.",
    "stock.",
    "coupon.",
    "template.",
    "settings.",
    "admin.",
    "snk.",
    "catalog.",
    "store.",
];

/// A filter as it travels in button data: `-`, `a:<family>` or `u:<telegram id>`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Which {
    All,
    Action(String),
    Actor(i64),
}

impl Which {
    fn parse(args: &mut Args<'_>) -> Option<Which> {
        Some(match args.word()? {
            "-" => Which::All,
            "a" => Which::Action(args.word().filter(|f| FAMILIES.contains(f))?.to_owned()),
            "u" => Which::Actor(args.num()?),
            _ => return None,
        })
    }

    fn data(&self, before: i64) -> String {
        match self {
            Which::All => Area::Audit.data(&[&"l", &"-", &before]),
            Which::Action(family) => Area::Audit.data(&[&"l", &"a", family, &before]),
            Which::Actor(id) => Area::Audit.data(&[&"l", &"u", id, &before]),
        }
    }
}

pub async fn open(cx: &Cx) -> HandlerResult {
    list(cx, Which::All, 0).await
}

pub async fn on_callback(cx: &Cx, args: &mut Args<'_>) -> HandlerResult {
    match args.word() {
        Some("l") => match Which::parse(args) {
            Some(which) => list(cx, which, args.num().unwrap_or(0)).await,
            None => cx.toast(cx.t().stale).await,
        },
        Some("fa") => choose_action(cx).await,
        Some("fu") => choose_actor(cx).await,
        _ => cx.toast(cx.t().stale).await,
    }
}

/// The log asks nothing, so there is never input or a confirmation to take.
pub async fn on_input(cx: &Cx, _step: Value, _msg: &Message) -> HandlerResult {
    cx.stale().await
}

pub async fn on_confirm(cx: &Cx, _step: Value) -> HandlerResult {
    cx.stale().await
}

/// A page of entries older than `before` (0: the newest).
async fn list(cx: &Cx, which: Which, before: i64) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let filter = Filter {
        actor: match &which {
            Which::Actor(id) => Some(id.to_string()),
            _ => None,
        },
        action: match &which {
            Which::Action(family) => Some(family.clone()),
            _ => None,
        },
        before_id: (before > 0).then_some(before),
        limit: PER_PAGE + 1,
    };
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let mut rows = audit::list(&mut tx, &filter).await?;
    tx.commit().await?;
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);

    let label = match &which {
        Which::All => t.no_filter.to_owned(),
        Which::Action(family) => fill(t.filter_action, &[("action", family)]),
        Which::Actor(id) => fill(
            t.filter_actor,
            &[("who", &who(cx, Some(*id), "telegram", None))],
        ),
    };
    let mut text = fill(t.title, &[("filter", &label)]);
    if rows.is_empty() {
        text = format!("{text}\n\n{}", t.empty);
    }
    for row in &rows {
        text.push_str("\n\n");
        text.push_str(&entry(cx, &tenant, row));
    }

    let mut keyboard = vec![vec![
        InlineKeyboardButton::callback(t.by_action, Area::Audit.data(&[&"fa"])),
        InlineKeyboardButton::callback(t.by_actor, Area::Audit.data(&[&"fu"])),
    ]];
    let mut nav = Vec::new();
    if before > 0 {
        nav.push(InlineKeyboardButton::callback(t.newest, which.data(0)));
    }
    if let (true, Some(last)) = (more, rows.last()) {
        nav.push(InlineKeyboardButton::callback(t.older, which.data(last.id)));
    }
    if !nav.is_empty() {
        keyboard.push(nav);
    }
    if which != Which::All {
        keyboard.push(vec![InlineKeyboardButton::callback(
            t.clear_filter,
            Which::All.data(0),
        )]);
    }
    keyboard.extend(cx.back_keyboard(Area::Menu).inline_keyboard);
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

/// One entry: when, who, what, and what it was before and after.
fn entry(cx: &Cx, tenant: &crate::tenants::model::Tenant, row: &Row) -> String {
    let mut line = format!(
        "<code>#{}</code> {} · {}\n<b>{}</b> {}",
        row.id,
        ui::local_time(tenant, row.created_at),
        escape(&who(
            cx,
            row.actor,
            &row.actor_kind,
            row.actor_name.as_deref()
        )),
        escape(&row.action),
        escape(row.subject.as_deref().unwrap_or("")),
    );
    let before = excerpt(row.before.as_ref());
    let after = excerpt(row.after.as_ref());
    if before.is_some() || after.is_some() {
        line.push_str(&format!(
            "\n<i>{} → {}</i>",
            escape(&before.unwrap_or_else(|| "-".into())),
            escape(&after.unwrap_or_else(|| "-".into()))
        ));
    }
    line
}

/// Who acted, as an admin reads it.
fn who(cx: &Cx, actor: Option<i64>, kind: &str, name: Option<&str>) -> String {
    let t = texts::of(cx.locale);
    match (kind, actor) {
        ("telegram", Some(id)) if id == cx.tenant().owner_telegram_id => {
            format!("{id} ({})", t.owner)
        }
        ("telegram", Some(id)) => id.to_string(),
        ("api", _) => format!("{} {}", t.api, name.unwrap_or("")),
        _ => t.host.to_owned(),
    }
}

/// A JSON value cut to a short line; nothing for null.
fn excerpt(value: Option<&Value>) -> Option<String> {
    let value = value.filter(|v| !v.is_null())?;
    let text = value.to_string();
    Some(match text.char_indices().nth(EXCERPT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    })
}

async fn choose_action(cx: &Cx) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut rows: Vec<Vec<InlineKeyboardButton>> = FAMILIES
        .chunks(3)
        .map(|chunk| {
            chunk
                .iter()
                .map(|family| {
                    InlineKeyboardButton::callback(
                        family.trim_end_matches('.'),
                        Which::Action((*family).to_owned()).data(0),
                    )
                })
                .collect()
        })
        .collect();
    rows.push(vec![InlineKeyboardButton::callback(
        t.clear_filter,
        Which::All.data(0),
    )]);
    cx.show(t.choose_action.to_owned(), InlineKeyboardMarkup::new(rows))
        .await
}

async fn choose_actor(cx: &Cx) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let people = std::iter::once(tenant.owner_telegram_id).chain(
        tenant
            .admin_telegram_ids
            .iter()
            .copied()
            .filter(|id| *id != tenant.owner_telegram_id),
    );
    let mut rows: Vec<Vec<InlineKeyboardButton>> = people
        .map(|id| {
            vec![InlineKeyboardButton::callback(
                who(cx, Some(id), "telegram", None),
                Which::Actor(id).data(0),
            )]
        })
        .collect();
    rows.push(vec![InlineKeyboardButton::callback(
        t.clear_filter,
        Which::All.data(0),
    )]);
    cx.show(t.choose_actor.to_owned(), InlineKeyboardMarkup::new(rows))
        .await
}

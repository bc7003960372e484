//! The admin side of a store's bot: `⚙️ Admin Settings` and everything behind it.
//!
//! ## How an area works
//! Each area of SPEC §3.2 is one file here (`orders.rs`, `stock.rs`, ...) with the same four
//! entry points, which [`on_callback`], [`on_input`] and [`on_confirm`] route to:
//! - `open(cx)`: the area's first screen (its button in the menu);
//! - `on_callback(cx, args)`: its own buttons, whose data is `a:<area code>:<rest>`;
//!   [`form::Args`] reads the rest;
//! - `on_input(cx, step, msg)`: what the admin typed (or sent: a document, a forwarded
//!   message) while the area's dialogue waits for it; `step` is the area's own state;
//! - `on_confirm(cx, step)`: the admin pressed ✅ on the area's confirmation screen.
//!
//! An area's `READY` constant says whether the menu offers it; its texts are in
//! `bot/texts/admin/<area>.rs`. `snk.rs` (a typed note), `backup.rs` (a document, a summary
//! and ✅) and `audit.rs` (pages and filters as buttons) show every piece in use.
//!
//! A dialogue (prompt → validate → confirm) is written with [`Cx`]: `cx.ask(area, &step, prompt)`
//! stores the area's step (any serde type of the area's own) in the dialogue storage and shows
//! the prompt with a cancel button; `cx.again(line)` answers a wrong input with one line and
//! keeps the step; `cx.confirm(area, &draft, summary)` shows the summary with ✅ and ❌ and keeps
//! the draft until ✅ comes back to `on_confirm`; `cx.finish(text, area)` ends the dialogue with
//! a way back. ❌, `/batal`, `/cancel`, any command and any main-menu button end a dialogue
//! from every step, changing nothing. The state lives in PostgreSQL (a restart loses nothing).
//!
//! ## Who may use it
//! Every entry point re-checks, at the moment it runs, that the presser is an admin of this
//! store (the store's profile is swapped in place when the owner changes the admins). A forged
//! button or a stale dialogue of someone who is no longer an admin changes nothing, shows
//! nothing admin-only, and is logged and counted (`tokobot_admin_denied_total`).
//!
//! Operations themselves live in `store/` and take the [`Actor`](crate::store::audit::Actor):
//! the same function, and the same audit row, as the API's.

pub mod admins;
pub mod audit;
pub mod backup;
pub mod broadcast;
pub mod categories;
pub mod coupons;
pub mod customers;
pub mod form;
mod menu;
pub mod orders;
pub mod page;
pub mod products;
pub mod settings;
pub mod snk;
pub mod stock;
pub mod templates;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use teloxide::{prelude::*, types::CallbackQuery};

pub use form::{AdminStep, Args, Cx};
pub use menu::open as open_menu;

use super::{CustomerDialogue, HandlerResult, StoreBot, StoreCtx, customer, dialogue::State, ui};
use crate::store::customers::Customer;

/// The areas of the admin menu. The code is the second part of an admin button's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Menu,
    Products,
    Stock,
    Orders,
    Customers,
    Templates,
    Coupons,
    Settings,
    Admins,
    Backup,
    Snk,
    Audit,
    Broadcast,
}

impl Area {
    pub const ALL: [Area; 13] = [
        Area::Menu,
        Area::Products,
        Area::Stock,
        Area::Orders,
        Area::Customers,
        Area::Templates,
        Area::Coupons,
        Area::Settings,
        Area::Admins,
        Area::Backup,
        Area::Snk,
        Area::Audit,
        Area::Broadcast,
    ];

    /// Two letters in callback data (64 bytes are all a button may carry).
    pub fn code(self) -> &'static str {
        match self {
            Area::Menu => "m",
            Area::Products => "pr",
            Area::Stock => "st",
            Area::Orders => "or",
            Area::Customers => "cu",
            Area::Templates => "tp",
            Area::Coupons => "cp",
            Area::Settings => "se",
            Area::Admins => "ad",
            Area::Backup => "bk",
            Area::Snk => "sn",
            Area::Audit => "au",
            Area::Broadcast => "bc",
        }
    }

    pub fn from_code(code: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|a| a.code() == code)
    }

    /// The data of a button of this area: `a:<code>` followed by `:<part>` for each part.
    pub fn data(self, parts: &[&dyn std::fmt::Display]) -> String {
        let mut data = format!("{PREFIX}{}", self.code());
        for part in parts {
            data.push(':');
            data.push_str(&part.to_string());
        }
        debug_assert!(data.len() <= 64, "callback data {data} is over 64 bytes");
        data
    }
}

/// Every admin button's data starts with this; the customer side never uses it.
pub const PREFIX: &str = "a:";
/// ❌ in a dialogue.
pub const CANCEL: &str = "a:x";
/// ✅ on a confirmation screen.
pub const CONFIRM: &str = "a:y";

/// The `⚙️ Admin Settings` button of the main keyboard.
pub async fn menu_button(
    bot: StoreBot,
    msg: &Message,
    ctx: Arc<StoreCtx>,
    dialogue: CustomerDialogue,
) -> HandlerResult {
    match Cx::from_message(bot, msg, ctx, dialogue).await? {
        Some(cx) => menu::open(&cx).await,
        None => Ok(()),
    }
}

/// Routes an admin button (data starting with `a:`).
pub async fn on_callback(
    bot: StoreBot,
    q: &CallbackQuery,
    ctx: Arc<StoreCtx>,
    dialogue: CustomerDialogue,
    data: &str,
) -> HandlerResult {
    let Some(cx) = Cx::from_query(bot, q, ctx, dialogue).await? else {
        return Ok(());
    };
    let rest = data.strip_prefix(PREFIX).unwrap_or_default();
    match rest {
        "x" => return cx.cancel().await,
        "y" => {
            return match cx.pending().await? {
                Some(step) => route_confirm(&cx, step).await,
                None => cx.toast(cx.t().stale).await,
            };
        }
        _ => {}
    }
    let mut args = Args::new(rest);
    let Some(area) = args.word().and_then(Area::from_code) else {
        return cx.toast(cx.t().stale).await;
    };
    if args.is_empty() {
        return open(&cx, area).await;
    }
    let args = &mut args;
    match area {
        Area::Menu => menu::open(&cx).await,
        Area::Products => products::on_callback(&cx, args).await,
        Area::Stock => stock::on_callback(&cx, args).await,
        Area::Orders => orders::on_callback(&cx, args).await,
        Area::Customers => customers::on_callback(&cx, args).await,
        Area::Templates => templates::on_callback(&cx, args).await,
        Area::Coupons => coupons::on_callback(&cx, args).await,
        Area::Settings => settings::on_callback(&cx, args).await,
        Area::Admins => admins::on_callback(&cx, args).await,
        Area::Backup => backup::on_callback(&cx, args).await,
        Area::Snk => snk::on_callback(&cx, args).await,
        Area::Audit => audit::on_callback(&cx, args).await,
        Area::Broadcast => broadcast::on_callback(&cx, args).await,
    }
}

/// Shows an area's first screen.
pub async fn open(cx: &Cx, area: Area) -> HandlerResult {
    match area {
        Area::Menu => menu::open(cx).await,
        Area::Products => products::open(cx).await,
        Area::Stock => stock::open(cx).await,
        Area::Orders => orders::open(cx).await,
        Area::Customers => customers::open(cx).await,
        Area::Templates => templates::open(cx).await,
        Area::Coupons => coupons::open(cx).await,
        Area::Settings => settings::open(cx).await,
        Area::Admins => admins::open(cx).await,
        Area::Backup => backup::open(cx).await,
        Area::Snk => snk::open(cx).await,
        Area::Audit => audit::open(cx).await,
        Area::Broadcast => broadcast::open(cx).await,
    }
}

/// What an admin sent while an area's dialogue waits for it.
pub async fn on_input(
    bot: StoreBot,
    msg: Message,
    ctx: Arc<StoreCtx>,
    customer: Customer,
    dialogue: CustomerDialogue,
    step: AdminStep,
) -> HandlerResult {
    if msg.text().and_then(super::texts::menu_button).is_some() {
        // The admin moved on to the main menu instead of answering: the dialogue ends.
        dialogue.exit().await?;
        return customer::start::text(bot, msg, ctx, customer, dialogue).await;
    }
    let Some(cx) = Cx::from_message(bot, &msg, ctx, dialogue).await? else {
        // No longer an admin: whatever the dialogue was, it is over.
        return Ok(());
    };
    let step_area = step.area;
    let (step, msg) = (step.step, &msg);
    match step_area {
        Area::Menu => cx.stale().await,
        Area::Products => products::on_input(&cx, step, msg).await,
        Area::Stock => stock::on_input(&cx, step, msg).await,
        Area::Orders => orders::on_input(&cx, step, msg).await,
        Area::Customers => customers::on_input(&cx, step, msg).await,
        Area::Templates => templates::on_input(&cx, step, msg).await,
        Area::Coupons => coupons::on_input(&cx, step, msg).await,
        Area::Settings => settings::on_input(&cx, step, msg).await,
        Area::Admins => admins::on_input(&cx, step, msg).await,
        Area::Backup => backup::on_input(&cx, step, msg).await,
        Area::Snk => snk::on_input(&cx, step, msg).await,
        Area::Audit => audit::on_input(&cx, step, msg).await,
        Area::Broadcast => broadcast::on_input(&cx, step, msg).await,
    }
}

async fn route_confirm(cx: &Cx, step: AdminStep) -> HandlerResult {
    let step_value = step.step;
    match step.area {
        Area::Menu => cx.stale().await,
        Area::Products => products::on_confirm(cx, step_value).await,
        Area::Stock => stock::on_confirm(cx, step_value).await,
        Area::Orders => orders::on_confirm(cx, step_value).await,
        Area::Customers => customers::on_confirm(cx, step_value).await,
        Area::Templates => templates::on_confirm(cx, step_value).await,
        Area::Coupons => coupons::on_confirm(cx, step_value).await,
        Area::Settings => settings::on_confirm(cx, step_value).await,
        Area::Admins => admins::on_confirm(cx, step_value).await,
        Area::Backup => backup::on_confirm(cx, step_value).await,
        Area::Snk => snk::on_confirm(cx, step_value).await,
        Area::Audit => audit::on_confirm(cx, step_value).await,
        Area::Broadcast => broadcast::on_confirm(cx, step_value).await,
    }
}

/// Whether a dialogue state belongs to the admin side (commands end it with a word).
pub fn is_admin_state(state: &State) -> bool {
    matches!(state, State::Admin(_))
}

/// A customer's (or former admin's) attempt at the admin side: logged and counted, never acted on.
fn denied(ctx: &StoreCtx, user: i64, what: &str) {
    let slug = ctx.tenant().slug.clone();
    tracing::warn!(store = %slug, user, what, "a non-admin reached for the admin menu");
    metrics::counter!("tokobot_admin_denied_total", "store" => slug).increment(1);
}

/// Answers a button of a non-admin like any stale button, so nothing admin-only shows.
async fn answer_denied(bot: &StoreBot, q: &CallbackQuery, stale: &str) -> HandlerResult {
    Ok(ui::notice(bot, q, stale, true).await?)
}

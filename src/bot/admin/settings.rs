//! The settings area: the store's numbers (typed), who pays the QRIS fee and the bot's
//! language (buttons that toggle), and the owner's notification switches (buttons).
//!
//! Every change is `tenants::admin::change_setting`, the path `PATCH /api/v1/tenants/{slug}`
//! takes: the same validation, an audit row in the store's log, and the running bot sees the
//! new profile at once (swapped in here, and in every other host process through NOTIFY).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, Message};

use super::{Area, Args, Cx};
use crate::{
    bot::{
        HandlerResult,
        texts::{
            admin::settings::{self as texts, SettingsTexts},
            fill,
        },
    },
    store::{error::OpError, money::rupiah},
    tenants::{
        admin::{SettingChange, change_setting},
        model::{FeePayer, Locale, Notification, Tenant},
    },
};

/// Whether the menu offers this area yet.
pub const READY: bool = true;

/// A setting typed as a number.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
enum Number {
    InvoiceTtl,
    LowStockThreshold,
    DepositMinimum,
    MaxUnpaidOrders,
    BroadcastPerSecond,
}

impl Number {
    fn code(self) -> &'static str {
        match self {
            Number::InvoiceTtl => "ttl",
            Number::LowStockThreshold => "low",
            Number::DepositMinimum => "dep",
            Number::MaxUnpaidOrders => "unp",
            Number::BroadcastPerSecond => "bps",
        }
    }

    fn parse(code: &str) -> Option<Self> {
        [
            Number::InvoiceTtl,
            Number::LowStockThreshold,
            Number::DepositMinimum,
            Number::MaxUnpaidOrders,
            Number::BroadcastPerSecond,
        ]
        .into_iter()
        .find(|n| n.code() == code)
    }

    fn current(self, tenant: &Tenant) -> String {
        let settings = &tenant.settings;
        match self {
            Number::InvoiceTtl => settings.invoice_ttl_minutes.to_string(),
            Number::LowStockThreshold => settings.low_stock_threshold.to_string(),
            Number::DepositMinimum => rupiah(settings.deposit_minimum),
            Number::MaxUnpaidOrders => settings.max_unpaid_orders.to_string(),
            Number::BroadcastPerSecond => settings.broadcast_per_second.to_string(),
        }
    }

    /// The prompt and the line for a wrong answer.
    fn texts(self, t: &SettingsTexts) -> (&'static str, &'static str) {
        match self {
            Number::InvoiceTtl => (t.ttl_prompt, t.ttl_invalid),
            Number::LowStockThreshold => (t.threshold_prompt, t.threshold_invalid),
            Number::DepositMinimum => (t.deposit_prompt, t.deposit_invalid),
            Number::MaxUnpaidOrders => (t.unpaid_prompt, t.unpaid_invalid),
            Number::BroadcastPerSecond => (t.broadcast_prompt, t.broadcast_invalid),
        }
    }

    /// The change a typed value asks for; `None` when it is not a number of the right kind.
    fn change(self, typed: &str) -> Option<SettingChange> {
        // Rupiah are often typed with thousands dots: 10.000.
        let digits: String = typed.trim().chars().filter(|c| *c != '.').collect();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(match self {
            Number::InvoiceTtl => SettingChange::InvoiceTtlMinutes(digits.parse().ok()?),
            Number::LowStockThreshold => SettingChange::LowStockThreshold(digits.parse().ok()?),
            Number::DepositMinimum => SettingChange::DepositMinimum(digits.parse().ok()?),
            Number::MaxUnpaidOrders => SettingChange::MaxUnpaidOrders(digits.parse().ok()?),
            Number::BroadcastPerSecond => SettingChange::BroadcastPerSecond(digits.parse().ok()?),
        })
    }
}

/// The one question of this area: a number.
#[derive(Debug, Serialize, Deserialize)]
struct Step {
    number: Number,
}

pub async fn open(cx: &Cx) -> HandlerResult {
    let tenant = cx.tenant();
    let (text, keyboard) = screen(cx, &tenant);
    cx.show(text, keyboard).await
}

pub async fn on_callback(cx: &Cx, args: &mut Args<'_>) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let change = match args.word() {
        Some("n") => {
            let Some(number) = args.word().and_then(Number::parse) else {
                return cx.toast(cx.t().stale).await;
            };
            let (prompt, _) = number.texts(t);
            let prompt = fill(prompt, &[("value", &number.current(&tenant))]);
            return cx.ask(Area::Settings, &Step { number }, prompt).await;
        }
        Some("fee") => SettingChange::FeePayer(match tenant.settings.fee_payer {
            FeePayer::Customer => FeePayer::Store,
            FeePayer::Store => FeePayer::Customer,
        }),
        Some("pc") => SettingChange::ProtectContent(!tenant.settings.protect_content),
        Some("lang") => SettingChange::Locale(match tenant.locale {
            Locale::Id => Locale::En,
            Locale::En => Locale::Id,
        }),
        Some("t") => {
            let Some(which) = args.word().and_then(Notification::parse) else {
                return cx.toast(cx.t().stale).await;
            };
            let on = tenant.settings.notifications.get(which);
            SettingChange::Notification(which, !on)
        }
        _ => return cx.toast(cx.t().stale).await,
    };
    match apply(cx, change).await? {
        Ok(tenant) => {
            let (text, keyboard) = screen(cx, &tenant);
            cx.show(text, keyboard).await
        }
        Err(refused) => cx.fail(refused, Area::Settings).await,
    }
}

pub async fn on_input(cx: &Cx, step: serde_json::Value, msg: &Message) -> HandlerResult {
    let Some(Step { number }) = Cx::step(step) else {
        return cx.stale().await;
    };
    let t = texts::of(cx.locale);
    let (_, invalid) = number.texts(t);
    let Some(change) = msg.text().and_then(|typed| number.change(typed)) else {
        return cx.again(invalid.to_owned()).await;
    };
    match apply(cx, change).await? {
        Ok(_) => cx.finish(t.saved.to_owned(), Area::Settings).await,
        // Out of range: the same rule as the API's, said the admin's way.
        Err(OpError::Invalid { .. }) => cx.again(invalid.to_owned()).await,
        Err(refused) => cx.fail(refused, Area::Settings).await,
    }
}

pub async fn on_confirm(cx: &Cx, _step: serde_json::Value) -> HandlerResult {
    cx.stale().await
}

/// Changes one setting and swaps the new profile into the running store at once.
async fn apply(cx: &Cx, change: SettingChange) -> anyhow::Result<Result<Arc<Tenant>, OpError>> {
    let slug = cx.tenant().slug.clone();
    match change_setting(&cx.ctx.db, &slug, cx.admin, change).await {
        Ok(tenant) => {
            let tenant = Arc::new(tenant);
            cx.ctx.replace_tenant(Arc::clone(&tenant));
            Ok(Ok(tenant))
        }
        Err(OpError::Database(error)) => Err(error.into()),
        Err(refused) => Ok(Err(refused)),
    }
}

/// The settings as they are, with a button for each.
fn screen(cx: &Cx, tenant: &Tenant) -> (String, InlineKeyboardMarkup) {
    let t = texts::of(cx.locale);
    let settings = &tenant.settings;
    let fee_payer = match settings.fee_payer {
        FeePayer::Customer => t.fee_customer,
        FeePayer::Store => t.fee_store,
    };
    let language = match tenant.locale {
        Locale::Id => t.language_id,
        Locale::En => t.language_en,
    };
    let text = fill(
        t.title,
        &[
            ("ttl", &settings.invoice_ttl_minutes.to_string()),
            ("threshold", &settings.low_stock_threshold.to_string()),
            ("deposit", &rupiah(settings.deposit_minimum)),
            ("unpaid", &settings.max_unpaid_orders.to_string()),
            ("fee_payer", fee_payer),
            ("language", language),
            ("broadcast", &settings.broadcast_per_second.to_string()),
        ],
    );
    let button = |label: String, parts: &[&dyn std::fmt::Display]| {
        InlineKeyboardButton::callback(label, Area::Settings.data(parts))
    };
    let mut rows = vec![
        vec![
            button(t.ttl_button.to_owned(), &[&"n", &Number::InvoiceTtl.code()]),
            button(
                t.threshold_button.to_owned(),
                &[&"n", &Number::LowStockThreshold.code()],
            ),
        ],
        vec![
            button(
                t.deposit_button.to_owned(),
                &[&"n", &Number::DepositMinimum.code()],
            ),
            button(fill(t.fee_button, &[("who", fee_payer)]), &[&"fee"]),
        ],
        vec![button(
            t.unpaid_button.to_owned(),
            &[&"n", &Number::MaxUnpaidOrders.code()],
        )],
        vec![button(
            fill(t.language_button, &[("language", language)]),
            &[&"lang"],
        )],
        vec![button(
            fill(
                t.protect_button,
                &[(
                    "state",
                    if settings.protect_content {
                        t.switch_on
                    } else {
                        t.switch_off
                    },
                )],
            ),
            &[&"pc"],
        )],
        vec![button(
            t.broadcast_button.to_owned(),
            &[&"n", &Number::BroadcastPerSecond.code()],
        )],
    ];
    for which in Notification::ALL {
        let mark = if settings.notifications.get(which) {
            t.switch_on
        } else {
            t.switch_off
        };
        let label = match which {
            Notification::NewOrder => t.notify_new_order,
            Notification::LowStock => t.notify_low_stock,
            Notification::SnkSubmission => t.notify_snk,
            Notification::GatewayFailure => t.notify_gateway,
        };
        rows.push(vec![button(
            format!("{mark} {label}"),
            &[&"t", &which.as_str()],
        )]);
    }
    rows.extend(cx.back_keyboard(Area::Menu).inline_keyboard);
    (text, InlineKeyboardMarkup::new(rows))
}

//! The customers area of the admin menu: search by typed text, a customer's profile, blocking
//! and unblocking, and the balance adjustment dialogue (amount, then reason, then ✅).
//!
//! Every operation is the one the API calls (`store::customers::admin`), acting as the admin,
//! and every typed answer is checked with the domain's own rule before the next question.

use serde::{Deserialize, Serialize};
use teloxide::{
    types::{InlineKeyboardButton, InlineKeyboardMarkup, Message},
    utils::html::escape,
};

use super::{Area, Args, Cx};
use crate::{
    bot::{
        HandlerResult,
        customer::deposit::parse_amount,
        payments::pay_store,
        texts::{
            admin::customers::{self as texts, CustomersTexts},
            fill,
        },
        ui,
    },
    store::{
        customers::admin::{
            self as customer_admin, ADJUSTMENT_LIMIT, Adjustment, Profile, QUERY_MAX_CHARS, Search,
            check_amount, check_reason,
        },
        error::OpError,
        money::rupiah,
        orders::admin::REASON_MAX_CHARS,
        wallet,
    },
};

/// Whether the menu offers this area yet.
pub const READY: bool = true;

/// Search results shown at once; a longer list asks for a more specific search.
const RESULTS: i64 = 10;

/// The questions this area asks.
#[derive(Debug, Serialize, Deserialize)]
enum Step {
    /// Waiting for a search text (and for another one after showing results).
    Search,
    Amount {
        id: i64,
    },
    Reason {
        id: i64,
        amount: i64,
    },
}

/// What ✅ carries out.
#[derive(Debug, Serialize, Deserialize)]
enum Draft {
    Block {
        id: i64,
        blocked: bool,
    },
    Adjust {
        id: i64,
        amount: i64,
        reason: String,
    },
}

pub async fn open(cx: &Cx) -> HandlerResult {
    let t = texts::of(cx.locale);
    cx.ask(Area::Customers, &Step::Search, t.search_prompt.to_owned())
        .await
}

pub async fn on_callback(cx: &Cx, args: &mut Args<'_>) -> HandlerResult {
    let t = texts::of(cx.locale);
    match (args.word(), args.num::<i64>()) {
        (Some("s"), _) => open(cx).await,
        (Some("v"), Some(id)) => view(cx, id).await,
        (Some(op @ ("b" | "u")), Some(id)) => {
            let Some(profile) = load(cx, id).await? else {
                return Ok(());
            };
            let blocked = op == "b";
            let template = if blocked {
                t.confirm_block
            } else {
                t.confirm_unblock
            };
            let summary = fill(
                template,
                &[("name", &name(&profile)), ("id", &id.to_string())],
            );
            cx.confirm(Area::Customers, &Draft::Block { id, blocked }, summary)
                .await
        }
        (Some("bal"), Some(id)) => {
            let Some(profile) = load(cx, id).await? else {
                return Ok(());
            };
            let prompt = fill(
                t.amount_prompt,
                &[
                    ("name", &name(&profile)),
                    ("balance", &rupiah(profile.balance)),
                ],
            );
            cx.ask(Area::Customers, &Step::Amount { id }, prompt).await
        }
        _ => cx.toast(cx.t().stale).await,
    }
}

pub async fn on_input(cx: &Cx, step: serde_json::Value, msg: &Message) -> HandlerResult {
    let Some(step) = Cx::step::<Step>(step) else {
        return cx.stale().await;
    };
    let t = texts::of(cx.locale);
    let Some(text) = msg.text() else {
        return cx.again(cx.t().text_expected.to_owned()).await;
    };
    match step {
        Step::Search => search(cx, t, text).await,
        Step::Amount { id } => {
            let Some(amount) = parse_signed(text).filter(|a| check_amount(*a).is_ok()) else {
                let line = fill(t.amount_invalid, &[("limit", &rupiah(ADJUSTMENT_LIMIT))]);
                return cx.again(line).await;
            };
            // Told now rather than after the reason; the debit's own guard still decides at ✅.
            let Some(profile) = load(cx, id).await? else {
                return Ok(());
            };
            if profile.balance + amount < 0 {
                let line = fill(
                    t.balance_too_low,
                    &[
                        ("balance", &rupiah(profile.balance)),
                        ("amount", &rupiah(-amount)),
                    ],
                );
                return cx.again(line).await;
            }
            let prompt = fill(t.reason_prompt, &[("amount", &signed(amount))]);
            cx.ask(Area::Customers, &Step::Reason { id, amount }, prompt)
                .await
        }
        Step::Reason { id, amount } => {
            let reason = match check_reason(text) {
                Ok(reason) => reason,
                Err(_) if text.trim().is_empty() => {
                    return cx.again(t.reason_missing.to_owned()).await;
                }
                Err(_) if text.trim().chars().count() > REASON_MAX_CHARS => {
                    let line = fill(
                        t.reason_too_long,
                        &[("limit", &REASON_MAX_CHARS.to_string())],
                    );
                    return cx.again(line).await;
                }
                Err(error) => return cx.again(cx.explain(&error)?).await,
            };
            let Some(profile) = load(cx, id).await? else {
                return Ok(());
            };
            let summary = fill(
                t.confirm_adjust,
                &[
                    ("name", &name(&profile)),
                    ("id", &id.to_string()),
                    ("amount", &signed(amount)),
                    ("before", &rupiah(profile.balance)),
                    ("after", &rupiah(profile.balance + amount)),
                    ("reason", &escape(&reason)),
                ],
            );
            let draft = Draft::Adjust { id, amount, reason };
            cx.confirm(Area::Customers, &draft, summary).await
        }
    }
}

pub async fn on_confirm(cx: &Cx, step: serde_json::Value) -> HandlerResult {
    let Some(draft) = Cx::step::<Draft>(step) else {
        return cx.stale().await;
    };
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let actor = cx.actor();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let customer = match &draft {
        Draft::Block { id, .. } | Draft::Adjust { id, .. } => *id,
    };
    cx.ctx
        .customers
        .settle(&mut tx, tenant.id, customer)
        .await?;
    match draft {
        Draft::Block { id, blocked } => {
            let outcome =
                customer_admin::set_blocked(&mut tx, tenant.id, &actor, id, blocked).await;
            if let Err(error) = outcome {
                return cx.fail(error, Area::Customers).await;
            }
            let profile = customer_admin::profile(&mut tx, id).await?;
            tx.commit().await?;
            let template = if blocked { t.blocked } else { t.unblocked };
            let text = fill(template, &[("name", &name(&profile))]);
            cx.finish(text, Area::Customers).await
        }
        Draft::Adjust { id, amount, reason } => {
            let adjustment = Adjustment { amount, reason };
            let outcome =
                customer_admin::adjust_balance(&mut tx, tenant.id, &actor, id, &adjustment).await;
            match outcome {
                Ok(adjusted) => {
                    tx.commit().await?;
                    let text = fill(
                        t.adjusted,
                        &[
                            ("amount", &signed(amount)),
                            ("balance", &rupiah(adjusted.balance)),
                        ],
                    );
                    cx.finish(text, Area::Customers).await?;
                    pay_store(&cx.bot, &cx.ctx)
                        .send_now(&[adjusted.outbox])
                        .await;
                    Ok(())
                }
                Err(OpError::Conflict {
                    code: "balance_too_low",
                    ..
                }) => {
                    drop(tx);
                    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
                    let balance = wallet::balance(&mut tx, id).await?;
                    tx.commit().await?;
                    let line = fill(
                        t.balance_too_low,
                        &[("balance", &rupiah(balance)), ("amount", &rupiah(-amount))],
                    );
                    cx.finish(line, Area::Customers).await
                }
                Err(error) => cx.fail(error, Area::Customers).await,
            }
        }
    }
}

/// The results of a typed search, with the question left open for another search.
async fn search(cx: &Cx, t: &CustomersTexts, text: &str) -> HandlerResult {
    let query = Search {
        query: Some(text.to_owned()),
        after_id: None,
        limit: RESULTS + 1,
    };
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    // Everyone who has written to the store is found, including since the last flush.
    cx.ctx
        .customers
        .settle_store(&mut tx, cx.ctx.tenant_id())
        .await?;
    let found = customer_admin::search(&mut tx, &query).await;
    tx.commit().await?;
    let mut found = match found {
        Ok(found) => found,
        Err(OpError::Database(error)) => return Err(error.into()),
        // The only other refusal of a search is its length (or a NUL no keyboard types).
        Err(_) => {
            let line = fill(t.query_too_long, &[("limit", &QUERY_MAX_CHARS.to_string())]);
            return cx.again(line).await;
        }
    };
    if found.is_empty() {
        return cx.again(t.no_results.to_owned()).await;
    }
    let more = found.len() as i64 > RESULTS;
    found.truncate(RESULTS as usize);
    let mut text = fill(t.results, &[("count", &found.len().to_string())]);
    if more {
        text.push('\n');
        text.push_str(&fill(t.more_results, &[("shown", &RESULTS.to_string())]));
    }
    let mut keyboard: Vec<Vec<InlineKeyboardButton>> = found
        .iter()
        .map(|c| {
            let mut label = c.first_name.clone();
            if let Some(username) = &c.username {
                label.push_str(&format!(" @{username}"));
            }
            label.push_str(&format!(" · {} · {}", c.telegram_id, rupiah(c.balance)));
            if c.blocked_by_store {
                label.push_str(" 🚫");
            }
            vec![InlineKeyboardButton::callback(
                label,
                Area::Customers.data(&[&"v", &c.telegram_id]),
            )]
        })
        .collect();
    // The search question stays open for another search, so its ❌ stays too.
    keyboard.push(vec![InlineKeyboardButton::callback(
        cx.t().cancel_button,
        super::CANCEL,
    )]);
    cx.send(text, InlineKeyboardMarkup::new(keyboard)).await
}

/// The customer `id`, or `None` after telling the admin there is no such customer.
async fn load(cx: &Cx, id: i64) -> anyhow::Result<Option<Profile>> {
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    cx.ctx
        .customers
        .settle(&mut tx, cx.ctx.tenant_id(), id)
        .await?;
    let profile = customer_admin::profile(&mut tx, id).await;
    tx.commit().await?;
    cx.found(profile).await
}

async fn view(cx: &Cx, id: i64) -> HandlerResult {
    let Some(profile) = load(cx, id).await? else {
        return Ok(());
    };
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let status = if profile.blocked_by_store {
        t.status_blocked
    } else if profile.blocked_bot {
        t.status_left
    } else {
        t.status_active
    };
    let recent: Vec<String> = profile
        .recent_orders
        .iter()
        .map(|o| {
            format!(
                "• <code>{}</code> · {} · {}",
                o.code,
                rupiah(o.total),
                escape(&o.status)
            )
        })
        .collect();
    let text = fill(
        t.profile,
        &[
            ("name", &name(&profile)),
            (
                "username",
                &profile
                    .username
                    .as_deref()
                    .map(|u| format!("@{}", escape(u)))
                    .unwrap_or_default(),
            ),
            ("id", &id.to_string()),
            ("status", status),
            ("balance", &rupiah(profile.balance)),
            ("orders", &profile.order_count.to_string()),
            ("paid", &profile.paid_order_count.to_string()),
            ("spent", &rupiah(profile.spent)),
            ("first", &ui::local_time(&tenant, profile.first_seen_at)),
            ("last", &ui::local_time(&tenant, profile.last_seen_at)),
            (
                "recent",
                &if recent.is_empty() {
                    t.no_orders.to_owned()
                } else {
                    recent.join("\n")
                },
            ),
        ],
    );
    let block = if profile.blocked_by_store {
        InlineKeyboardButton::callback(t.unblock, Area::Customers.data(&[&"u", &id]))
    } else {
        InlineKeyboardButton::callback(t.block, Area::Customers.data(&[&"b", &id]))
    };
    let mut keyboard = vec![
        vec![
            block,
            InlineKeyboardButton::callback(t.adjust, Area::Customers.data(&[&"bal", &id])),
        ],
        vec![InlineKeyboardButton::callback(
            t.search_again,
            Area::Customers.data(&[&"s"]),
        )],
    ];
    keyboard.extend(cx.back_keyboard(Area::Menu).inline_keyboard);
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

/// The customer's name as Telegram gave it, escaped for HTML.
fn name(profile: &Profile) -> String {
    let name = match &profile.last_name {
        Some(last) => format!("{} {last}", profile.first_name),
        None => profile.first_name.clone(),
    };
    escape(&name)
}

/// An amount typed with its sign (`+50.000`, `-20000`); no sign means adding.
fn parse_signed(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, rest) = match text.chars().next()? {
        '-' | '−' => (true, &text[text.chars().next()?.len_utf8()..]),
        '+' => (false, &text[1..]),
        _ => (false, text),
    };
    let amount = parse_amount(rest)?;
    Some(if negative { -amount } else { amount })
}

/// An amount with its sign, as the admin typed it: `+Rp 50.000`, `-Rp 20.000`.
fn signed(amount: i64) -> String {
    if amount < 0 {
        format!("-{}", rupiah(-amount))
    } else {
        format!("+{}", rupiah(amount))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_signed;

    #[test]
    fn signed_amounts_are_read_as_admins_type_them() {
        assert_eq!(parse_signed("+50.000"), Some(50_000));
        assert_eq!(parse_signed("-20000"), Some(-20_000));
        assert_eq!(parse_signed("−Rp 5.000"), Some(-5_000));
        assert_eq!(parse_signed("7500"), Some(7_500));
        for bad in ["", "-", "+-5", "abc", "--5"] {
            assert_eq!(parse_signed(bad), None, "{bad}");
        }
    }
}

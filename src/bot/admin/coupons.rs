//! The coupons area: the list with uses, a new coupon in one line (`KODE | 10% | 100`) or
//! step by step (code, discount, uses, minimum order, first and last day), switching one off
//! or on, and deleting (a used one is deactivated instead).
//! Every change is a `store::coupons` operation, the API's own, with its audit row.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, Message};
use time::OffsetDateTime;

use super::{
    Area, Args, Cx,
    page::{PER_PAGE, nav_row, paginate},
};
use crate::{
    bot::{
        HandlerResult,
        customer::deposit::parse_amount,
        texts::{
            admin::coupons::{self as texts, CouponsTexts},
            fill,
        },
        ui,
    },
    store::{
        coupons::{self, Coupon, CouponPatch, Kind, NewCoupon, Removal},
        error::OpError,
        money::rupiah,
    },
};

#[derive(Debug, Serialize, Deserialize)]
enum Step {
    /// Waiting for `KODE | 10% | 100`.
    Line,
    /// Step by step: the code, then the discount, then the uses.
    Code,
    Value {
        code: String,
    },
    Uses {
        code: String,
        value: String,
    },
    /// Then the rest of the draft, each answer optional (`-`): the minimum order, the first
    /// day and the last day.
    MinOrder {
        coupon: NewCoupon,
    },
    ValidFrom {
        coupon: NewCoupon,
    },
    ValidUntil {
        coupon: NewCoupon,
    },
    /// Waiting for ✅ to create it.
    Create {
        coupon: NewCoupon,
    },
    /// Waiting for ✅ to delete it.
    Delete {
        code: String,
    },
}

/// Whether the menu offers this area yet.
pub const READY: bool = true;

/// Every coupon a store could want fits; the list is paged on screen.
const ALL: i64 = 10_000;

pub async fn open(cx: &Cx) -> HandlerResult {
    list(cx, 0).await
}

pub async fn on_callback(cx: &Cx, args: &mut Args<'_>) -> HandlerResult {
    let t = texts::of(cx.locale);
    match (args.word(), args.word()) {
        (Some("l"), page) => list(cx, page.and_then(|p| p.parse().ok()).unwrap_or(0)).await,
        (Some("n"), _) => {
            cx.ask(Area::Coupons, &Step::Line, t.ask_line.to_owned())
                .await
        }
        (Some("s"), _) => {
            cx.ask(Area::Coupons, &Step::Code, t.ask_code.to_owned())
                .await
        }
        (Some("v"), Some(code)) => view(cx, code).await,
        (Some("t"), Some(code)) => switch(cx, code).await,
        (Some("d"), Some(code)) => {
            let summary = fill(t.confirm_delete, &[("code", code)]);
            let step = Step::Delete {
                code: code.to_owned(),
            };
            cx.confirm(Area::Coupons, &step, summary).await
        }
        _ => cx.toast(cx.t().stale).await,
    }
}

pub async fn on_input(cx: &Cx, step: Value, msg: &Message) -> HandlerResult {
    let t = texts::of(cx.locale);
    let Some(step) = Cx::step::<Step>(step) else {
        return cx.stale().await;
    };
    let Some(text) = msg.text().map(str::trim) else {
        return cx.again(cx.t().text_expected.to_owned()).await;
    };
    match step {
        Step::Line => match coupons::parse_line(text) {
            Ok(coupon) => confirm_create(cx, coupon).await,
            Err(error) => cx.again(explain(t, &error, t.bad_line)).await,
        },
        Step::Code => match coupons::check_code(text) {
            Ok(code) => {
                let step = Step::Value { code };
                cx.ask(Area::Coupons, &step, t.ask_value.to_owned()).await
            }
            Err(_) => cx.again(t.bad_code.to_owned()).await,
        },
        Step::Value { code } => match coupons::parse_line(&format!("{code} | {text}")) {
            Ok(_) => {
                let step = Step::Uses {
                    code,
                    value: text.to_owned(),
                };
                cx.ask(Area::Coupons, &step, t.ask_uses.to_owned()).await
            }
            Err(_) => cx.again(t.bad_value.to_owned()).await,
        },
        Step::Uses { code, value } => {
            match coupons::parse_line(&format!("{code} | {value} | {text}")) {
                Ok(coupon) => {
                    let step = Step::MinOrder { coupon };
                    cx.ask(Area::Coupons, &step, t.ask_min.to_owned()).await
                }
                Err(_) => cx.again(t.bad_uses.to_owned()).await,
            }
        }
        Step::MinOrder { mut coupon } => {
            let min_order = if text == SKIP {
                Some(0)
            } else {
                parse_amount(text)
            };
            let Some(min_order) = min_order else {
                return cx.again(t.bad_min.to_owned()).await;
            };
            coupon.min_order = min_order;
            // The domain's own rule decides, so the bot and the API refuse the same amounts.
            if coupon.to_coupon().is_err() {
                return cx.again(t.bad_min.to_owned()).await;
            }
            let step = Step::ValidFrom { coupon };
            cx.ask(Area::Coupons, &step, t.ask_from.to_owned()).await
        }
        Step::ValidFrom { mut coupon } => {
            if text != SKIP {
                let Some((first, _)) = parse_day(text, &cx.tenant().timezone) else {
                    return cx.again(t.bad_date.to_owned()).await;
                };
                coupon.valid_from = Some(first);
            }
            let step = Step::ValidUntil { coupon };
            cx.ask(Area::Coupons, &step, t.ask_until.to_owned()).await
        }
        Step::ValidUntil { mut coupon } => {
            if text != SKIP {
                let Some((_, after)) = parse_day(text, &cx.tenant().timezone) else {
                    return cx.again(t.bad_date.to_owned()).await;
                };
                if after <= OffsetDateTime::now_utc() {
                    return cx.again(t.until_past.to_owned()).await;
                }
                // Stored as the first moment it no longer applies: the day after the last.
                coupon.valid_until = Some(after);
                if coupon.to_coupon().is_err() {
                    return cx.again(t.until_before_from.to_owned()).await;
                }
            }
            confirm_create(cx, coupon).await
        }
        Step::Create { .. } | Step::Delete { .. } => cx.stale().await,
    }
}

pub async fn on_confirm(cx: &Cx, step: Value) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let text = match Cx::step::<Step>(step) {
        Some(Step::Create { coupon }) => {
            match coupons::create(&mut tx, tenant.id, &cx.actor(), &coupon).await {
                Ok(created) => fill(t.created, &[("code", &created.code)]),
                Err(error) => return cx.fail(error, Area::Coupons).await,
            }
        }
        Some(Step::Delete { code }) => {
            match coupons::delete(&mut tx, tenant.id, &cx.actor(), &code).await {
                Ok(Removal::Deleted) => fill(t.deleted, &[("code", &code)]),
                Ok(Removal::Deactivated) => fill(t.deactivated_instead, &[("code", &code)]),
                Err(error) => return cx.fail(error, Area::Coupons).await,
            }
        }
        _ => return cx.stale().await,
    };
    tx.commit().await?;
    cx.finish(text, Area::Coupons).await
}

async fn confirm_create(cx: &Cx, coupon: NewCoupon) -> HandlerResult {
    let t = texts::of(cx.locale);
    // `parse_line` has checked it; the code is shown as it will be stored.
    let Ok(checked) = coupon.to_coupon() else {
        return cx.again(t.bad_line.to_owned()).await;
    };
    let tenant = cx.tenant();
    let summary = fill(
        t.summary,
        &[
            ("code", &checked.code),
            ("value", &discount(&checked)),
            ("max", &max_uses(t, &checked)),
            ("min", &rupiah(checked.min_order)),
            (
                "from",
                &checked
                    .valid_from
                    .map_or_else(|| t.from_now.to_owned(), |at| ui::local_time(&tenant, at)),
            ),
            (
                "until",
                &checked
                    .valid_until
                    .map_or_else(|| t.no_end.to_owned(), |at| ui::local_time(&tenant, at)),
            ),
        ],
    );
    cx.confirm(Area::Coupons, &Step::Create { coupon }, summary)
        .await
}

/// The coupons with their uses, a page at a time, each with a button to open it.
async fn list(cx: &Cx, page: u32) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let all = coupons::list(&mut tx, None, ALL).await?;
    tx.commit().await?;
    let mut keyboard = vec![
        vec![InlineKeyboardButton::callback(
            t.new_line,
            Area::Coupons.data(&[&"n"]),
        )],
        vec![InlineKeyboardButton::callback(
            t.new_steps,
            Area::Coupons.data(&[&"s"]),
        )],
    ];
    let text = if all.is_empty() {
        t.empty.to_owned()
    } else {
        let paged = paginate(all.len(), page, PER_PAGE);
        let shown = &all[paged.start..paged.end];
        let mut text = fill(t.title, &[("count", &all.len().to_string())]);
        for coupon in shown {
            text.push('\n');
            text.push_str(&row(t, coupon));
        }
        let buttons: Vec<InlineKeyboardButton> = shown
            .iter()
            .map(|c| {
                InlineKeyboardButton::callback(c.code.clone(), Area::Coupons.data(&[&"v", &c.code]))
            })
            .collect();
        keyboard.extend(buttons.chunks(2).map(<[_]>::to_vec));
        let nav = nav_row(cx.t(), paged, |p| Area::Coupons.data(&[&"l", &p]));
        if !nav.is_empty() {
            keyboard.push(nav);
        }
        text
    };
    keyboard.extend(cx.back_keyboard(Area::Menu).inline_keyboard);
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

async fn view(cx: &Cx, code: &str) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let coupon = coupons::find(&mut tx, code).await?;
    tx.commit().await?;
    let Some(coupon) = coupon else {
        return cx.fail(OpError::not_found("coupon"), Area::Coupons).await;
    };
    let text = fill(
        t.view,
        &[
            ("code", &coupon.code),
            ("value", &discount(&coupon)),
            ("used", &coupon.used_count.to_string()),
            ("max", &max_uses(t, &coupon)),
            ("min", &rupiah(coupon.min_order)),
            (
                "until",
                &coupon
                    .valid_until
                    .map_or_else(|| "-".to_owned(), |at| ui::local_time(&tenant, at)),
            ),
            ("state", state(t, coupon.active)),
        ],
    );
    let switch = if coupon.active {
        t.deactivate
    } else {
        t.activate
    };
    let mut keyboard = vec![
        vec![InlineKeyboardButton::callback(
            switch,
            Area::Coupons.data(&[&"t", &coupon.code]),
        )],
        vec![InlineKeyboardButton::callback(
            t.delete,
            Area::Coupons.data(&[&"d", &coupon.code]),
        )],
    ];
    keyboard.extend(cx.back_keyboard(Area::Coupons).inline_keyboard);
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

/// Switches a coupon off (or back on) at once: it is undone as easily as it is done.
async fn switch(cx: &Cx, code: &str) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let Some(coupon) = coupons::find(&mut tx, code).await? else {
        return cx.fail(OpError::not_found("coupon"), Area::Coupons).await;
    };
    let patch = CouponPatch {
        active: Some(!coupon.active),
        ..CouponPatch::default()
    };
    let changed = match coupons::update(&mut tx, tenant.id, &cx.actor(), code, patch).await {
        Ok(changed) => changed,
        Err(error) => return cx.fail(error, Area::Coupons).await,
    };
    tx.commit().await?;
    let text = fill(
        t.switched,
        &[("code", &changed.code), ("state", state(t, changed.active))],
    );
    cx.finish(text, Area::Coupons).await
}

fn row(t: &CouponsTexts, coupon: &Coupon) -> String {
    fill(
        t.row,
        &[
            ("code", &coupon.code),
            ("value", &discount(coupon)),
            ("used", &coupon.used_count.to_string()),
            ("max", &max_uses(t, coupon)),
            ("state", state(t, coupon.active)),
        ],
    )
}

fn discount(coupon: &Coupon) -> String {
    match coupon.kind {
        Kind::Percent => format!("{}%", coupon.value),
        Kind::Flat => rupiah(coupon.value),
    }
}

fn max_uses(t: &CouponsTexts, coupon: &Coupon) -> String {
    coupon
        .max_uses
        .map_or_else(|| t.unlimited.to_owned(), |m| m.to_string())
}

fn state(t: &CouponsTexts, active: bool) -> &'static str {
    if active { t.active } else { t.inactive }
}

/// The answer that skips an optional step.
const SKIP: &str = "-";

/// Reads a day as admins type it, `31/12/2026` or `2026-12-31`, in the store's time zone;
/// returns its first moment and the first moment of the day after.
fn parse_day(text: &str, timezone: &str) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let date = jiff::civil::Date::strptime("%d/%m/%Y", text)
        .or_else(|_| text.parse::<jiff::civil::Date>())
        .ok()?;
    let zone = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let start = |day: jiff::civil::Date| {
        let second = day.to_zoned(zone.clone()).ok()?.timestamp().as_second();
        OffsetDateTime::from_unix_timestamp(second).ok()
    };
    Some((start(date)?, start(date.tomorrow().ok()?)?))
}

/// One line for a refused one-line coupon: the field's own hint, else the format.
fn explain(t: &CouponsTexts, error: &OpError, fallback: &str) -> String {
    match error {
        OpError::Invalid { field: "code", .. } => t.bad_code.to_owned(),
        OpError::Invalid { field: "value", .. } => t.bad_value.to_owned(),
        OpError::Invalid {
            field: "max_uses", ..
        } => t.bad_uses.to_owned(),
        _ => fallback.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_day;

    #[test]
    fn a_day_is_read_in_the_stores_time_zone_in_either_format() {
        let (first, after) = parse_day("31/01/2027", "Asia/Jakarta").unwrap();
        assert_eq!(first.unix_timestamp(), 1_801_328_400);
        assert_eq!(after.unix_timestamp() - first.unix_timestamp(), 86_400);
        assert_eq!(parse_day("2027-01-31", "Asia/Jakarta").unwrap().0, first);
        for bad in ["31/13/2027", "besok", "2027-02-30", ""] {
            assert!(parse_day(bad, "Asia/Jakarta").is_none(), "{bad}");
        }
    }
}

//! The orders area of the admin menu: the list with status filters and pages, an order's
//! detail, and marking it paid, cancelling, refunding (in full, or a typed amount) and sending
//! its goods again, each after a confirmation.
//!
//! Every operation is the one the API calls (`store::orders::admin`, `service::orders` for a
//! cancel), acting as the admin. Buttons carry the order's code: `a:or:v:<code>` opens it,
//! `a:or:l:<filter>:<before>` lists (a status filter and the id cursor of older pages).

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
            admin::orders::{self as texts, OrdersTexts},
            fill,
        },
        ui,
    },
    service::{self, ServiceError},
    store::{
        money::rupiah,
        orders::{
            Status,
            admin::{self as order_admin, Detail, Filter, RefundInput},
        },
    },
};

/// Whether the menu offers this area yet.
pub const READY: bool = true;

/// Orders on one page; each is one button, so a page is short whatever the codes.
const PER_PAGE: i64 = 10;

/// The filters offered, as they travel in button data.
const FILTERS: [(&str, Option<Status>); 6] = [
    ("-", None),
    ("aw", Some(Status::AwaitingPayment)),
    ("pd", Some(Status::Paid)),
    ("dl", Some(Status::Delivered)),
    ("cn", Some(Status::Cancelled)),
    ("ex", Some(Status::Expired)),
];

/// The filter of orders whose payment is held for review, offered on a row of its own.
const REVIEW: &str = "rv";

/// What ✅ carries out.
#[derive(Debug, Serialize, Deserialize)]
enum Draft {
    MarkPaid {
        code: String,
    },
    Cancel {
        code: String,
    },
    /// `amount` absent: the whole total.
    Refund {
        code: String,
        amount: Option<i64>,
        reason: String,
    },
    Resend {
        code: String,
    },
}

/// The questions this area asks: how much of an order to refund, then why.
#[derive(Debug, Serialize, Deserialize)]
enum Step {
    RefundAmount {
        code: String,
        total: i64,
    },
    /// `amount` absent: the whole total.
    RefundReason {
        code: String,
        amount: Option<i64>,
    },
}

pub async fn open(cx: &Cx) -> HandlerResult {
    list(cx, "-", 0).await
}

pub async fn on_callback(cx: &Cx, args: &mut Args<'_>) -> HandlerResult {
    let t = texts::of(cx.locale);
    let action = args.word();
    if action == Some("l") {
        let filter = args
            .word()
            .filter(|f| *f == REVIEW || FILTERS.iter().any(|(k, _)| k == f));
        return match filter {
            Some(filter) => list(cx, filter, args.num().unwrap_or(0)).await,
            None => cx.toast(cx.t().stale).await,
        };
    }
    let Some(code) = args.word().map(str::to_owned) else {
        return cx.toast(cx.t().stale).await;
    };
    match action {
        Some("v") => view(cx, &code).await,
        Some("rf") => {
            let Some(detail) = load(cx, &code).await? else {
                return Ok(());
            };
            ask_reason(cx, &detail, None).await
        }
        Some(op @ ("mp" | "c" | "rs")) => {
            let Some(detail) = load(cx, &code).await? else {
                return Ok(());
            };
            let (draft, summary) = match op {
                "mp" => (
                    Draft::MarkPaid { code },
                    fill(
                        t.confirm_mark_paid,
                        &[("code", &detail.code), ("total", &rupiah(detail.total))],
                    ),
                ),
                "c" => (
                    Draft::Cancel { code },
                    fill(t.confirm_cancel, &[("code", &detail.code)]),
                ),
                _ => (
                    Draft::Resend { code },
                    fill(t.confirm_resend, &[("code", &detail.code)]),
                ),
            };
            cx.confirm(Area::Orders, &draft, summary).await
        }
        Some("rp") => {
            let Some(detail) = load(cx, &code).await? else {
                return Ok(());
            };
            let prompt = fill(
                t.refund_amount_prompt,
                &[("code", &detail.code), ("total", &rupiah(detail.total))],
            );
            let step = Step::RefundAmount {
                code: detail.code,
                total: detail.total,
            };
            cx.ask(Area::Orders, &step, prompt).await
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
        Step::RefundAmount { code, total } => {
            // The domain's own rule decides, so the bot and the API refuse the same amounts.
            let checked = parse_amount(text)
                .and_then(|amount| order_admin::refund_amount(Some(amount), total).ok());
            let Some(amount) = checked else {
                let line = fill(t.refund_amount_invalid, &[("total", &rupiah(total))]);
                return cx.again(line).await;
            };
            let Some(detail) = load(cx, &code).await? else {
                return Ok(());
            };
            ask_reason(cx, &detail, Some(amount)).await
        }
        Step::RefundReason { code, amount } => {
            let reason = text.trim();
            if reason.is_empty() {
                return cx.again(t.reason_missing.to_owned()).await;
            }
            let Ok(reason) = order_admin::check_reason(reason) else {
                let limit = order_admin::REASON_MAX_CHARS.to_string();
                return cx
                    .again(fill(t.reason_too_long, &[("limit", &limit)]))
                    .await;
            };
            let Some(detail) = load(cx, &code).await? else {
                return Ok(());
            };
            let summary = refund_summary(t, &detail, amount.unwrap_or(detail.total), &reason);
            let draft = Draft::Refund {
                code,
                amount,
                reason,
            };
            cx.confirm(Area::Orders, &draft, summary).await
        }
    }
}

/// Asks why `detail` is refunded (`amount`, or its whole total): required, as for a balance
/// adjustment, so the ledger and the audit log always say why money moved.
async fn ask_reason(cx: &Cx, detail: &Detail, amount: Option<i64>) -> HandlerResult {
    let t = texts::of(cx.locale);
    let prompt = fill(
        t.refund_reason_prompt,
        &[
            ("code", &detail.code),
            ("amount", &rupiah(amount.unwrap_or(detail.total))),
        ],
    );
    let step = Step::RefundReason {
        code: detail.code.clone(),
        amount,
    };
    cx.ask(Area::Orders, &step, prompt).await
}

pub async fn on_confirm(cx: &Cx, step: serde_json::Value) -> HandlerResult {
    let Some(draft) = Cx::step::<Draft>(step) else {
        return cx.stale().await;
    };
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let store = pay_store(&cx.bot, &cx.ctx);
    let actor = cx.actor();
    let outcome = match &draft {
        Draft::Cancel { code } => match service::orders::cancel(&store, &actor, code).await {
            Ok(()) => Ok((fill(t.cancelled_done, &[("code", code)]), Vec::new())),
            Err(ServiceError::Op(error)) => Err(error),
            Err(ServiceError::Failed(error)) => return Err(error),
        },
        Draft::MarkPaid { code } => {
            let mut tx = cx.ctx.db.tenant(tenant.id).await?;
            match order_admin::mark_paid(&mut tx, tenant.id, &actor, code).await {
                Ok(paid) => {
                    tx.commit().await?;
                    cx.ctx.catalog.invalidate_stock(tenant.id);
                    let text = fill(t.marked_paid, &[("code", &paid.order.code)]);
                    Ok((text, paid.outbox))
                }
                Err(error) => Err(error),
            }
        }
        Draft::Refund {
            code,
            amount,
            reason,
        } => {
            let input = RefundInput {
                amount: *amount,
                reason: Some(reason.clone()),
            };
            let mut tx = cx.ctx.db.tenant(tenant.id).await?;
            match order_admin::refund(&mut tx, tenant.id, &actor, code, &input).await {
                Ok(refunded) => {
                    tx.commit().await?;
                    let text = fill(
                        t.refunded,
                        &[
                            ("code", &refunded.code),
                            ("amount", &rupiah(refunded.amount)),
                            ("balance", &rupiah(refunded.balance)),
                        ],
                    );
                    Ok((text, vec![refunded.outbox]))
                }
                Err(error) => Err(error),
            }
        }
        Draft::Resend { code } => {
            let mut tx = cx.ctx.db.tenant(tenant.id).await?;
            match order_admin::resend(&mut tx, tenant.id, &actor, code).await {
                Ok(outbox) => {
                    tx.commit().await?;
                    Ok((fill(t.resent, &[("code", code)]), vec![outbox]))
                }
                Err(error) => Err(error),
            }
        }
    };
    match outcome {
        Ok((text, outbox)) => {
            cx.finish(text, Area::Orders).await?;
            store.send_now(&outbox).await;
            Ok(())
        }
        Err(error) => {
            let line = cx.explain(&error)?;
            cx.finish(line, Area::Orders).await
        }
    }
}

fn refund_summary(t: &OrdersTexts, detail: &Detail, amount: i64, reason: &str) -> String {
    fill(
        t.confirm_refund,
        &[
            ("code", &detail.code),
            ("amount", &rupiah(amount)),
            ("customer", &detail.customer.telegram_id.to_string()),
            ("reason", &escape(reason)),
        ],
    )
}

/// The order `code`, or `None` after telling the admin it is gone.
async fn load(cx: &Cx, code: &str) -> anyhow::Result<Option<Detail>> {
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let detail = order_admin::detail(&mut tx, code).await;
    tx.commit().await?;
    cx.found(detail).await
}

fn status_label(t: &OrdersTexts, status: &str) -> &'static str {
    match Status::from_name(status) {
        Some(Status::AwaitingPayment) => t.awaiting,
        Some(Status::Paid) => t.paid,
        Some(Status::Delivered) => t.delivered,
        Some(Status::Cancelled) => t.cancelled,
        Some(Status::Expired) | None => t.expired,
    }
}

fn filter_label(t: &OrdersTexts, status: Option<Status>) -> &'static str {
    match status {
        None => t.all,
        Some(status) => status_label(t, status.as_str()),
    }
}

/// A page of orders matching `filter` older than the order `before` (0: the newest).
async fn list(cx: &Cx, filter: &str, before: i64) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let status = FILTERS
        .iter()
        .find(|(key, _)| *key == filter)
        .and_then(|(_, status)| *status);
    let review = filter == REVIEW;
    let query = Filter {
        status,
        review,
        before_id: (before > 0).then_some(before),
        limit: PER_PAGE + 1,
        ..Filter::default()
    };
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let mut rows = order_admin::list(&mut tx, &tenant.timezone, &query).await?;
    tx.commit().await?;
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);

    let mut keyboard: Vec<Vec<InlineKeyboardButton>> = FILTERS
        .chunks(3)
        .map(|chunk| {
            chunk
                .iter()
                .map(|(key, status)| {
                    let label = filter_label(t, *status);
                    let label = if *key == filter {
                        format!("• {label}")
                    } else {
                        label.to_owned()
                    };
                    InlineKeyboardButton::callback(label, Area::Orders.data(&[&"l", key, &0]))
                })
                .collect()
        })
        .collect();
    let review_label = if review {
        format!("• {}", t.review)
    } else {
        t.review.to_owned()
    };
    keyboard.push(vec![InlineKeyboardButton::callback(
        review_label,
        Area::Orders.data(&[&"l", &REVIEW, &0]),
    )]);
    for row in &rows {
        let flag = if row.payment_review { "⚠️ " } else { "" };
        let label = format!(
            "{flag}{} · {} · {}",
            row.code,
            rupiah(row.total),
            status_label(t, &row.status)
        );
        keyboard.push(vec![InlineKeyboardButton::callback(
            label,
            Area::Orders.data(&[&"v", &row.code]),
        )]);
    }
    let mut nav = Vec::new();
    if before > 0 {
        nav.push(InlineKeyboardButton::callback(
            t.newest,
            Area::Orders.data(&[&"l", &filter, &0]),
        ));
    }
    if let (true, Some(last)) = (more, rows.last()) {
        nav.push(InlineKeyboardButton::callback(
            t.older,
            Area::Orders.data(&[&"l", &filter, &last.id]),
        ));
    }
    if !nav.is_empty() {
        keyboard.push(nav);
    }
    keyboard.extend(cx.back_keyboard(Area::Menu).inline_keyboard);
    let text = if rows.is_empty() {
        t.empty.to_owned()
    } else {
        let label = if review {
            t.review
        } else {
            filter_label(t, status)
        };
        fill(t.title, &[("filter", label)])
    };
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

/// An order's detail with the buttons its status allows.
async fn view(cx: &Cx, code: &str) -> HandlerResult {
    let Some(detail) = load(cx, code).await? else {
        return Ok(());
    };
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let items: Vec<String> = detail
        .items
        .iter()
        .map(|line| {
            format!(
                "• {} × {} = {}",
                escape(&line.product_name),
                line.quantity,
                rupiah(line.unit_price * i64::from(line.quantity))
            )
        })
        .collect();
    let buyer = &detail.customer;
    let customer = match (&buyer.name, &buyer.username) {
        (Some(name), Some(username)) => format!(
            "{} (@{}, <code>{}</code>)",
            escape(name),
            escape(username),
            buyer.telegram_id
        ),
        (Some(name), None) => format!("{} (<code>{}</code>)", escape(name), buyer.telegram_id),
        _ => format!("<code>{}</code>", buyer.telegram_id),
    };
    let payment = match &detail.payment {
        Some(invoice) => {
            let line = fill(
                t.payment_line,
                &[
                    ("status", &invoice.status),
                    ("total", &rupiah(invoice.total_payment)),
                    ("received", &rupiah(invoice.amount)),
                ],
            );
            match &invoice.review_reason {
                Some(facts) => line + &fill(t.review_line, &[("facts", &escape(facts))]),
                None => line,
            }
        }
        None => t.no_payment.to_owned(),
    };
    let delivery = match &detail.delivery {
        Some(delivery) => fill(
            t.delivery_line,
            &[
                ("status", &delivery.status),
                ("attempts", &delivery.attempts.to_string()),
            ],
        ),
        None => t.not_delivered.to_owned(),
    };
    let refund = detail
        .refunded_amount
        .map(|amount| fill(t.refund_line, &[("amount", &rupiah(amount))]))
        .unwrap_or_default();
    let text = fill(
        t.view,
        &[
            ("code", &detail.code),
            ("status", status_label(t, &detail.status)),
            ("created", &ui::local_time(&tenant, detail.created_at)),
            ("customer", &customer),
            ("items", &items.join("\n")),
            ("total", &rupiah(detail.total)),
            ("method", detail.payment_method.as_deref().unwrap_or("-")),
            ("payment", &payment),
            ("delivery", &delivery),
            ("refund", &refund),
        ],
    );
    let button = |label: &str, op: &str| {
        InlineKeyboardButton::callback(label, Area::Orders.data(&[&op, &detail.code]))
    };
    let mut keyboard = Vec::new();
    match Status::from_name(&detail.status) {
        Some(Status::AwaitingPayment) => {
            keyboard.push(vec![button(t.mark_paid, "mp"), button(t.cancel, "c")]);
        }
        Some(Status::Paid | Status::Delivered) => {
            if detail.refunded_amount.is_none() {
                keyboard.push(vec![
                    button(t.refund_full, "rf"),
                    button(t.refund_part, "rp"),
                ]);
            }
            keyboard.push(vec![button(t.resend, "rs")]);
        }
        // An order that ended can still be marked paid if its goods are there.
        Some(Status::Expired | Status::Cancelled) | None => {
            keyboard.push(vec![button(t.mark_paid, "mp")]);
        }
    }
    keyboard.extend(cx.back_keyboard(Area::Orders).inline_keyboard);
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

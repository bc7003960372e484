//! The payment messages of the outbox, rendered when they are sent, in the reader's language:
//! payment received, invoice closed, the terms (SNK) of delivered products, the admins' notice,
//! the owner's gateway alert and the owner's alert of a payment held for review.

use teloxide::{
    prelude::*,
    types::{ChatId, InlineKeyboardMarkup, MessageId},
    utils::html::escape,
};

use crate::{
    bot::{
        HandlerResult, StoreBot, StoreCtx,
        callbacks::Callback,
        events,
        texts::{Texts, fill, texts},
        ui::{self, button},
    },
    db::TenantTx,
    store::{
        money::rupiah,
        orders::{self, Order},
        outbox::{Claimed, Message},
        payments::{self, Kind, Outcome, Payment, Status},
        templates::{INVOICE_EXPIRED, PAYMENT_RECEIVED},
        wallet,
    },
};

/// Sends one payment message of the outbox; other kinds are not for this module.
pub async fn send(bot: &StoreBot, ctx: &StoreCtx, claimed: &Claimed) -> HandlerResult {
    let chat = ChatId(claimed.chat_id);
    let t = texts(ctx.locale_of(claimed.chat_id));
    let text = match &claimed.message {
        Message::InvoiceClosed { payment_id } => {
            let Some((payment, order)) = load(ctx, *payment_id).await? else {
                return Ok(());
            };
            remove_invoice(bot, &payment).await;
            // An order paid another way (balance, by hand) only loses its unused invoice.
            if order.as_ref().is_some_and(|o| o.status.is_paid()) {
                return Ok(());
            }
            closed(ctx, t, &payment, &code_of(order.as_ref())).await?
        }
        Message::AdminPayment { payment_id } => {
            let Some((payment, order)) = load(ctx, *payment_id).await? else {
                return Ok(());
            };
            admin_notice(t, &payment, order.as_ref())
        }
        Message::GatewayAlert { failures, error } => fill(
            t.gateway_alert,
            &[
                ("failures", &failures.to_string()),
                ("error", &escape(error)),
            ],
        ),
        Message::PaymentReview { payment_id } => {
            let Some((payment, order)) = load(ctx, *payment_id).await? else {
                return Ok(());
            };
            // Marked paid by hand meanwhile: the store decided, nothing to check any more.
            if order.as_ref().is_some_and(|o| o.status.is_paid()) {
                return Ok(());
            }
            let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
            let facts = payments::review_reason(&mut tx, payment.id).await?;
            tx.commit().await?;
            let Some(facts) = facts else {
                return Ok(());
            };
            fill(
                t.payment_review_alert,
                &[
                    ("reference", &escape(&payment.gateway_order_id)),
                    ("facts", &escape(&facts)),
                ],
            )
        }
        Message::Snk { order_id } => return send_terms(bot, ctx, t, chat, *order_id).await,
        // Read with the batch it was claimed in (`bot::delivery`), then sent by
        // [`send_received`].
        Message::PaymentReceived { .. }
        | Message::DeliverOrder { .. }
        | Message::Text { .. }
        | Message::OrderPaid { .. }
        | Message::LowStock { .. }
        | Message::OrderRefunded { .. }
        | Message::BalanceAdjusted { .. }
        | Message::OrderCancelled { .. }
        | Message::TokenRestored { .. } => return Ok(()),
    };
    Ok(ui::send(bot, chat, text, None).await?)
}

/// What the customer of a payment reads once it arrived, from what the outbox's batch read
/// for it: the payment, its order, and the store's own `payment_received` text
/// ([`received_text`]).
pub struct Received {
    pub payment: Payment,
    pub order: Option<Order>,
    pub own: Option<String>,
}

/// The store's own text for the payment's notice, read in the caller's transaction: only a
/// delivered order has one.
pub async fn received_text(
    ctx: &StoreCtx,
    tx: &mut TenantTx,
    payment: &Payment,
    order: Option<&Order>,
) -> sqlx::Result<Option<String>> {
    match (payment.outcome, order) {
        (Some(Outcome::Delivered) | None, Some(order)) => {
            events::render(ctx, tx, PAYMENT_RECEIVED, order.customer_id, Some(order)).await
        }
        _ => Ok(None),
    }
}

/// Tells the customer their payment arrived (and what became of it), and takes the invoice
/// photo out of the chat.
pub async fn send_received(
    bot: &StoreBot,
    ctx: &StoreCtx,
    chat: i64,
    read: Received,
) -> HandlerResult {
    let t = texts(ctx.locale_of(chat));
    remove_invoice(bot, &read.payment).await;
    let text = received(ctx, t, &read.payment, read.order.as_ref(), read.own).await?;
    Ok(ui::send(bot, ChatId(chat), text, None).await?)
}

/// The payment and, for an order, the order.
async fn load(ctx: &StoreCtx, payment_id: i64) -> anyhow::Result<Option<(Payment, Option<Order>)>> {
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let loaded = load_in(&mut tx, payment_id).await?;
    tx.commit().await?;
    Ok(loaded)
}

/// The payment and its order, in the caller's transaction.
async fn load_in(
    tx: &mut TenantTx,
    payment_id: i64,
) -> sqlx::Result<Option<(Payment, Option<Order>)>> {
    let Some(payment) = payments::get(tx, payment_id).await? else {
        return Ok(None);
    };
    let order = match payment.order_id {
        Some(order_id) => orders::get(tx, order_id).await?,
        None => None,
    };
    Ok(Some((payment, order)))
}

/// The order's code, empty for a deposit.
fn code_of(order: Option<&Order>) -> String {
    order.map(|o| o.code.clone()).unwrap_or_default()
}

/// Takes the invoice photo out of the chat. Best effort: Telegram refuses to delete messages
/// older than two days, and the text that follows says what happened anyway.
async fn remove_invoice(bot: &StoreBot, payment: &Payment) {
    if let (Some(chat), Some(message)) = (payment.invoice_chat_id, payment.invoice_message_id)
        && let Err(error) = bot.delete_message(ChatId(chat), MessageId(message)).await
    {
        tracing::debug!(%error, "could not delete an invoice photo");
    }
}

/// The customer's notice of a payment; `own` is the store's own text for a delivered order.
async fn received(
    ctx: &StoreCtx,
    t: &Texts,
    payment: &Payment,
    order: Option<&Order>,
    own: Option<String>,
) -> anyhow::Result<String> {
    let code = &code_of(order);
    // A deposit credits its base amount; a late payment credits what the customer paid for
    // the order, which is the whole total when the store bore the fee.
    let amount = rupiah(order.map_or(payment.amount, |o| payment.paid_for_order(o.total)));
    Ok(match payment.outcome {
        Some(Outcome::Delivered) | None => match own {
            Some(text) => text,
            None => fill(
                t.paid_order,
                &[("code", code), ("total", &rupiah(payment.total_payment))],
            ),
        },
        Some(Outcome::LateDelivered) => fill(t.paid_late_delivered, &[("code", code)]),
        Some(outcome @ (Outcome::Credited | Outcome::Deposited)) => {
            let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
            let balance = rupiah(wallet::balance(&mut tx, payment.customer_id).await?);
            tx.commit().await?;
            if outcome == Outcome::Deposited {
                fill(
                    t.paid_deposit,
                    &[("amount", &amount), ("balance", &balance)],
                )
            } else {
                fill(
                    t.paid_late_credited,
                    &[("code", code), ("amount", &amount), ("balance", &balance)],
                )
            }
        }
    })
}

async fn closed(
    ctx: &StoreCtx,
    t: &Texts,
    payment: &Payment,
    code: &str,
) -> anyhow::Result<String> {
    let amount = rupiah(payment.amount);
    Ok(match (payment.kind, payment.status) {
        (Kind::Order, Status::Cancelled) => t.order_cancelled.to_owned(),
        (Kind::Order, _) => match own_text(ctx, payment, INVOICE_EXPIRED).await? {
            Some(text) => text,
            None => fill(t.order_expired_notice, &[("code", code)]),
        },
        (Kind::Deposit, Status::Cancelled) => fill(t.deposit_cancelled, &[("amount", &amount)]),
        (Kind::Deposit, _) => fill(t.deposit_expired, &[("amount", &amount)]),
    })
}

/// The store's own text `name` for the order of `payment`; `None` when it wrote none.
async fn own_text(ctx: &StoreCtx, payment: &Payment, name: &str) -> anyhow::Result<Option<String>> {
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let order = match payment.order_id {
        Some(order_id) => orders::get(&mut tx, order_id).await?,
        None => None,
    };
    let text = match &order {
        Some(order) => events::render(ctx, &mut tx, name, order.customer_id, Some(order)).await?,
        None => None,
    };
    tx.commit().await?;
    Ok(text)
}

fn admin_notice(t: &Texts, payment: &Payment, order: Option<&Order>) -> String {
    let subject = match payment.kind {
        Kind::Order => fill(t.admin_subject_order, &[("code", &code_of(order))]),
        Kind::Deposit => t.admin_subject_deposit.to_owned(),
    };
    let outcome = match payment.outcome {
        Some(Outcome::Delivered) | None => t.outcome_delivered,
        Some(Outcome::LateDelivered) => t.outcome_late_delivered,
        Some(Outcome::Credited) => t.outcome_credited,
        Some(Outcome::Deposited) => t.outcome_deposited,
    };
    fill(
        t.admin_payment,
        &[
            ("subject", &subject),
            ("customer", &payment.customer_id.to_string()),
            ("amount", &amount_paid(t, payment, order.map(|o| o.total))),
            ("outcome", outcome),
        ],
    )
}

/// What was paid, as the staff read it: the base amount, Pakasir's fee on top and the total;
/// or, when the store bore the fee of an order priced `price`, what the customer paid and what
/// the store receives (never the base amount as the price).
pub fn amount_paid(t: &Texts, payment: &Payment, price: Option<i64>) -> String {
    match price.filter(|&price| payment.store_bore_fee(price)) {
        Some(price) => fill(
            t.amount_store_fee,
            &[
                ("price", &rupiah(price)),
                ("total", &rupiah(payment.total_payment)),
                ("fee", &rupiah(payment.fee)),
                ("received", &rupiah(payment.amount)),
            ],
        ),
        None => fill(
            t.amount_with_fee,
            &[
                ("amount", &rupiah(payment.amount)),
                ("fee", &rupiah(payment.fee)),
                ("total", &rupiah(payment.total_payment)),
            ],
        ),
    }
}

/// Sends each product's terms (SNK) with a button to fulfil them.
async fn send_terms(
    bot: &StoreBot,
    ctx: &StoreCtx,
    t: &Texts,
    chat: ChatId,
    order_id: i64,
) -> HandlerResult {
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let terms: Vec<(i64, String, String)> = sqlx::query_as(
        "select p.id, i.product_name, p.snk from order_items i join products p on p.id = i.product_id \
         where i.order_id = $1 and p.snk is not null and p.snk <> '' order by i.product_name, p.id",
    )
    .bind(order_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    for (product, name, snk) in terms {
        let text = format!(
            "{}\n\n{}",
            fill(t.snk_title, &[("product", &escape(&name))]),
            escape(&snk)
        );
        let keyboard = InlineKeyboardMarkup::new([[button(
            t.snk_button,
            Callback::SnkFulfil {
                order: order_id,
                product,
            },
        )]]);
        ui::send(bot, chat, text, Some(keyboard.into())).await?;
    }
    Ok(())
}

//! From cart to paid order: checkout (a zero-total order is paid there at once), paying from
//! balance, cancelling, and the order history.

use std::sync::Arc;

use teloxide::{
    types::{CallbackQuery, InlineKeyboardMarkup},
    utils::html::escape,
};
use time::Duration;

use super::Reply;
use crate::{
    bot::{
        HandlerResult, StoreBot, StoreCtx,
        callbacks::Callback,
        delivery, events,
        payments::{
            handlers::{self, not_payable},
            pay_store,
        },
        texts::{Texts, fill},
        ui::{self, button},
    },
    service::payments as service,
    store::{
        cart, fulfilment,
        money::rupiah,
        orders::{self, CheckoutError, Order, PayError, Status},
        payments::{self, Status as PaymentStatus},
    },
};

/// Handles the checkout, payment and order buttons.
pub async fn on_callback(
    bot: &StoreBot,
    q: &CallbackQuery,
    ctx: &Arc<StoreCtx>,
    t: &Texts,
    callback: Callback,
) -> HandlerResult {
    let customer = q.from.id.0 as i64;
    match callback {
        Callback::Checkout => checkout(bot, q, ctx, t, customer).await,
        Callback::AcceptPrices => {
            let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
            cart::accept_prices(&mut tx, customer).await?;
            tx.commit().await?;
            checkout(bot, q, ctx, t, customer).await
        }
        Callback::PayBalance { order } => pay_with_balance(bot, q, ctx, t, customer, order).await,
        Callback::Cancel { order } => cancel(bot, q, ctx, t, customer, order).await,
        Callback::Orders => history(ctx, t, customer).await?.show(bot, q).await,
        Callback::Order { id } => match order_detail(ctx, t, customer, id).await? {
            Some(reply) => reply.show(bot, q).await,
            None => Ok(ui::notice(bot, q, t.order_not_found, true).await?),
        },
        Callback::Resend { id } => {
            let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
            let order = orders::get(&mut tx, id)
                .await?
                .filter(|o| o.customer_id == customer);
            tx.commit().await?;
            match order {
                Some(order) if order.status.is_paid() => {
                    ui::notice(bot, q, "📦", false).await?;
                    delivery::send_goods(bot, ctx, t, &order).await
                }
                Some(_) => Ok(ui::notice(bot, q, t.order_not_found, true).await?),
                None => Ok(ui::notice(bot, q, t.order_not_found, true).await?),
            }
        }
        _ => Ok(()),
    }
}

async fn checkout(
    bot: &StoreBot,
    q: &CallbackQuery,
    ctx: &StoreCtx,
    t: &Texts,
    customer: i64,
) -> HandlerResult {
    let tenant = ctx.tenant();
    let limits = orders::Limits {
        hold: Duration::minutes(i64::from(tenant.settings.invoice_ttl_minutes)),
        max_unpaid: tenant.settings.max_unpaid_orders,
    };
    let mut tx = ctx.db.tenant(tenant.id).await?;
    // The order's messages name the customer: their row must not wait for the next flush.
    ctx.customers.settle(&mut tx, tenant.id, customer).await?;
    let result = orders::checkout(&mut tx, tenant.id, customer, limits).await;
    let reply = match result {
        Ok(order) if order.total == 0 => return pay_free(bot, q, ctx, t, tx, &order).await,
        Ok(order) => {
            tx.commit().await?;
            // The reservation changed what is in stock.
            ctx.catalog.invalidate_stock(tenant.id);
            order_created(t, &tenant, &order)
        }
        Err(error) => {
            drop(tx);
            match error {
                CheckoutError::EmptyCart => Reply::with(
                    t.empty_cart_checkout.to_owned(),
                    InlineKeyboardMarkup::new([[button(t.menu_products, Callback::Categories)]]),
                ),
                CheckoutError::PriceChanged(changes) => {
                    let mut text = t.prices_changed.to_owned();
                    for change in changes {
                        text.push_str(&format!(
                            "\n• {}: <s>{}</s> → <b>{}</b>",
                            escape(&change.name),
                            rupiah(change.was),
                            rupiah(change.now)
                        ));
                    }
                    Reply::with(
                        text,
                        InlineKeyboardMarkup::new([
                            vec![button(t.accept_prices_button, Callback::AcceptPrices)],
                            vec![button(t.cart_button, Callback::Cart)],
                        ]),
                    )
                }
                CheckoutError::SoldOut(shortages) => {
                    let mut text = t.sold_out_lines.to_owned();
                    for s in shortages {
                        let line = fill(
                            t.shortage_line,
                            &[
                                ("name", &escape(&s.name)),
                                ("wanted", &s.wanted.to_string()),
                                ("available", &s.available.to_string()),
                            ],
                        );
                        text.push('\n');
                        text.push_str(&line);
                    }
                    Reply::with(
                        text,
                        InlineKeyboardMarkup::new([[button(t.cart_button, Callback::Cart)]]),
                    )
                }
                CheckoutError::Gone(names) => {
                    remove_unbuyable(ctx, customer).await?;
                    let list: Vec<String> =
                        names.iter().map(|n| format!("• {}", escape(n))).collect();
                    Reply::with(
                        format!("{}\n{}", t.gone_lines, list.join("\n")),
                        InlineKeyboardMarkup::new([[button(t.cart_button, Callback::Cart)]]),
                    )
                }
                CheckoutError::Coupon(problem) => Reply::with(
                    super::cart::coupon_problem(t, &problem),
                    InlineKeyboardMarkup::new([[button(t.cart_button, Callback::Cart)]]),
                ),
                CheckoutError::Blocked => Reply::text(t.customer_blocked.to_owned()),
                CheckoutError::TooManyUnpaid { open, limit } => Reply::with(
                    fill(
                        t.too_many_unpaid,
                        &[("open", &open.to_string()), ("limit", &limit.to_string())],
                    ),
                    InlineKeyboardMarkup::new([[button(t.unpaid_orders_button, Callback::Orders)]]),
                ),
                CheckoutError::Database(error) => return Err(error.into()),
            }
        }
    };
    reply.show(bot, q).await
}

/// Pays a zero-total order in the checkout's own transaction and follows it up as every paid
/// order: the goods, the terms and the staff's notices go out through the outbox.
async fn pay_free(
    bot: &StoreBot,
    q: &CallbackQuery,
    ctx: &StoreCtx,
    t: &Texts,
    mut tx: crate::db::TenantTx,
    order: &Order,
) -> HandlerResult {
    let tenant = ctx.tenant_id();
    let Some(order) = orders::pay_free(&mut tx, order).await? else {
        return Ok(());
    };
    let follow_up = fulfilment::after_paid(&mut tx, tenant, &order, None).await?;
    let text = match events::payment_received(ctx, &mut tx, &order).await? {
        Some(text) => text,
        None => fill(t.paid_free, &[("code", &order.code)]),
    };
    tx.commit().await?;
    ctx.catalog.invalidate_stock(tenant);
    Reply::text(text).show(bot, q).await?;
    delivery::process_all(bot, ctx, &follow_up).await;
    Ok(())
}

/// Takes products that are no longer sold out of the customer's cart.
async fn remove_unbuyable(ctx: &StoreCtx, customer: i64) -> anyhow::Result<()> {
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let cart = cart::view(&mut tx, customer, time::OffsetDateTime::now_utc()).await?;
    for line in cart.lines.iter().filter(|l| !l.buyable) {
        cart::set_quantity(&mut tx, customer, line.product_id, 0).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn order_created(t: &Texts, tenant: &crate::tenants::model::Tenant, order: &Order) -> Reply {
    let text = fill(
        t.order_created,
        &[
            ("code", &order.code),
            ("total", &rupiah(order.total)),
            ("until", &ui::local_time(tenant, order.expires_at)),
        ],
    );
    Reply::with(
        text,
        InlineKeyboardMarkup::new([
            vec![
                button(t.pay_qris, Callback::PayQris { order: order.id }),
                button(t.pay_balance, Callback::PayBalance { order: order.id }),
            ],
            vec![button(t.cancel_order, Callback::Cancel { order: order.id })],
        ]),
    )
}

async fn pay_with_balance(
    bot: &StoreBot,
    q: &CallbackQuery,
    ctx: &Arc<StoreCtx>,
    t: &Texts,
    customer: i64,
    order_id: i64,
) -> HandlerResult {
    let tenant = ctx.tenant_id();
    let mut tx = ctx.db.tenant(tenant).await?;
    let order = match orders::pay_with_balance(&mut tx, tenant, customer, order_id).await {
        Ok(order) => order,
        Err(error) => {
            // An expiry found on the way is a real change: keep it.
            let keep = matches!(error, PayError::NotPayable(Status::Expired));
            if keep {
                tx.commit().await?;
                ctx.catalog.invalidate_stock(tenant);
            } else {
                // Never hold a connection while Telegram is called.
                drop(tx);
            }
            let text = match error {
                PayError::NotFound => t.order_not_found.to_owned(),
                PayError::NotPayable(status) => not_payable(t, status).to_owned(),
                PayError::Insufficient { balance, needed } => fill(
                    t.balance_too_low,
                    &[("balance", &rupiah(balance)), ("total", &rupiah(needed))],
                ),
                PayError::Database(error) => return Err(error.into()),
            };
            return Ok(ui::notice(bot, q, &text, true).await?);
        }
    };
    // The goods, the terms and the staff's notices follow as they do for a QRIS payment.
    let follow_up = fulfilment::after_paid(&mut tx, tenant, &order, None).await?;
    let text = match events::payment_received(ctx, &mut tx, &order).await? {
        Some(text) => text,
        None => {
            let balance = crate::store::wallet::balance(&mut tx, customer).await?;
            fill(
                t.paid_with_balance,
                &[("code", &order.code), ("balance", &rupiah(balance))],
            )
        }
    };
    tx.commit().await?;
    ctx.catalog.invalidate_stock(tenant);
    Reply::text(text).show(bot, q).await?;
    delivery::process_all(bot, ctx, &follow_up).await;
    withdraw_invoice(bot, ctx, order_id).await
}

/// Cancels the QRIS invoice of an order that was paid another way, so the customer cannot pay
/// twice. Should they have paid it already, settling credits it to their balance; should
/// Pakasir be away, the expiry job cancels it later.
async fn withdraw_invoice(bot: &StoreBot, ctx: &Arc<StoreCtx>, order_id: i64) -> HandlerResult {
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let invoice = payments::of_order(&mut tx, order_id).await?;
    tx.commit().await?;
    if let Some(invoice) = invoice.filter(|p| p.status == PaymentStatus::Pending) {
        let store = pay_store(bot, ctx);
        service::end(&store, &invoice, PaymentStatus::Cancelled).await?;
    }
    Ok(())
}

async fn cancel(
    bot: &StoreBot,
    q: &CallbackQuery,
    ctx: &Arc<StoreCtx>,
    t: &Texts,
    customer: i64,
    order_id: i64,
) -> HandlerResult {
    let tenant = ctx.tenant_id();
    let mut tx = ctx.db.tenant(tenant).await?;
    // An order with a QRIS invoice ends with the invoice, which is cancelled at Pakasir first.
    let invoice = payments::of_order(&mut tx, order_id)
        .await?
        .filter(|p| p.customer_id == customer && p.status == PaymentStatus::Pending);
    if let Some(invoice) = invoice {
        drop(tx);
        let store = pay_store(bot, ctx);
        return handlers::cancel(bot, q, &store, t, &invoice).await;
    }
    let outcome = orders::cancel(&mut tx, customer, order_id).await?;
    tx.commit().await?;
    match outcome {
        Some(Status::Cancelled) => {
            ctx.catalog.invalidate_stock(tenant);
            Reply::text(t.order_cancelled.to_owned()).show(bot, q).await
        }
        Some(status) => Ok(ui::notice(bot, q, not_payable(t, status), true).await?),
        None => Ok(ui::notice(bot, q, t.order_not_found, true).await?),
    }
}

fn status_label(t: &Texts, status: Status) -> &str {
    match status {
        Status::AwaitingPayment => t.status_awaiting,
        Status::Paid => t.status_paid,
        Status::Delivered => t.status_delivered,
        Status::Cancelled => t.status_cancelled,
        Status::Expired => t.status_expired,
    }
}

/// The customer's latest orders.
pub async fn history(ctx: &StoreCtx, t: &Texts, customer: i64) -> anyhow::Result<Reply> {
    let tenant = ctx.tenant();
    let mut tx = ctx.db.tenant(tenant.id).await?;
    let list = orders::of_customer(&mut tx, customer, 10).await?;
    tx.commit().await?;
    if list.is_empty() {
        return Ok(Reply::text(t.orders_empty.to_owned()));
    }
    let mut text = t.orders_title.to_owned();
    let mut rows = Vec::new();
    for order in &list {
        text.push_str(&format!(
            "\n• <code>{}</code> — {} — {} — {}",
            order.code,
            rupiah(order.total),
            status_label(t, order.status),
            ui::local_time(&tenant, order.created_at)
        ));
        rows.push(vec![button(
            format!("{} · {}", order.code, rupiah(order.total)),
            Callback::Order { id: order.id },
        )]);
    }
    Ok(Reply::with(text, InlineKeyboardMarkup::new(rows)))
}

async fn order_detail(
    ctx: &StoreCtx,
    t: &Texts,
    customer: i64,
    id: i64,
) -> anyhow::Result<Option<Reply>> {
    let tenant = ctx.tenant();
    let mut tx = ctx.db.tenant(tenant.id).await?;
    let Some(order) = orders::get(&mut tx, id)
        .await?
        .filter(|o| o.customer_id == customer)
    else {
        return Ok(None);
    };
    let items = orders::items(&mut tx, id).await?;
    tx.commit().await?;
    let mut text = format!(
        "🧾 <b>{}</b>\n{}\n{}",
        order.code,
        status_label(t, order.status),
        ui::local_time(&tenant, order.created_at)
    );
    for item in &items {
        text.push_str(&format!(
            "\n• {} × {} = {}",
            escape(&item.product_name),
            item.quantity,
            rupiah(item.unit_price * i64::from(item.quantity))
        ));
    }
    if order.discount > 0 {
        text.push_str(&format!("\n{}: -{}", t.discount, rupiah(order.discount)));
    }
    text.push_str(&format!("\n<b>{}: {}</b>", t.total, rupiah(order.total)));
    let mut rows = Vec::new();
    if order.status.is_paid() {
        rows.push(vec![button(t.resend_button, Callback::Resend { id })]);
    } else if order.status == Status::AwaitingPayment {
        rows.push(vec![
            button(t.pay_qris, Callback::PayQris { order: id }),
            button(t.pay_balance, Callback::PayBalance { order: id }),
        ]);
        rows.push(vec![button(t.cancel_order, Callback::Cancel { order: id })]);
    }
    rows.push(vec![button(t.back, Callback::Orders)]);
    Ok(Some(Reply::with(text, InlineKeyboardMarkup::new(rows))))
}

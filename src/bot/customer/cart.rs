//! The cart: adding from a product page, changing quantities, coupons.

use teloxide::{
    prelude::*,
    types::{CallbackQuery, InlineKeyboardMarkup},
    utils::html::escape,
};
use time::OffsetDateTime;

use super::Reply;
use crate::{
    bot::{
        CustomerDialogue, HandlerResult, StoreBot, StoreCtx,
        callbacks::Callback,
        dialogue::State,
        texts::{Texts, fill},
        ui::{self, button},
    },
    store::{
        cart::{self, Cart, MAX_QUANTITY},
        coupons::{self, CouponProblem},
        money::rupiah,
    },
};

/// Renders the cart with its controls.
pub fn render(t: &Texts, cart: &Cart) -> Reply {
    if cart.is_empty() {
        return Reply::with(
            t.cart_empty.to_owned(),
            InlineKeyboardMarkup::new([[button(t.menu_products, Callback::Categories)]]),
        );
    }
    let mut text = t.cart_title.to_owned();
    let mut rows = Vec::new();
    for (i, line) in cart.lines.iter().enumerate() {
        if line.buyable {
            text.push_str(&format!(
                "\n{}. {} × {} = {}",
                i + 1,
                escape(&line.name),
                line.quantity,
                rupiah(line.amount())
            ));
        } else {
            text.push_str(&format!(
                "\n{}. <s>{}</s> {}",
                i + 1,
                escape(&line.name),
                t.unavailable_line
            ));
        }
        let qty = line.quantity as u32;
        rows.push(vec![
            button(
                "➖",
                Callback::CartQty {
                    id: line.product_id,
                    qty: qty.saturating_sub(1),
                },
            ),
            button(format!("{} ×{}", line.name, line.quantity), Callback::Noop),
            button(
                "➕",
                Callback::CartQty {
                    id: line.product_id,
                    qty: (qty + 1).min(MAX_QUANTITY as u32),
                },
            ),
            button(
                "🗑",
                Callback::CartQty {
                    id: line.product_id,
                    qty: 0,
                },
            ),
        ]);
    }
    text.push_str(&format!("\n\n{}: {}", t.subtotal, rupiah(cart.subtotal)));
    if let Some(code) = &cart.coupon {
        match &cart.coupon_problem {
            None => text.push_str(&format!(
                "\n{} ({}): -{}",
                t.discount,
                escape(code),
                rupiah(cart.discount)
            )),
            Some(problem) => text.push_str(&format!(
                "\n🏷 {}: {}",
                escape(code),
                coupon_problem(t, problem)
            )),
        }
    }
    text.push_str(&format!("\n<b>{}: {}</b>", t.total, rupiah(cart.total)));
    rows.push(vec![
        button(t.coupon_button, Callback::Coupon),
        button(t.clear_button, Callback::CartClear),
    ]);
    rows.push(vec![button(t.checkout_button, Callback::Checkout)]);
    Reply::with(text, InlineKeyboardMarkup::new(rows))
}

pub fn coupon_problem(t: &Texts, problem: &CouponProblem) -> String {
    match problem {
        CouponProblem::Unknown => t.coupon_unknown.to_owned(),
        CouponProblem::NotYetValid => t.coupon_not_yet_valid.to_owned(),
        CouponProblem::Expired => t.coupon_expired.to_owned(),
        CouponProblem::UsedUp => t.coupon_used_up.to_owned(),
        CouponProblem::BelowMinimum { minimum } => {
            fill(t.coupon_minimum, &[("minimum", &rupiah(*minimum))])
        }
    }
}

/// The customer's cart, read in its own transaction.
pub async fn load(ctx: &StoreCtx, customer: i64) -> anyhow::Result<Cart> {
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let cart = cart::view(&mut tx, customer, OffsetDateTime::now_utc()).await?;
    tx.commit().await?;
    Ok(cart)
}

/// Handles the cart buttons.
pub async fn on_callback(
    bot: &StoreBot,
    q: &CallbackQuery,
    ctx: &StoreCtx,
    t: &Texts,
    dialogue: &CustomerDialogue,
    callback: Callback,
) -> HandlerResult {
    let customer = q.from.id.0 as i64;
    let tenant = ctx.tenant_id();
    match callback {
        Callback::Add { id, qty, price } => {
            // Only the product's name and price are read: a snapshot whose stock counts are
            // out of date since the last sale answers without a round trip.
            let catalog = ctx.catalog.prices(&ctx.db, tenant).await?;
            let Some(product) = catalog.product(id) else {
                return Ok(ui::notice(bot, q, t.product_gone, true).await?);
            };
            if product.price != price {
                // Never add at a price the customer did not see: show the product again.
                ui::notice(
                    bot,
                    q,
                    &fill(t.price_changed_reload, &[("price", &rupiah(product.price))]),
                    true,
                )
                .await?;
                // The page shows the stock too: it is drawn from a snapshot with current counts.
                let catalog = ctx.catalog.get(&ctx.db, tenant).await?;
                return match catalog.product(id) {
                    Some(product) => super::browse::product(t, product, qty).edit(bot, q).await,
                    None => Ok(()),
                };
            }
            let mut tx = ctx.db.tenant(tenant).await?;
            cart::add(&mut tx, tenant, customer, id, qty as i32, price).await?;
            tx.commit().await?;
            let added = fill(
                t.added_to_cart,
                &[("qty", &qty.to_string()), ("name", &product.name)],
            );
            ui::notice(bot, q, &added, false).await?;
        }
        Callback::Cart => render(t, &load(ctx, customer).await?).show(bot, q).await?,
        Callback::CartQty { id, qty } => {
            let mut tx = ctx.db.tenant(tenant).await?;
            cart::set_quantity(&mut tx, customer, id, qty as i32).await?;
            let cart = cart::view(&mut tx, customer, OffsetDateTime::now_utc()).await?;
            tx.commit().await?;
            render(t, &cart).show(bot, q).await?;
        }
        Callback::CartClear => {
            let mut tx = ctx.db.tenant(tenant).await?;
            cart::clear(&mut tx, customer).await?;
            tx.commit().await?;
            ui::notice(bot, q, t.cart_cleared, false).await?;
            render(t, &Cart::default()).edit(bot, q).await?;
        }
        Callback::Coupon => {
            ui::notice(bot, q, t.enter_coupon, false).await?;
            ui::send(bot, ui::chat_of(q), t.enter_coupon.to_owned(), None).await?;
            dialogue.update(State::EnteringCoupon).await?;
        }
        _ => {}
    }
    Ok(())
}

/// The code typed after "🏷 Kupon".
pub async fn coupon_entered(
    bot: &StoreBot,
    msg: &Message,
    ctx: &StoreCtx,
    t: &Texts,
    dialogue: &CustomerDialogue,
) -> HandlerResult {
    let customer = msg.chat.id.0;
    let tenant = ctx.tenant_id();
    let typed = msg.text().unwrap_or_default().trim();
    let mut tx = ctx.db.tenant(tenant).await?;
    let answer = if typed == "-" {
        cart::set_coupon(&mut tx, tenant, customer, None).await?;
        t.coupon_removed.to_owned()
    } else {
        match coupons::find(&mut tx, typed).await? {
            Some(coupon) if coupon.active => {
                cart::set_coupon(&mut tx, tenant, customer, Some(&coupon.code)).await?;
                fill(t.coupon_saved, &[("code", &escape(&coupon.code))])
            }
            _ => {
                // Unknown code: ask again, the conversation stays open.
                tx.commit().await?;
                ui::send(
                    bot,
                    msg.chat.id,
                    format!("{}\n{}", t.coupon_unknown, t.enter_coupon),
                    None,
                )
                .await?;
                return Ok(());
            }
        }
    };
    let cart = cart::view(&mut tx, customer, OffsetDateTime::now_utc()).await?;
    tx.commit().await?;
    dialogue.exit().await?;
    ui::send(bot, msg.chat.id, answer, None).await?;
    render(t, &cart).send(bot, msg.chat.id).await
}

//! What a customer does in a store's bot.
//!
//! - `start.rs`: commands, the welcome, the main menu, language choice.
//! - `browse.rs`: categories, products, the stock board.
//! - `cart.rs`: the cart and coupons.
//! - `checkout.rs`: checkout, payment from balance, cancelling, order history.
//! - `deposit.rs`: `💰 Deposit`, topping up the balance with a QRIS invoice.

pub mod browse;
pub mod cart;
pub mod checkout;
pub mod deposit;
pub mod start;

use std::sync::Arc;

use teloxide::{prelude::*, types::CallbackQuery};

pub use start::{Command, command, language_chosen};

pub use super::ui::Reply;

use super::{
    CustomerDialogue, HandlerResult, StoreBot, StoreCtx,
    callbacks::Callback,
    payments,
    texts::{Texts, texts},
    ui,
};
use crate::store::customers::Customer;

/// The catalogue for `customer`.
pub fn texts_for(ctx: &StoreCtx, customer: &Customer) -> &'static Texts {
    texts(start::locale_of(ctx, customer))
}

/// Routes every inline button.
pub async fn callback(
    bot: StoreBot,
    q: CallbackQuery,
    ctx: Arc<StoreCtx>,
    customer: Customer,
    dialogue: CustomerDialogue,
) -> HandlerResult {
    if let Some(data) = q
        .data
        .as_deref()
        .filter(|d| d.starts_with(super::admin::PREFIX))
    {
        return super::admin::on_callback(bot.clone(), &q, ctx, dialogue, data).await;
    }
    let t = texts_for(&ctx, &customer);
    let Some(callback) = q.data.as_deref().and_then(Callback::parse) else {
        return Ok(ui::notice(&bot, &q, t.stale_button, true).await?);
    };
    match callback {
        Callback::Noop => Ok(ui::notice(&bot, &q, "", false).await?),
        Callback::Categories | Callback::Category { .. } | Callback::Product { .. } => {
            browse::on_callback(&bot, &q, &ctx, t, callback).await
        }
        Callback::Add { .. }
        | Callback::Cart
        | Callback::CartQty { .. }
        | Callback::CartClear
        | Callback::Coupon => cart::on_callback(&bot, &q, &ctx, t, &dialogue, callback).await,
        Callback::PayQris { .. }
        | Callback::CheckPayment { .. }
        | Callback::CancelPayment { .. } => {
            payments::handlers::on_callback(&bot, &q, &ctx, t, callback).await
        }
        Callback::SnkFulfil { .. } | Callback::SnkApprove { .. } | Callback::SnkReject { .. } => {
            crate::bot::snk::on_callback(&bot, &q, &ctx, t, &dialogue, callback).await
        }
        Callback::Checkout
        | Callback::AcceptPrices
        | Callback::PayBalance { .. }
        | Callback::Cancel { .. }
        | Callback::Orders
        | Callback::Order { .. }
        | Callback::Resend { .. } => checkout::on_callback(&bot, &q, &ctx, t, callback).await,
    }
}

/// The code typed after "🏷 Kupon".
pub async fn coupon_entered(
    bot: StoreBot,
    msg: Message,
    ctx: Arc<StoreCtx>,
    customer: Customer,
    dialogue: CustomerDialogue,
) -> HandlerResult {
    let t = texts_for(&ctx, &customer);
    cart::coupon_entered(&bot, &msg, &ctx, t, &dialogue).await
}

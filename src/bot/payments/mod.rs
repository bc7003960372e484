//! Payments as the customer sees them in the bot: QRIS invoices and their photo, the payment
//! buttons, the payment messages of the outbox, and `/lunas`. The flow that confirms, settles
//! and ends payments is not here: it lives in `service::payments`, which the webhook route and
//! the jobs call too; this module calls it and renders what it came to.
//!
//! - `invoice.rs`: creating a QRIS invoice for an order or a deposit and sending its photo.
//! - `notify.rs`: the payment messages of the outbox, rendered in the reader's language.
//! - `handlers.rs`: the customer's buttons on an invoice (pay by QRIS, check status, cancel).
//! - `manual.rs`: an admin marks an order paid by hand (`/lunas KODE`).

pub mod handlers;
pub mod invoice;
pub mod manual;
pub mod notify;

use std::sync::Arc;

use super::{StoreBot, StoreCtx, delivery::BotCourier};
use crate::service::payments::PayStore;

/// The store this bot serves, with the bot as the courier of what payments write to the outbox.
pub fn pay_store(bot: &StoreBot, ctx: &Arc<StoreCtx>) -> PayStore {
    PayStore::new(Arc::clone(ctx), Some(Arc::new(BotCourier(bot.clone()))))
}

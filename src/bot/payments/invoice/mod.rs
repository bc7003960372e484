//! QRIS invoices: created at Pakasir with the base amount, checked, recorded exactly as
//! returned, and sent as a PNG photo whose caption shows price, fee, total and expiry.
//!
//! Asking for an invoice has a quick part and a slow one. The quick part reads the database
//! (is the order payable, is a deposit open already, is the customer blocked) and may answer at
//! once; the slow part asks Pakasir to make the invoice, which can take many seconds, and runs
//! off the update path through one mechanism for every kind of invoice ([`Creation`]).
//!
//! - `order.rs`: an order's invoice; the store's `fee_payer` decides its base amount.
//! - `deposit.rs`: a balance top-up's invoice, at most one open per customer.
//! - `creation.rs`: making an invoice in a task of its own, one at a time per order or deposit.

mod creation;
mod deposit;
mod order;

pub use creation::Creation;
pub use deposit::{for_deposit, show_open_deposit};
pub use order::for_order;

use teloxide::{
    payloads::SendPhotoSetters,
    prelude::*,
    types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ParseMode},
};
use time::OffsetDateTime;

use crate::{
    bot::{
        StoreBot, StoreCtx,
        callbacks::Callback,
        texts::{Texts, fill},
        ui::{self, button},
    },
    pakasir::{Invoice, Method, PakasirError, qris},
    service::payments::PayStore,
    store::{
        money::rupiah,
        orders::{Order, Status as OrderStatus},
        payments::{self, Kind, NewPayment, Payment},
    },
};

/// What asking for an invoice came to.
#[derive(Debug)]
pub enum Requested {
    /// The invoice photo was sent (a new invoice, or the pending one again); the payment's id.
    Sent(i64),
    /// Pakasir could not make an invoice; the customer may retry.
    GatewayDown,
    /// The amount is below what Pakasir accepts.
    BelowMinimum,
    /// The order is not the customer's, or no longer awaits payment.
    NotPayable(Option<OrderStatus>),
    /// The store blocked the customer: no deposit.
    Blocked,
    /// The order's invoice is held for review (Pakasir's record disagrees with ours): it is not
    /// offered again until the store decided.
    InReview,
}

/// An invoice Pakasir must make, as the quick part of a request found it.
#[derive(Debug)]
pub enum Wanted {
    /// The invoice of this order, awaiting payment.
    Order(Order),
    /// A top-up of the customer's balance by this amount.
    Deposit(i64),
}

/// What the quick part of asking for an invoice came to: an answer already (an open invoice
/// was sent again, or none can be made), or an invoice for Pakasir to make, which
/// [`Creation`] does off the update path.
#[derive(Debug)]
pub enum Asked {
    Answered(Requested),
    Create(Wanted),
}

/// Cancels at Pakasir an invoice that is not recorded here after all, so that it cannot be
/// paid. Should the cancel fail, the invoice stays payable until Pakasir's own expiry, and a
/// payment of it would find no record here (its webhook answers 404): a narrow race, logged
/// through the gateway's failure streak, that the store settles by hand.
async fn withdraw(store: &PayStore, invoice: &Invoice) {
    let keys = store.ctx.gateway();
    let cancelled = store
        .ctx
        .pakasir
        .cancel(&keys.credentials(), &invoice.order_id, invoice.amount)
        .await;
    store.note_gateway(&cancelled).await;
}

/// The record of an invoice Pakasir made, exactly as it answered: an order's when `order` is
/// given, else a deposit's. Its deadline is Pakasir's expiry or `hold_until` (the order's hold,
/// or the store's invoice lifetime for a deposit), whichever is first.
fn record<'a>(
    invoice: &'a Invoice,
    customer: i64,
    order: Option<&Order>,
    hold_until: OffsetDateTime,
) -> NewPayment<'a> {
    NewPayment {
        kind: if order.is_some() {
            Kind::Order
        } else {
            Kind::Deposit
        },
        order_id: order.map(|o| o.id),
        customer_id: customer,
        gateway_order_id: &invoice.order_id,
        method: &invoice.payment_method,
        amount: invoice.amount,
        fee: invoice.fee,
        total_payment: invoice.total_payment,
        payment_number: &invoice.payment_number,
        expired_at: invoice.expired_at,
        expires_at: invoice.expired_at.min(hold_until),
    }
}

/// Creates the invoice at Pakasir and checks its answer; `None` (recorded as a gateway
/// failure) when Pakasir failed or answered something that must not be shown to a customer.
async fn create_at_pakasir(store: &PayStore, order_id: &str, amount: i64) -> Option<Invoice> {
    let keys = store.ctx.gateway();
    let created = store
        .ctx
        .pakasir
        .create(&keys.credentials(), Method::Qris, order_id, amount)
        .await;
    let checked = created.and_then(|invoice| check(&invoice, order_id, amount).map(|()| invoice));
    store.note_gateway(&checked).await;
    checked.ok()
}

/// An invoice is kept exactly as returned, but only if it is the one asked for and its QR
/// code is sound: the right order and base amount, a total of at least the base, a payload
/// whose CRC holds and whose amount (tag 54, when present) is the total.
fn check(invoice: &Invoice, order_id: &str, amount: i64) -> Result<(), PakasirError> {
    let invalid = |what: &str| Err(PakasirError::Invalid(format!("the created invoice {what}")));
    if invoice.order_id != order_id || invoice.amount != amount {
        return invalid("is not the one asked for");
    }
    if invoice.fee < 0 || invoice.total_payment < invoice.amount {
        return invalid("has an impossible fee or total");
    }
    if invoice.payment_method == Method::Qris.as_str() {
        match qris::check(&invoice.payment_number) {
            Ok(info) if info.amount.is_none_or(|a| a == invoice.total_payment) => {}
            Ok(_) => return invalid("has a QR code for another amount"),
            Err(error) => return invalid(&format!("has a bad QR code: {error}")),
        }
    }
    Ok(())
}

/// Sends the invoice photo and remembers its message, so it can be removed once settled.
pub async fn send(
    bot: &StoreBot,
    ctx: &StoreCtx,
    t: &Texts,
    payment: &Payment,
    order: Option<&Order>,
) -> anyhow::Result<()> {
    let tenant = ctx.tenant();
    let png = qris::render_png(&payment.payment_number)?;
    let title = match order {
        Some(order) => fill(t.invoice_order_title, &[("code", &order.code)]),
        None => t.invoice_deposit_title.to_owned(),
    };
    let until = ui::local_time(&tenant, payment.expires_at);
    let store_bears_fee = order
        .map(|o| o.total)
        .filter(|&price| payment.store_bore_fee(price));
    let lines = match store_bears_fee {
        // The customer sees the listed price and what they pay, never the lower base amount.
        Some(price) => fill(
            t.invoice_lines_store_fee,
            &[
                ("price", &rupiah(price)),
                ("total", &rupiah(payment.total_payment)),
                ("until", &until),
            ],
        ),
        None => fill(
            t.invoice_lines,
            &[
                ("amount", &rupiah(payment.amount)),
                ("fee", &rupiah(payment.fee)),
                ("total", &rupiah(payment.total_payment)),
                ("until", &until),
            ],
        ),
    };
    let mut rows = vec![vec![
        button(
            t.check_status_button,
            Callback::CheckPayment {
                payment: payment.id,
            },
        ),
        button(
            t.cancel_invoice_button,
            Callback::CancelPayment {
                payment: payment.id,
            },
        ),
    ]];
    let keys = ctx.gateway();
    let page = ctx.pakasir.payment_page_url(
        keys.project.expose(),
        &payment.gateway_order_id,
        payment.amount,
    );
    if let Ok(url) = reqwest::Url::parse(&page) {
        rows.push(vec![InlineKeyboardButton::url(t.payment_page_button, url)]);
    }
    let chat = ChatId(payment.customer_id);
    let sent = bot
        .send_photo(chat, InputFile::memory(png).file_name("qris.png"))
        .caption(format!("{title}\n\n{lines}"))
        .parse_mode(ParseMode::Html)
        .reply_markup(InlineKeyboardMarkup::new(rows))
        .await?;
    // Which message shows the invoice is bookkeeping, not money: its commit does not wait for
    // the disk. A database crash in the moment after it would only leave the photo in the
    // chat once the invoice is settled or closed.
    let mut tx = ctx.db.tenant_bookkeeping(tenant.id).await?;
    payments::set_invoice_message(&mut tx, payment.id, chat.0, sent.id.0).await?;
    tx.commit().await?;
    Ok(())
}

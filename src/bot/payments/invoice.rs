//! QRIS invoices: created at Pakasir with the base amount, checked, recorded exactly as
//! returned, and sent as a PNG photo whose caption shows price, fee, total and expiry. The
//! store's `fee_payer` decides an order's base amount: its total (the customer pays the fee on
//! top) or the largest base whose total stays within it (the store bears the fee).

use std::{
    collections::HashSet,
    sync::{LazyLock, Mutex},
};

use rand::{Rng, distr::Alphanumeric};
use teloxide::{
    payloads::SendPhotoSetters,
    prelude::*,
    types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ParseMode},
};
use time::{Duration, OffsetDateTime};

use crate::{
    bot::{
        StoreBot, StoreCtx,
        callbacks::Callback,
        texts::{Texts, fill},
        ui::{self, button},
    },
    db::TenantId,
    pakasir::{Invoice, Method, PakasirError, client::MIN_AMOUNT, fees, qris},
    service::payments::{self as service, Ending, PayStore},
    store::{
        customers::admin as customer_admin,
        money::rupiah,
        orders::{self, Order, Status as OrderStatus},
        payments::{self, Kind, NewPayment, Payment, Status},
    },
    tenants::model::FeePayer,
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

/// What asking for an order's invoice needs: an answer already (the pending invoice was sent
/// again, or the order cannot be paid), or a new invoice from Pakasir.
#[derive(Debug)]
pub enum OrderInvoice {
    Answered(Requested),
    /// Pakasir must make one: [`create_for_order`] does, which may take many seconds.
    Create(Order),
}

/// The quick part of paying an order by QRIS, from the database alone: sends the pending
/// invoice again if there is one, or says why the order cannot be paid, or hands back the
/// order whose invoice must be created.
pub async fn for_order(
    store: &PayStore,
    bot: &StoreBot,
    t: &Texts,
    customer: i64,
    order_id: i64,
) -> anyhow::Result<OrderInvoice> {
    use OrderInvoice::Answered;
    let ctx = &store.ctx;
    let tenant = ctx.tenant();
    let mut tx = ctx.db.tenant(tenant.id).await?;
    let order = orders::get(&mut tx, order_id)
        .await?
        .filter(|o| o.customer_id == customer);
    let existing = payments::of_order(&mut tx, order_id).await?;
    tx.commit().await?;
    let Some(order) = order else {
        return Ok(Answered(Requested::NotPayable(None)));
    };
    match existing {
        Some(payment) if payment.status == Status::Pending => {
            send(bot, ctx, t, &payment, Some(&order)).await?;
            return Ok(Answered(Requested::Sent(payment.id)));
        }
        Some(payment) if payment.status == Status::Completed => {
            return Ok(Answered(Requested::NotPayable(Some(OrderStatus::Paid))));
        }
        Some(payment) if payment.status == Status::Review => {
            return Ok(Answered(Requested::InReview));
        }
        _ => {}
    }
    if order.status != OrderStatus::AwaitingPayment {
        return Ok(Answered(Requested::NotPayable(Some(order.status))));
    }
    if order.expires_at <= OffsetDateTime::now_utc() {
        return Ok(Answered(Requested::NotPayable(Some(OrderStatus::Expired))));
    }
    if base_amount(tenant.settings.fee_payer, order.total).is_none() {
        return Ok(Answered(Requested::BelowMinimum));
    }
    Ok(OrderInvoice::Create(order))
}

/// Creates the invoice of `order` at Pakasir, records it and sends it: the slow part of paying
/// by QRIS, which callers run off the update path.
pub async fn create_for_order(
    store: &PayStore,
    bot: &StoreBot,
    t: &Texts,
    customer: i64,
    order: Order,
) -> anyhow::Result<Requested> {
    let ctx = &store.ctx;
    let tenant = ctx.tenant();
    let Some(base) = base_amount(tenant.settings.fee_payer, order.total) else {
        return Ok(Requested::BelowMinimum);
    };
    let Some(invoice) = create(store, &order.code, base).await else {
        return Ok(Requested::GatewayDown);
    };
    if invoice.total_payment > order.total && tenant.settings.fee_payer == FeePayer::Store {
        // Pakasir charged more than its published table: the customer must never pay more
        // than the price, so the invoice is withdrawn and the owner hears of it as a failure.
        withdraw(store, &invoice).await;
        let error = PakasirError::Invalid(format!(
            "the invoice of {} costs {}, more than the price {} the store pays the fee of",
            invoice.order_id, invoice.total_payment, order.total
        ));
        store.note_gateway::<()>(&Err(error)).await;
        return Ok(Requested::GatewayDown);
    }
    let new = NewPayment {
        kind: Kind::Order,
        order_id: Some(order.id),
        customer_id: customer,
        gateway_order_id: &invoice.order_id,
        method: &invoice.payment_method,
        amount: invoice.amount,
        fee: invoice.fee,
        total_payment: invoice.total_payment,
        payment_number: &invoice.payment_number,
        expired_at: invoice.expired_at,
        expires_at: invoice.expired_at.min(order.expires_at),
    };
    let mut tx = ctx.db.tenant(tenant.id).await?;
    // The order may have ended while Pakasir was creating the invoice.
    let still_open = orders::lock(&mut tx, order.id)
        .await?
        .is_some_and(|o| o.status == OrderStatus::AwaitingPayment);
    if !still_open {
        drop(tx);
        withdraw(store, &invoice).await;
        return Ok(Requested::NotPayable(Some(OrderStatus::Expired)));
    }
    let payment = payments::insert(&mut tx, tenant.id, &new).await?;
    tx.commit().await?;
    send(bot, ctx, t, &payment, Some(&order)).await?;
    Ok(Requested::Sent(payment.id))
}

/// Creates a deposit invoice of `amount` for the customer and sends it.
pub async fn for_deposit(
    store: &PayStore,
    bot: &StoreBot,
    t: &Texts,
    customer: i64,
    amount: i64,
) -> anyhow::Result<Requested> {
    if amount < MIN_AMOUNT {
        return Ok(Requested::BelowMinimum);
    }
    let ctx = &store.ctx;
    let tenant = ctx.tenant();
    let mut tx = ctx.db.tenant(tenant.id).await?;
    let blocked = customer_admin::is_blocked(&mut tx, customer).await?;
    tx.commit().await?;
    if blocked {
        return Ok(Requested::Blocked);
    }
    // One pending deposit per customer: a request while one is open shows that one again.
    if let Some(requested) = show_open_deposit(store, bot, t, customer).await? {
        return Ok(requested);
    }
    let code = deposit_code();
    let Some(invoice) = create(store, &code, amount).await else {
        return Ok(Requested::GatewayDown);
    };
    let hold = Duration::minutes(i64::from(tenant.settings.invoice_ttl_minutes));
    let new = NewPayment {
        kind: Kind::Deposit,
        order_id: None,
        customer_id: customer,
        gateway_order_id: &invoice.order_id,
        method: &invoice.payment_method,
        amount: invoice.amount,
        fee: invoice.fee,
        total_payment: invoice.total_payment,
        payment_number: &invoice.payment_number,
        expired_at: invoice.expired_at,
        expires_at: invoice.expired_at.min(OffsetDateTime::now_utc() + hold),
    };
    let mut tx = ctx.db.tenant(tenant.id).await?;
    let payment = match payments::insert(&mut tx, tenant.id, &new).await {
        Ok(payment) => payment,
        Err(error) if payments::is_second_pending_deposit(&error) => {
            // Another request of this customer's recorded its invoice first (the database
            // keeps one pending deposit per customer): this invoice is withdrawn at Pakasir
            // and the customer is shown that one.
            drop(tx);
            withdraw(store, &invoice).await;
            let shown = show_open_deposit(store, bot, t, customer).await?;
            return Ok(shown.unwrap_or(Requested::GatewayDown));
        }
        Err(error) => return Err(error.into()),
    };
    tx.commit().await?;
    send(bot, ctx, t, &payment, None).await?;
    Ok(Requested::Sent(payment.id))
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

/// The base amount of an order's invoice: the order's total when the customer pays Pakasir's
/// fee on top, or the largest base whose total stays within it when the store bears the fee.
/// `None` when the invoice would be below Pakasir's minimum.
fn base_amount(fee_payer: FeePayer, total: i64) -> Option<i64> {
    match fee_payer {
        FeePayer::Customer => (total >= MIN_AMOUNT).then_some(total),
        FeePayer::Store => fees::base_within(Method::Qris, total),
    }
}

/// Shows the customer's open deposit invoice again, with a word on why, when they ask for a
/// top-up while it is open: the QR code they may be scanning stays valid, a script asking again
/// and again costs Pakasir nothing, and the invoice's own cancel button lets them start over.
///
/// `None` when no deposit is open, or when the open one's time was up and it has been ended now,
/// as the payments job would have (cancelled at Pakasir first, settled if paid meanwhile);
/// [`Requested::GatewayDown`] when such an invoice could not be ended because Pakasir is away.
pub async fn show_open_deposit(
    store: &PayStore,
    bot: &StoreBot,
    t: &Texts,
    customer: i64,
) -> anyhow::Result<Option<Requested>> {
    let ctx = &store.ctx;
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let open = payments::open_deposit(&mut tx, customer).await?;
    tx.commit().await?;
    let Some(open) = open else {
        return Ok(None);
    };
    if open.expires_at <= OffsetDateTime::now_utc() {
        return Ok(match service::end(store, &open, Status::Expired).await? {
            Ending::Unreachable => Some(Requested::GatewayDown),
            _ => None,
        });
    }
    let note = fill(
        t.deposit_still_open,
        &[
            ("amount", &rupiah(open.amount)),
            ("until", &ui::local_time(&ctx.tenant(), open.expires_at)),
        ],
    );
    ui::Reply::text(note).send(bot, ChatId(customer)).await?;
    send(bot, ctx, t, &open, None).await?;
    Ok(Some(Requested::Sent(open.id)))
}

/// A deposit's order id at Pakasir: unique per store and hard to guess.
fn deposit_code() -> String {
    let suffix: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(10)
        .map(char::from)
        .collect();
    format!("DEP{}", suffix.to_uppercase())
}

/// Creates the invoice at Pakasir and checks its answer; `None` (recorded as a gateway
/// failure) when Pakasir failed or answered something that must not be shown to a customer.
async fn create(store: &PayStore, order_id: &str, amount: i64) -> Option<Invoice> {
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
    // The store bears the fee when the invoice's base amount is below the order's price.
    let store_bears_fee = order
        .map(|o| o.total)
        .filter(|&price| payment.amount < price);
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
    let mut tx = ctx.db.tenant(tenant.id).await?;
    payments::set_invoice_message(&mut tx, payment.id, chat.0, sent.id.0).await?;
    tx.commit().await?;
    Ok(())
}

/// The orders whose invoice is being created in this process, so that a second press of the
/// button while Pakasir is still working does not ask for a second invoice.
static CREATING: LazyLock<Mutex<HashSet<(TenantId, i64)>>> = LazyLock::new(Default::default);

/// Marks an order's invoice as being created until dropped; `None` when it already is.
pub struct Creating((TenantId, i64));

impl Creating {
    pub fn begin(tenant: TenantId, order_id: i64) -> Option<Self> {
        let key = (tenant, order_id);
        let fresh = CREATING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key);
        // Built only when fresh: a `Creating` dropped here would remove the other's mark.
        fresh.then(|| Self(key))
    }
}

impl Drop for Creating {
    fn drop(&mut self) {
        CREATING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
    }
}

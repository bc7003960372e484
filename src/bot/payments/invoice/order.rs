//! An order's QRIS invoice. The store's `fee_payer` decides its base amount: the order's total
//! (the customer pays the fee on top) or the largest base whose total stays within it (the store
//! bears the fee).

use time::OffsetDateTime;

use super::{Asked, Requested, Wanted, create_at_pakasir, record, send, withdraw};
use crate::{
    bot::{StoreBot, texts::Texts},
    pakasir::{Method, PakasirError, client::MIN_AMOUNT, fees},
    service::payments::PayStore,
    store::{
        orders::{self, Order, Status as OrderStatus},
        payments::{self, Status},
    },
    tenants::model::FeePayer,
};

/// The quick part of paying an order by QRIS, from the database alone: sends the pending
/// invoice again if there is one, or says why the order cannot be paid, or hands back the
/// order whose invoice must be created.
pub async fn for_order(
    store: &PayStore,
    bot: &StoreBot,
    t: &Texts,
    customer: i64,
    order_id: i64,
) -> anyhow::Result<Asked> {
    use Asked::Answered;
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
    Ok(Asked::Create(Wanted::Order(order)))
}

/// Creates the invoice of `order` at Pakasir, records it and sends it: the slow part of paying
/// by QRIS, which [`super::Creation`] runs off the update path.
pub(super) async fn create(
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
    let Some(invoice) = create_at_pakasir(store, &order.code, base).await else {
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
    let new = record(&invoice, customer, Some(&order), order.expires_at);
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

/// The base amount of an order's invoice: the order's total when the customer pays Pakasir's
/// fee on top, or the largest base whose total stays within it when the store bears the fee.
/// `None` when the invoice would be below Pakasir's minimum.
fn base_amount(fee_payer: FeePayer, total: i64) -> Option<i64> {
    match fee_payer {
        FeePayer::Customer => (total >= MIN_AMOUNT).then_some(total),
        FeePayer::Store => fees::base_within(Method::Qris, total),
    }
}

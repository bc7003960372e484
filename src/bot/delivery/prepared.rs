//! What the outbox's messages say, read in the transaction that claims them.
//!
//! A payment writes three or four messages at once (the customer's notice, the goods, the
//! staff's notices), and each says something about the same payment and order. Read one by
//! one at sending, they cost a transaction each and read the order three times; read here,
//! with the claim, they cost a few statements in a transaction that exists anyway, and the
//! sends that follow ask the database nothing. No connection is held while Telegram is asked.
//!
//! The kinds that follow every payment are read here; the rarer ones read what they need at
//! sending ([`Prepared::AtSend`]), as before.

use std::collections::HashMap;

use super::Goods;
use crate::{
    bot::{
        HandlerResult, StoreBot, StoreCtx,
        notices::{self, OrderPaid},
        payments::notify::{self, Received},
        texts::texts,
    },
    db::TenantTx,
    store::{
        orders::{self, Item, Order},
        outbox::{Claimed, Message},
        payments::{self, Payment},
    },
};

/// A claimed message, ready to send.
pub(super) enum Prepared {
    /// The goods of a paid order.
    Goods { order: Order, goods: Goods },
    /// The customer's notice of a payment.
    Received(Received),
    /// A member of the staff's notice of a paid order.
    OrderPaid(OrderPaid),
    /// What the message was about is gone (the store was purged meanwhile): nothing to send.
    Nothing,
    /// Not read here: the message reads what it needs when it is sent.
    AtSend,
    /// It could not be read (goods that cannot be opened): its send fails, and the outbox
    /// retries it and in the end gives up on it as on any failed send.
    Failed(anyhow::Error),
}

impl Prepared {
    /// Sends what was read to `chat`. [`Prepared::AtSend`] is the caller's to send.
    pub(super) async fn send(self, bot: &StoreBot, ctx: &StoreCtx, chat: i64) -> HandlerResult {
        match self {
            Prepared::Goods { order, goods } => {
                goods
                    .send(bot, ctx, texts(ctx.locale_of(chat)), &order)
                    .await
            }
            Prepared::Received(read) => notify::send_received(bot, ctx, chat, read).await,
            Prepared::OrderPaid(read) => notices::send_order_paid(bot, ctx, chat, &read).await,
            Prepared::Nothing | Prepared::AtSend => Ok(()),
            Prepared::Failed(error) => Err(error),
        }
    }
}

/// Reads what each of `claimed` says, in their order, in the claim's transaction `tx`.
///
/// A database error ends the batch (the transaction cannot go on; the claims roll back with
/// it and the messages are sent later, as when the claim itself fails); any other error is
/// that message's failed send.
pub(super) async fn read(
    ctx: &StoreCtx,
    tx: &mut TenantTx,
    claimed: &[Claimed],
) -> anyhow::Result<Vec<Prepared>> {
    let mut rows = Rows::default();
    let mut ready = Vec::with_capacity(claimed.len());
    for message in claimed {
        ready.push(match read_one(ctx, tx, &mut rows, message).await {
            Ok(prepared) => prepared,
            Err(error) if error.chain().any(|e| e.is::<sqlx::Error>()) => return Err(error),
            Err(error) => Prepared::Failed(error),
        });
    }
    Ok(ready)
}

async fn read_one(
    ctx: &StoreCtx,
    tx: &mut TenantTx,
    rows: &mut Rows,
    claimed: &Claimed,
) -> anyhow::Result<Prepared> {
    Ok(match &claimed.message {
        Message::DeliverOrder { order_id } => {
            let Some(order) = rows.order(tx, *order_id).await? else {
                return Ok(Prepared::Nothing);
            };
            let items = rows.items(tx, order.id).await?;
            let goods = Goods::read(ctx, tx, &order, items).await?;
            Prepared::Goods { order, goods }
        }
        Message::PaymentReceived { payment_id } => {
            let Some(payment) = rows.payment(tx, *payment_id).await? else {
                return Ok(Prepared::Nothing);
            };
            let order = match payment.order_id {
                Some(order_id) => rows.order(tx, order_id).await?,
                None => None,
            };
            let own = notify::received_text(ctx, tx, &payment, order.as_ref()).await?;
            Prepared::Received(Received {
                payment,
                order,
                own,
            })
        }
        Message::OrderPaid {
            order_id,
            payment_id,
        } => {
            let Some(order) = rows.order(tx, *order_id).await? else {
                return Ok(Prepared::Nothing);
            };
            let items = rows.items(tx, order.id).await?;
            let payment = match payment_id {
                Some(id) => rows.payment(tx, *id).await?,
                None => None,
            };
            Prepared::OrderPaid(OrderPaid {
                order,
                items,
                payment,
            })
        }
        _ => Prepared::AtSend,
    })
}

/// The rows a batch has read, so that each is read once however many of its messages name it.
#[derive(Default)]
struct Rows {
    orders: HashMap<i64, Option<Order>>,
    items: HashMap<i64, Vec<Item>>,
    payments: HashMap<i64, Option<Payment>>,
}

impl Rows {
    async fn order(&mut self, tx: &mut TenantTx, id: i64) -> sqlx::Result<Option<Order>> {
        if let Some(order) = self.orders.get(&id) {
            return Ok(order.clone());
        }
        let order = orders::get(tx, id).await?;
        self.orders.insert(id, order.clone());
        Ok(order)
    }

    async fn items(&mut self, tx: &mut TenantTx, order_id: i64) -> sqlx::Result<Vec<Item>> {
        if let Some(items) = self.items.get(&order_id) {
            return Ok(items.clone());
        }
        let items = orders::items(tx, order_id).await?;
        self.items.insert(order_id, items.clone());
        Ok(items)
    }

    async fn payment(&mut self, tx: &mut TenantTx, id: i64) -> sqlx::Result<Option<Payment>> {
        if let Some(payment) = self.payments.get(&id) {
            return Ok(payment.clone());
        }
        let payment = payments::get(tx, id).await?;
        self.payments.insert(id, payment.clone());
        Ok(payment)
    }
}

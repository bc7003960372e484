//! The transactional outbox: messages that must reach a customer because money or stock
//! changed are written in the same transaction as the change, then sent and marked sent.
//!
//! The fast path sends right after the commit; `jobs::outbox` picks up whatever that did not
//! finish (a crash, Telegram down). A row is claimed with a lease before it is sent, so two
//! senders never send it at the same time, and a sender that died mid-way is retried once the
//! lease runs out. A delivery names its order and never holds the goods in plain text.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, types::Json};
use time::OffsetDateTime;

use crate::db::TenantId;

/// How long a claimed row is left alone before another sender may retry it.
pub const LEASE: Duration = Duration::from_secs(LEASE_SECONDS as u64);
const LEASE_SECONDS: i64 = 60;
/// After this many failed attempts a message is marked failed and an operator must look.
const MAX_ATTEMPTS: i32 = 10;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// Send the goods of a paid order.
    DeliverOrder { order_id: i64 },
    /// Send an HTML text.
    Text { text: String },
    /// Tell the customer a payment arrived (and what became of it); remove the invoice photo.
    PaymentReceived { payment_id: i64 },
    /// Tell the customer an invoice expired or was cancelled; remove the invoice photo.
    InvoiceClosed { payment_id: i64 },
    /// Send the terms (SNK) of a delivered order's products, each with a "fulfil" button.
    Snk { order_id: i64 },
    /// Tell an admin that a payment arrived.
    AdminPayment { payment_id: i64 },
    /// Warn the owner that the payment gateway keeps failing.
    GatewayAlert { failures: i32, error: String },
    /// Tell the owner or an admin that an order was paid (by QRIS, from the balance, by hand),
    /// with the gateway's payment when there is one.
    OrderPaid {
        order_id: i64,
        payment_id: Option<i64>,
    },
    /// Tell the owner or an admin that a product's available stock fell to the threshold.
    LowStock {
        product_id: i64,
        /// The product's name when its stock crossed the threshold.
        name: String,
        available: i64,
        threshold: u32,
    },
    /// Tell the buyer that (part of) a paid order went back to their balance.
    OrderRefunded { order_id: i64 },
    /// Tell the customer that the store changed their balance.
    BalanceAdjusted { ledger_id: i64 },
    /// Tell the buyer that the store cancelled their unpaid order (one without an open invoice;
    /// closing an invoice says so itself).
    OrderCancelled { order_id: i64 },
    /// Tell the owner that a payment is held for review: Pakasir's record of it disagrees with
    /// the invoice.
    PaymentReview { payment_id: i64 },
    /// Tell the owner or an admin that Telegram refused the store's bot token from `since` and
    /// that the bot runs again. Queued when the refusal is found; the outbox holds it while the
    /// store cannot send, so it goes out once the store runs with a token Telegram accepts.
    TokenRestored {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
    },
}

impl Message {
    fn kind(&self) -> &'static str {
        match self {
            Message::DeliverOrder { .. } => "deliver_order",
            Message::Text { .. } => "text",
            Message::PaymentReceived { .. } => "payment_received",
            Message::InvoiceClosed { .. } => "invoice_closed",
            Message::Snk { .. } => "snk",
            Message::AdminPayment { .. } => "admin_payment",
            Message::GatewayAlert { .. } => "gateway_alert",
            Message::OrderPaid { .. } => "order_paid",
            Message::LowStock { .. } => "low_stock",
            Message::OrderRefunded { .. } => "order_refunded",
            Message::BalanceAdjusted { .. } => "balance_adjusted",
            Message::OrderCancelled { .. } => "order_cancelled",
            Message::PaymentReview { .. } => "payment_review",
            Message::TokenRestored { .. } => "token_restored",
        }
    }
}

/// A row claimed for sending.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: i64,
    pub chat_id: i64,
    pub message: Message,
    pub attempts: i32,
}

/// Seconds the outbox worker leaves a fresh message to the fast path (the sender that wrote it,
/// right after its commit) before taking it over: the `fallback_after_secs` every writer passes.
pub const FAST_PATH_GRACE_SECS: i64 = 30;

/// Writes a message into the outbox (in the caller's transaction). The host-wide queue entry
/// is due after `fallback_after_secs`, giving the fast path time to send it first. The row and
/// its queue entry are written by one statement: one round trip per message.
pub async fn enqueue(
    conn: &mut PgConnection,
    tenant: TenantId,
    chat_id: i64,
    message: &Message,
    fallback_after_secs: i64,
) -> sqlx::Result<i64> {
    let ids = write_many(
        conn,
        tenant,
        std::iter::once((chat_id, message)),
        fallback_after_secs,
        0,
    )
    .await?;
    ids.first().copied().ok_or(sqlx::Error::RowNotFound)
}

/// Writes several messages into the outbox (in the caller's transaction) with one statement,
/// as [`enqueue`] writes one; returns their ids in the order given, which is the order they
/// are sent in. The messages a change writes together (a payment's notice, the goods, the
/// staff's notices) thus cost one round trip, however many there are.
pub async fn enqueue_many(
    conn: &mut PgConnection,
    tenant: TenantId,
    messages: &[(i64, Message)],
    fallback_after_secs: i64,
) -> sqlx::Result<Vec<i64>> {
    let messages = messages.iter().map(|(chat, message)| (*chat, message));
    write_many(conn, tenant, messages, fallback_after_secs, 0).await
}

/// Writes `messages` with one statement, each with `attempts` made and its next attempt (and
/// its queue entry) due after `due_after_secs`; returns their ids in the order given.
async fn write_many<'m>(
    conn: &mut PgConnection,
    tenant: TenantId,
    messages: impl Iterator<Item = (i64, &'m Message)>,
    due_after_secs: i64,
    attempts: i32,
) -> sqlx::Result<Vec<i64>> {
    let (mut chats, mut kinds, mut payloads) = (Vec::new(), Vec::new(), Vec::new());
    for (chat, message) in messages {
        chats.push(chat);
        kinds.push(message.kind());
        payloads
            .push(serde_json::to_string(message).map_err(|e| sqlx::Error::Encode(Box::new(e)))?);
    }
    if chats.is_empty() {
        return Ok(Vec::new());
    }
    // The rows are inserted in the order given (`order by n`), so their identity ids rise in
    // that order: sorting the ids returned gives the messages' order back.
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "with written as ( \
             insert into outbox (tenant_id, chat_id, kind, payload, attempts, next_attempt_at) \
             select $1, m.chat_id, m.kind, m.payload::jsonb, $6, \
                    case when $6 > 0 then now() + make_interval(secs => $5) else now() end \
             from unnest($2::bigint[], $3::text[], $4::text[]) with ordinality as m (chat_id, kind, payload, n) \
             order by m.n \
             returning id), \
         queued as ( \
             insert into outbox_queue (outbox_id, tenant_id, due_at) \
             select id, $1, now() + make_interval(secs => $5) from written) \
         select id from written",
    )
    .bind(tenant)
    .bind(chats)
    .bind(kinds)
    .bind(payloads)
    .bind(due_after_secs as f64)
    .bind(attempts)
    .fetch_all(conn)
    .await?;
    ids.sort_unstable();
    Ok(ids)
}

/// Who sends the messages a change writes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// The change's writer, right after its commit: the rows are written claimed by it
    /// ([`enqueue_claimed`]).
    Writer,
    /// The outbox worker, after the grace it leaves a fast path ([`enqueue_many`]).
    Worker,
}

/// The messages a change wrote, as [`write`] wrote them.
#[derive(Clone, Debug)]
pub enum Written {
    /// Pending for whoever claims them first; their ids.
    Queued(Vec<i64>),
    /// Claimed by the writer, which sends them after its commit.
    Claimed(Vec<Claimed>),
}

/// Writes several messages into the outbox with one statement, claimed for the writer or
/// queued for any sender as `sender` says.
pub async fn write(
    conn: &mut PgConnection,
    tenant: TenantId,
    messages: &[(i64, Message)],
    sender: Sender,
) -> sqlx::Result<Written> {
    Ok(match sender {
        Sender::Writer => Written::Claimed(enqueue_claimed(conn, tenant, messages).await?),
        Sender::Worker => {
            Written::Queued(enqueue_many(conn, tenant, messages, FAST_PATH_GRACE_SECS).await?)
        }
    })
}

/// Writes several messages into the outbox as [`enqueue_many`] does, but already claimed by the
/// caller, who sends them right after its commit: their first attempt is counted and leased
/// as [`claim`] would lease it, and their queue entries are due when the lease ends. The
/// change that writes them thus saves the transaction a claim would cost. A claim committed
/// with the change is as safe as one committed after it: if the caller dies before recording
/// the sends, the worker takes the rows over when the lease ends, as it takes over any lost
/// claim; if the change rolls back, the rows and their claim roll back with it and nothing
/// was sent. Returns the claimed rows in the order given.
pub async fn enqueue_claimed(
    conn: &mut PgConnection,
    tenant: TenantId,
    messages: &[(i64, Message)],
) -> sqlx::Result<Vec<Claimed>> {
    let written = messages.iter().map(|(chat, message)| (*chat, message));
    let ids = write_many(conn, tenant, written, LEASE_SECONDS, 1).await?;
    Ok(ids
        .into_iter()
        .zip(messages)
        .map(|(id, (chat_id, message))| Claimed {
            id,
            chat_id: *chat_id,
            message: message.clone(),
            attempts: 1,
        })
        .collect())
}

/// Claims those of `ids` that are pending and whose time has come, in the order given; the
/// others (another sender has them, or they were sent already) are left out. One statement
/// claims them all, so the messages a change wrote together cost one claim.
pub async fn claim(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<Claimed>> {
    let rows: Vec<(i64, i64, Json<Message>, i32)> = sqlx::query_as(
        "update outbox set attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $2) \
         where id = any($1) and status = 'pending' and next_attempt_at <= now() \
         returning id, chat_id, payload, attempts",
    )
    .bind(ids)
    .bind(LEASE_SECONDS as f64)
    .fetch_all(conn)
    .await?;
    let mut claimed: Vec<Claimed> = rows
        .into_iter()
        .map(|(id, chat_id, message, attempts)| Claimed {
            id,
            chat_id,
            message: message.0,
            attempts,
        })
        .collect();
    claimed.sort_by_key(|c| ids.iter().position(|&id| id == c.id));
    Ok(claimed)
}

/// Marks messages sent and takes them off the queue, and marks `delivered` the paid orders
/// whose goods they were (as `orders::mark_delivered` does), in one statement.
pub async fn mark_sent(
    conn: &mut PgConnection,
    ids: &[i64],
    delivered: &[i64],
) -> sqlx::Result<()> {
    sqlx::query(
        "with sent as ( \
             update outbox set status = 'sent', sent_at = now(), last_error = null \
             where id = any($1) returning id), \
         unqueued as ( \
             delete from outbox_queue where outbox_id in (select id from sent)) \
         update orders set status = 'delivered', delivered_at = now() \
         where id = any($2) and status = 'paid'",
    )
    .bind(ids)
    .bind(delivered)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed send: retried later with backoff, or given up after many attempts.
pub async fn mark_failed(
    conn: &mut PgConnection,
    claimed: &Claimed,
    error: &str,
) -> sqlx::Result<()> {
    let backoff = (5_i64 << claimed.attempts.clamp(0, 10)).min(3_600) as f64;
    let give_up = claimed.attempts >= MAX_ATTEMPTS;
    sqlx::query(
        "update outbox set last_error = $2, status = case when $3 then 'failed' else 'pending' end, \
         next_attempt_at = now() + make_interval(secs => $4) where id = $1",
    )
    .bind(claimed.id)
    .bind(error)
    .bind(give_up)
    .bind(backoff)
    .execute(&mut *conn)
    .await?;
    if give_up {
        sqlx::query("delete from outbox_queue where outbox_id = $1")
            .bind(claimed.id)
            .execute(conn)
            .await?;
    } else {
        sqlx::query("update outbox_queue set due_at = now() + make_interval(secs => $2) where outbox_id = $1")
            .bind(claimed.id)
            .bind(backoff)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Due messages of the stores in `stores` (ids only): the queue is the named cross-tenant path.
///
/// Only stores that can send now are asked for, so messages of a stopped store (suspended,
/// restarting, its token revoked) wait without taking the places of others. At most
/// `per_store` are taken from one store, and the first due message of every store comes before
/// the second of any, so one store's backlog never delays another's retries.
pub async fn due(
    registry: &PgPool,
    stores: &[TenantId],
    per_store: i64,
    limit: i64,
) -> sqlx::Result<Vec<(i64, TenantId)>> {
    let stores: Vec<uuid::Uuid> = stores.iter().map(|t| t.0).collect();
    sqlx::query_as(
        "select outbox_id, tenant_id from ( \
             select outbox_id, tenant_id, due_at, \
                    row_number() over (partition by tenant_id order by due_at, outbox_id) as turn \
             from outbox_queue where due_at <= now() and tenant_id = any($1) \
         ) due where turn <= $2 order by turn, due_at limit $3",
    )
    .bind(stores)
    .bind(per_store)
    .bind(limit)
    .fetch_all(registry)
    .await
}

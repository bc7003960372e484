//! What the broadcast sender does with recipients, one at a time.
//!
//! A recipient is claimed (`pending` -> `sending`, with a lease) in a committed transaction
//! before its message is sent, and marked with the outcome after. Claims take the row with
//! `FOR UPDATE SKIP LOCKED`, so several senders (host processes) can share a broadcast and
//! never take the same recipient. A `sending` row whose lease ran out belonged to a sender
//! that died between the send and the mark: it becomes `unknown` and is never sent again,
//! since Telegram may have delivered it and the Bot API has no idempotency key. That one
//! in-flight message per sender is the whole window, because a sender claims one recipient at
//! a time.

use sqlx::{PgConnection, PgPool};

use super::{Broadcast, State, load};
use crate::db::TenantId;

/// How long a claimed recipient belongs to its sender; longer than any send can take.
const LEASE_SECONDS: f64 = 60.0;
/// Network errors that surely never reached Telegram are retried this many times.
const MAX_ATTEMPTS: i32 = 5;

/// What became of one send.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Sent,
    /// The customer blocked the bot (or deleted their account): the customer is marked
    /// inactive too, so later broadcasts skip them.
    Blocked,
    /// Telegram refused the message for another reason, kept here.
    Failed(String),
    /// Telegram asked the bot to slow down (429): back to pending, not before `after_secs`.
    /// This is Telegram's pacing, not the recipient's fault, so it uses up no attempt.
    Paced {
        after_secs: f64,
    },
    /// The request surely never reached Telegram (a refused connection): back to pending,
    /// not before `after_secs`, and failed after a few attempts.
    Retry {
        after_secs: f64,
        error: String,
    },
    /// The request may have reached Telegram but no answer came: never sent again.
    Unknown(String),
}

/// A recipient claimed for sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    pub broadcast_id: i64,
    pub chat_id: i64,
    pub attempts: i32,
}

/// The stores among `stores` with a broadcast still to send: the queue is the named
/// cross-tenant path, holding ids only.
pub async fn stores_with_work(
    registry: &PgPool,
    stores: &[TenantId],
) -> sqlx::Result<Vec<TenantId>> {
    let stores: Vec<uuid::Uuid> = stores.iter().map(|t| t.0).collect();
    sqlx::query_scalar("select distinct tenant_id from broadcast_queue where tenant_id = any($1)")
        .bind(stores)
        .fetch_all(registry)
        .await
}

/// The store's oldest broadcast that may send now (queued or running, not paused), marked
/// running. Recipients whose sender died meanwhile are turned `unknown` first.
pub async fn next(conn: &mut PgConnection) -> sqlx::Result<Option<Broadcast>> {
    sqlx::query(
        "update broadcast_recipients set status = 'unknown', lease_until = null, \
         error = 'the sender stopped between the send and its record' \
         where status = 'sending' and lease_until < now()",
    )
    .execute(&mut *conn)
    .await?;
    let id: Option<i64> = sqlx::query_scalar(
        "update broadcasts set state = 'running' where id = ( \
             select id from broadcasts where state in ('queued', 'running') order by id limit 1 \
         ) returning id",
    )
    .fetch_optional(&mut *conn)
    .await?;
    match id {
        Some(id) => load(conn, id).await,
        None => Ok(None),
    }
}

/// Claims the next recipient of `broadcast` that is due; `None` when none is, or when the
/// broadcast no longer runs (an admin paused or cancelled it).
pub async fn claim(conn: &mut PgConnection, broadcast: i64) -> sqlx::Result<Option<Claim>> {
    // The pick is a MATERIALIZED CTE so that it runs once. As a subquery (or an inlined CTE)
    // the planner may put it on the inner side of a nested loop and run it again for each row
    // the update joins; each run skips the rows the previous runs locked, so one statement
    // would take many more rows than its LIMIT (measured: a broadcast claim took hundreds of
    // recipients at once, which then turned `unknown` unsent).
    let row: Option<(i64, i32)> = sqlx::query_as(
        "with due as materialized ( \
             select tenant_id, broadcast_id, chat_id from broadcast_recipients \
             where broadcast_id = $1 and status = 'pending' and next_attempt_at <= now() \
               and exists (select 1 from broadcasts b where b.id = $1 and b.state = 'running') \
             order by next_attempt_at, chat_id limit 1 for update skip locked \
         ) \
         update broadcast_recipients r set status = 'sending', attempts = r.attempts + 1, \
             lease_until = now() + make_interval(secs => $2) \
         from due \
         where r.tenant_id = due.tenant_id and r.broadcast_id = due.broadcast_id \
           and r.chat_id = due.chat_id \
         returning r.chat_id, r.attempts",
    )
    .bind(broadcast)
    .bind(LEASE_SECONDS)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(chat_id, attempts)| Claim {
        broadcast_id: broadcast,
        chat_id,
        attempts,
    }))
}

/// Records the outcome of a claimed send. A row the sweep already turned `unknown` (the
/// answer came after the lease) takes the real outcome, which is better knowledge.
pub async fn mark(
    conn: &mut PgConnection,
    tenant: TenantId,
    claim: &Claim,
    outcome: &Outcome,
) -> sqlx::Result<()> {
    let (status, error, retry_after) = match outcome {
        Outcome::Sent => ("sent", None, None),
        Outcome::Blocked => ("blocked", None, None),
        Outcome::Failed(error) => ("failed", Some(error.as_str()), None),
        Outcome::Paced { after_secs } => ("pending", None, Some(*after_secs)),
        Outcome::Retry { after_secs, error } if claim.attempts < MAX_ATTEMPTS => {
            ("pending", Some(error.as_str()), Some(*after_secs))
        }
        Outcome::Retry { error, .. } => ("failed", Some(error.as_str()), None),
        Outcome::Unknown(error) => ("unknown", Some(error.as_str()), None),
    };
    sqlx::query(
        "update broadcast_recipients set status = $3, error = $4, lease_until = null, \
             sent_at = case when $3 = 'sent' then now() else sent_at end, \
             next_attempt_at = now() + make_interval(secs => coalesce($5, 0)), \
             attempts = case when $6 then attempts - 1 else attempts end \
         where broadcast_id = $1 and chat_id = $2 and status in ('sending', 'unknown')",
    )
    .bind(claim.broadcast_id)
    .bind(claim.chat_id)
    .bind(status)
    .bind(error)
    .bind(retry_after)
    .bind(matches!(outcome, Outcome::Paced { .. }))
    .execute(&mut *conn)
    .await?;
    if *outcome == Outcome::Blocked {
        sqlx::query(
            "update customers set blocked_bot = true where tenant_id = $1 and telegram_user_id = $2",
        )
        .bind(tenant)
        .bind(claim.chat_id)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Remembers the file id Telegram gave the photo at its first send.
pub async fn set_photo_file_id(
    conn: &mut PgConnection,
    broadcast: i64,
    file_id: &str,
) -> sqlx::Result<()> {
    sqlx::query("update broadcasts set photo_file_id = $2 where id = $1 and photo_file_id is null")
        .bind(broadcast)
        .bind(file_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the broadcast is over: nothing pending and nothing in flight. A finished
/// broadcast is marked done and leaves the host's queue.
pub async fn finish_if_done(conn: &mut PgConnection, broadcast: i64) -> sqlx::Result<bool> {
    let open: bool = sqlx::query_scalar(
        "select exists (select 1 from broadcast_recipients \
                        where broadcast_id = $1 and status in ('pending', 'sending'))",
    )
    .bind(broadcast)
    .fetch_one(&mut *conn)
    .await?;
    if open {
        return Ok(false);
    }
    sqlx::query(
        "update broadcasts set state = $2, finished_at = now() \
         where id = $1 and state in ('queued', 'running')",
    )
    .bind(broadcast)
    .bind(State::Done.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query("delete from broadcast_queue where broadcast_id = $1")
        .bind(broadcast)
        .execute(conn)
        .await?;
    Ok(true)
}

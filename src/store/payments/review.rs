//! Payments held for review: Pakasir's record of the invoice (its base amount, project or order
//! id) disagrees with ours. Such a record is never settled, and checking it again every minute
//! changes nothing while the order holds its stock, so after [`REVIEW_AFTER`] disagreeing
//! answers the payment leaves the queue in the `review` state and the owner is alerted with the
//! facts, in one transaction.
//!
//! The rule for the goods: the order keeps its reservation until its own hold runs out, then it
//! expires like any unpaid order and its stock returns to the shelf. The owner, who can see the
//! transaction in Pakasir's dashboard, settles the case by hand: marking the order paid (which
//! reserves the goods again if they are still there) or letting it end.

use sqlx::PgConnection;

use super::dequeue;
use crate::{
    db::TenantId,
    store::outbox::{self, Message},
};

/// Disagreeing answers after which a payment is held for review: one could be a glitch of the
/// gateway, three in a row over minutes are a record to look at. An agreeing answer between
/// them starts the count again ([`note_agreement`]).
pub const REVIEW_AFTER: i32 = 3;

/// What noting a disagreeing answer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Noted {
    /// Counted; the payment is checked again later.
    Counted(i32),
    /// This answer held the payment for review; the owner's alert, unless switched off.
    Held { alert: Option<i64> },
    /// The payment was not pending any more: nothing changed.
    NotPending,
}

/// Counts an answer of the gateway that disagrees with the pending payment `payment_id`, and
/// holds the payment for review when it is the [`REVIEW_AFTER`]th. `facts` says what differs
/// (kept as the review's reason); `owner` receives the alert, `None` when they switched gateway
/// notices off. The count and the change of state are conditional updates of the locked row,
/// so concurrent checks hold the payment (and alert) exactly once.
pub async fn note_mismatch(
    conn: &mut PgConnection,
    tenant: TenantId,
    payment_id: i64,
    facts: &str,
    owner: Option<i64>,
) -> sqlx::Result<Noted> {
    let count: Option<i32> = sqlx::query_scalar(
        "update payments set mismatches = mismatches + 1, last_checked_at = now() \
         where id = $1 and status = 'pending' returning mismatches",
    )
    .bind(payment_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(count) = count else {
        return Ok(Noted::NotPending);
    };
    if count < REVIEW_AFTER {
        return Ok(Noted::Counted(count));
    }
    sqlx::query(
        "update payments set status = 'review', review_reason = $2 \
         where id = $1 and status = 'pending'",
    )
    .bind(payment_id)
    .bind(facts)
    .execute(&mut *conn)
    .await?;
    dequeue(conn, payment_id).await?;
    let alert = match owner {
        Some(owner) => {
            let message = Message::PaymentReview { payment_id };
            Some(
                outbox::enqueue(
                    conn,
                    tenant,
                    owner,
                    &message,
                    super::settle::FAST_PATH_GRACE_SECS,
                )
                .await?,
            )
        }
        None => None,
    };
    Ok(Noted::Held { alert })
}

/// Ends the streak of disagreeing answers of the pending payment `payment_id`: Pakasir's record
/// agreed with ours this time, so a glitch now and then never adds up to a review; only
/// [`REVIEW_AFTER`] disagreements in a row do.
pub async fn note_agreement(conn: &mut PgConnection, payment_id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "update payments set mismatches = 0 where id = $1 and status = 'pending' and mismatches > 0",
    )
    .bind(payment_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Why the payment is held for review, if it is.
pub async fn review_reason(
    conn: &mut PgConnection,
    payment_id: i64,
) -> sqlx::Result<Option<String>> {
    Ok(sqlx::query_scalar::<_, Option<String>>(
        "select review_reason from payments where id = $1 and status = 'review'",
    )
    .bind(payment_id)
    .fetch_optional(conn)
    .await?
    .flatten())
}

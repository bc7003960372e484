//! Customer balances and their ledger.
//!
//! Every change is a ledger row (amount, reason, reference, balance after) written in the same
//! transaction as the change of the `balances` row. The balance never goes negative: the debit
//! is a conditional update whose row lock serialises concurrent spending, and the table's
//! check is the last guard. `(reason, reference)` is unique, so a deposit, refund or purchase
//! is booked at most once whatever retries or replays happen.

use sqlx::PgConnection;

use crate::db::TenantId;

/// Why a balance changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Deposit,
    Purchase,
    Refund,
    Adjustment,
    LatePayment,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Deposit => "deposit",
            Reason::Purchase => "purchase",
            Reason::Refund => "refund",
            Reason::Adjustment => "adjustment",
            Reason::LatePayment => "late_payment",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("the balance of {balance} is less than {needed}")]
    Insufficient { balance: i64, needed: i64 },
    #[error("this change was already booked")]
    AlreadyBooked,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub async fn balance(conn: &mut PgConnection, customer: i64) -> sqlx::Result<i64> {
    Ok(
        sqlx::query_scalar("select balance from balances where customer_id = $1")
            .bind(customer)
            .fetch_optional(conn)
            .await?
            .unwrap_or(0),
    )
}

/// Adds `amount` (> 0) to the balance; returns the new balance.
pub async fn credit(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer: i64,
    amount: i64,
    reason: Reason,
    reference: &str,
) -> Result<i64, WalletError> {
    let change = Change {
        customer,
        amount,
        reason,
        reference,
        note: None,
    };
    Ok(apply(conn, tenant, &change).await?.balance)
}

/// Takes `amount` (> 0) from the balance; returns the new balance.
pub async fn debit(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer: i64,
    amount: i64,
    reason: Reason,
    reference: &str,
) -> Result<i64, WalletError> {
    let change = Change {
        customer,
        amount: -amount,
        reason,
        reference,
        note: None,
    };
    Ok(apply(conn, tenant, &change).await?.balance)
}

/// One change of a customer's balance, as the ledger records it.
#[derive(Clone, Debug)]
pub struct Change<'a> {
    pub customer: i64,
    /// Positive credits, negative debits; never zero.
    pub amount: i64,
    pub reason: Reason,
    /// What the change is for; `(reason, reference)` is booked at most once.
    pub reference: &'a str,
    /// Why, in the words of the admin who made it (refunds and adjustments).
    pub note: Option<&'a str>,
}

/// What a booked change left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Booked {
    pub balance: i64,
    pub ledger_id: i64,
}

/// Credits or debits the balance and writes its ledger row. A debit never takes the balance
/// below zero: it is a conditional update, and the table's check is the last guard.
pub async fn apply(
    conn: &mut PgConnection,
    tenant: TenantId,
    change: &Change<'_>,
) -> Result<Booked, WalletError> {
    debug_assert!(change.amount != 0);
    let after = if change.amount > 0 {
        sqlx::query_scalar(
            "insert into balances (tenant_id, customer_id, balance) values ($1, $2, $3) \
             on conflict (tenant_id, customer_id) do update set balance = balances.balance + excluded.balance \
             returning balance",
        )
        .bind(tenant)
        .bind(change.customer)
        .bind(change.amount)
        .fetch_one(&mut *conn)
        .await?
    } else {
        let needed = -change.amount;
        let after: Option<i64> = sqlx::query_scalar(
            "update balances set balance = balance - $2 where customer_id = $1 and balance >= $2 returning balance",
        )
        .bind(change.customer)
        .bind(needed)
        .fetch_optional(&mut *conn)
        .await?;
        match after {
            Some(after) => after,
            None => {
                let balance = balance(conn, change.customer).await?;
                return Err(WalletError::Insufficient { balance, needed });
            }
        }
    };
    let ledger_id = book(conn, tenant, change, after).await?;
    Ok(Booked {
        balance: after,
        ledger_id,
    })
}

async fn book(
    conn: &mut PgConnection,
    tenant: TenantId,
    change: &Change<'_>,
    after: i64,
) -> Result<i64, WalletError> {
    let booked: Option<i64> = sqlx::query_scalar(
        "insert into balance_ledger (tenant_id, customer_id, amount, reason, reference, balance_after, note) \
         values ($1, $2, $3, $4, $5, $6, $7) on conflict (tenant_id, reason, reference) do nothing \
         returning id",
    )
    .bind(tenant)
    .bind(change.customer)
    .bind(change.amount)
    .bind(change.reason.as_str())
    .bind(change.reference)
    .bind(after)
    .bind(change.note)
    .fetch_optional(conn)
    .await?;
    // The caller's transaction rolls back the balance change with this error.
    booked.ok_or(WalletError::AlreadyBooked)
}

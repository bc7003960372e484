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
    debug_assert!(amount > 0);
    let after: i64 = sqlx::query_scalar(
        "insert into balances (tenant_id, customer_id, balance) values ($1, $2, $3) \
         on conflict (tenant_id, customer_id) do update set balance = balances.balance + excluded.balance \
         returning balance",
    )
    .bind(tenant)
    .bind(customer)
    .bind(amount)
    .fetch_one(&mut *conn)
    .await?;
    book(conn, tenant, customer, amount, reason, reference, after).await?;
    Ok(after)
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
    debug_assert!(amount > 0);
    let after: Option<i64> = sqlx::query_scalar(
        "update balances set balance = balance - $2 where customer_id = $1 and balance >= $2 returning balance",
    )
    .bind(customer)
    .bind(amount)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(after) = after else {
        let balance = balance(conn, customer).await?;
        return Err(WalletError::Insufficient {
            balance,
            needed: amount,
        });
    };
    book(conn, tenant, customer, -amount, reason, reference, after).await?;
    Ok(after)
}

async fn book(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer: i64,
    amount: i64,
    reason: Reason,
    reference: &str,
    after: i64,
) -> Result<(), WalletError> {
    let booked = sqlx::query(
        "insert into balance_ledger (tenant_id, customer_id, amount, reason, reference, balance_after) \
         values ($1, $2, $3, $4, $5, $6) on conflict (tenant_id, reason, reference) do nothing",
    )
    .bind(tenant)
    .bind(customer)
    .bind(amount)
    .bind(reason.as_str())
    .bind(reference)
    .bind(after)
    .execute(conn)
    .await?
    .rows_affected();
    // The caller's transaction rolls back the balance change with this error.
    if booked == 0 {
        Err(WalletError::AlreadyBooked)
    } else {
        Ok(())
    }
}

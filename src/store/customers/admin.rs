//! Customers as a store's admins see and run them: search, profile, blocking by the store, and
//! balance adjustments with a reason.
//!
//! One function per operation, called alike by `bot/admin/` and `http/api/`, validating its
//! input here and writing its audit row in the caller's tenant transaction.

use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    db::TenantId,
    store::{
        audit::{self, Actor, Entry},
        error::{OpError, OpResult},
        orders::admin::{self as order_admin, AWAITS_REVIEW, Summary},
        outbox::{self, FAST_PATH_GRACE_SECS, Message},
        wallet::{self, Change, Reason, WalletError},
    },
};

/// The largest single adjustment, either way: a typo of a few zeros is refused, not booked.
pub const ADJUSTMENT_LIMIT: i64 = 100_000_000;
/// The longest search text.
pub const QUERY_MAX_CHARS: usize = 64;
/// How many of the customer's orders the profile shows.
const RECENT_ORDERS: i64 = 5;

/// A customer in the admins' list.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Listed {
    pub telegram_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub blocked_by_store: bool,
    pub balance: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
}

/// Which customers to list.
#[derive(Clone, Debug, Default)]
pub struct Search {
    /// Part of a name or username (a leading `@` is ignored), or a whole Telegram id.
    pub query: Option<String>,
    /// Only customers with a larger Telegram id (the cursor of the previous page).
    pub after_id: Option<i64>,
    pub limit: i64,
}

impl Search {
    /// The trimmed query, if any; refuses one that is too long or holds a NUL character.
    pub fn query(&self) -> OpResult<Option<String>> {
        let Some(query) = self.query.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if query.contains('\0') {
            return Err(OpError::invalid("q", "the search holds a NUL character"));
        }
        if query.chars().count() > QUERY_MAX_CHARS {
            return Err(OpError::invalid(
                "q",
                format!("type at most {QUERY_MAX_CHARS} characters"),
            ));
        }
        let query = query.strip_prefix('@').unwrap_or(query);
        Ok((!query.is_empty()).then(|| query.to_owned()))
    }
}

/// Customers whose name or username contains the query, or whose id is it, by id.
pub async fn search(conn: &mut PgConnection, search: &Search) -> OpResult<Vec<Listed>> {
    let query = search.query()?;
    let id: Option<i64> = query.as_deref().and_then(|q| q.parse().ok());
    // The query is matched literally: LIKE's own wildcards in it are escaped.
    let pattern = query.map(|q| {
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let rows = sqlx::query_as(
        "select c.telegram_user_id as telegram_id, c.first_name, c.last_name, c.username, \
                c.blocked_by_store, coalesce(b.balance, 0) as balance, c.last_seen_at \
         from customers c left join balances b on b.customer_id = c.telegram_user_id \
         where ($1::text is null \
                or c.telegram_user_id = $2 \
                or (c.first_name || coalesce(' ' || c.last_name, '')) ilike $1 \
                or c.username ilike $1) \
           and ($3::bigint is null or c.telegram_user_id > $3) \
         order by c.telegram_user_id limit $4",
    )
    .bind(pattern)
    .bind(id)
    .bind(search.after_id)
    .bind(search.limit)
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// A customer as an admin looks them up.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Profile {
    pub telegram_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    /// The language chosen in the bot (`id` or `en`), if any.
    pub language: Option<String>,
    /// Blocked by the store: cannot check out or top up.
    pub blocked_by_store: bool,
    /// The customer blocked the bot: broadcasts skip them.
    pub blocked_bot: bool,
    pub balance: i64,
    /// All orders, whatever their status.
    pub order_count: i64,
    pub paid_order_count: i64,
    /// The totals of paid orders.
    pub spent: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// The latest orders, newest first.
    pub recent_orders: Vec<Summary>,
}

type ProfileRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
    bool,
    OffsetDateTime,
    OffsetDateTime,
);

/// The customer `telegram_id` with their balance, order counts and recent orders.
pub async fn profile(conn: &mut PgConnection, telegram_id: i64) -> OpResult<Profile> {
    let row: Option<ProfileRow> = sqlx::query_as(
        "select first_name, last_name, username, language, blocked_by_store, blocked_bot, \
                first_seen_at, last_seen_at \
         from customers where telegram_user_id = $1",
    )
    .bind(telegram_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((
        first_name,
        last_name,
        username,
        language,
        blocked_by_store,
        blocked_bot,
        first,
        last,
    )) = row
    else {
        return Err(OpError::not_found("customer"));
    };
    let (order_count, paid_order_count, spent): (i64, i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where status in ('paid', 'delivered')), \
                coalesce(sum(total) filter (where status in ('paid', 'delivered')), 0)::bigint \
         from orders where customer_id = $1",
    )
    .bind(telegram_id)
    .fetch_one(&mut *conn)
    .await?;
    let recent_orders = sqlx::query_as(&format!(
        "select id, code, status, customer_id, total, payment_method, refunded_amount, created_at, \
                {AWAITS_REVIEW} as payment_review \
         from orders where customer_id = $1 order by id desc limit $2"
    ))
    .bind(telegram_id)
    .bind(RECENT_ORDERS)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Profile {
        telegram_id,
        first_name,
        last_name,
        username,
        language,
        blocked_by_store,
        blocked_bot,
        balance: wallet::balance(conn, telegram_id).await?,
        order_count,
        paid_order_count,
        spent,
        first_seen_at: first,
        last_seen_at: last,
        recent_orders,
    })
}

/// Whether the store blocked the customer (an unknown customer is not blocked).
pub async fn is_blocked(conn: &mut PgConnection, telegram_id: i64) -> sqlx::Result<bool> {
    Ok(
        sqlx::query_scalar("select blocked_by_store from customers where telegram_user_id = $1")
            .bind(telegram_id)
            .fetch_optional(conn)
            .await?
            .unwrap_or(false),
    )
}

/// Blocks (or unblocks) the customer `telegram_id`. Setting what is already set changes
/// nothing and writes no audit row; returns whether anything changed.
pub async fn set_blocked(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    telegram_id: i64,
    blocked: bool,
) -> OpResult<bool> {
    let before: Option<bool> = sqlx::query_scalar(
        "select blocked_by_store from customers where telegram_user_id = $1 for update",
    )
    .bind(telegram_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(before) = before else {
        return Err(OpError::not_found("customer"));
    };
    if before == blocked {
        return Ok(false);
    }
    sqlx::query(
        "update customers set blocked_by_store = $2, \
             blocked_at = case when $2 then now() end \
         where telegram_user_id = $1",
    )
    .bind(telegram_id)
    .bind(blocked)
    .execute(&mut *conn)
    .await?;
    let entry = Entry {
        actor,
        action: if blocked {
            "customer.block"
        } else {
            "customer.unblock"
        },
        subject: &telegram_id.to_string(),
        before: json!({ "blocked_by_store": before }),
        after: json!({ "blocked_by_store": blocked }),
    };
    audit::record(conn, tenant, entry).await?;
    Ok(true)
}

/// A change of a customer's balance by the store: `amount` rupiah in (positive) or out
/// (negative), with the reason, which is required.
#[derive(Clone, Debug)]
pub struct Adjustment {
    pub amount: i64,
    pub reason: String,
}

impl Adjustment {
    /// A non-zero amount within [`ADJUSTMENT_LIMIT`] either way and a reason of 1 to 500
    /// characters; returns the trimmed reason.
    pub fn validate(&self) -> OpResult<String> {
        check_amount(self.amount)?;
        check_reason(&self.reason)
    }
}

/// An adjustment's amount: non-zero and within [`ADJUSTMENT_LIMIT`] either way. The bot asks
/// for the amount and the reason one at a time and checks each with the rule the API uses.
pub fn check_amount(amount: i64) -> OpResult<()> {
    if amount == 0 || amount.abs() > ADJUSTMENT_LIMIT {
        return Err(OpError::invalid(
            "amount",
            format!("the amount must be non-zero and at most {ADJUSTMENT_LIMIT} either way"),
        ));
    }
    Ok(())
}

/// An adjustment's reason: required, at most 500 characters; returns it trimmed.
pub fn check_reason(reason: &str) -> OpResult<String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(OpError::invalid("reason", "say why the balance changes"));
    }
    order_admin::check_reason(reason)
}

/// What an adjustment did.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Adjusted {
    pub telegram_id: i64,
    pub amount: i64,
    pub reason: String,
    pub balance_before: i64,
    pub balance: i64,
    /// The customer's notice in the outbox.
    #[serde(skip)]
    pub outbox: i64,
}

/// Adds to or takes from the customer's balance, never below zero (the conditional debit and
/// the table's check): a ledger row with the reason, an audit row, and a notice to the
/// customer through the outbox.
pub async fn adjust_balance(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    telegram_id: i64,
    adjustment: &Adjustment,
) -> OpResult<Adjusted> {
    let reason = adjustment.validate()?;
    let known: bool =
        sqlx::query_scalar("select exists (select 1 from customers where telegram_user_id = $1)")
            .bind(telegram_id)
            .fetch_one(&mut *conn)
            .await?;
    if !known {
        return Err(OpError::not_found("customer"));
    }
    // Each adjustment is its own booking; the ledger's (reason, reference) stays unique.
    let reference = format!("adj-{}", Uuid::new_v4().simple());
    let change = Change {
        customer: telegram_id,
        amount: adjustment.amount,
        reason: Reason::Adjustment,
        reference: &reference,
        note: Some(&reason),
    };
    let booked = match wallet::apply(conn, tenant, &change).await {
        Ok(booked) => booked,
        Err(WalletError::Insufficient { balance, needed }) => {
            return Err(OpError::conflict(
                "balance_too_low",
                format!(
                    "the balance of {balance} is less than {needed}; a balance never goes below zero"
                ),
            ));
        }
        Err(WalletError::AlreadyBooked) => unreachable!("every adjustment has a fresh reference"),
        Err(WalletError::Database(error)) => return Err(error.into()),
    };
    let balance_before = booked.balance - adjustment.amount;
    let entry = Entry {
        actor,
        action: "customer.balance",
        subject: &telegram_id.to_string(),
        before: json!({ "balance": balance_before }),
        after: json!({
            "balance": booked.balance,
            "amount": adjustment.amount,
            "reason": reason,
            "ledger_id": booked.ledger_id,
        }),
    };
    audit::record(conn, tenant, entry).await?;
    let message = Message::BalanceAdjusted {
        ledger_id: booked.ledger_id,
    };
    let outbox = outbox::enqueue(conn, tenant, telegram_id, &message, FAST_PATH_GRACE_SECS).await?;
    Ok(Adjusted {
        telegram_id,
        amount: adjustment.amount,
        reason,
        balance_before,
        balance: booked.balance,
        outbox,
    })
}

/// A ledger row as the customer's notice shows it: (amount, balance after, reason).
pub async fn ledger_entry(
    conn: &mut PgConnection,
    ledger_id: i64,
) -> sqlx::Result<Option<(i64, i64, Option<String>)>> {
    sqlx::query_as("select amount, balance_after, note from balance_ledger where id = $1")
        .bind(ledger_id)
        .fetch_optional(conn)
        .await
}

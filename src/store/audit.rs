//! The audit log: who did what to the store, with the state before and after.
//!
//! Rows are written in the transaction of the change they describe, so the log never claims a
//! change that was rolled back and never misses one that was committed. The runtime role may
//! only insert them (`db::migrate` revokes update and delete), so the trail cannot be rewritten.

use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::db::TenantId;

/// Who performed an operation. Every admin operation takes one, so that the bot and the API
/// write the same audit row through the same domain function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A store admin (or the owner) acting in the store's bot.
    Admin(i64),
    /// An API caller, named by its token's subject.
    Api(String),
    /// The host itself (jobs, imports it runs on its own).
    Host,
}

impl Actor {
    fn kind(&self) -> &'static str {
        match self {
            Actor::Admin(_) => "telegram",
            Actor::Api(_) => "api",
            Actor::Host => "host",
        }
    }

    fn telegram_id(&self) -> Option<i64> {
        match self {
            Actor::Admin(id) => Some(*id),
            _ => None,
        }
    }

    fn name(&self) -> Option<&str> {
        match self {
            Actor::Api(subject) => Some(subject),
            _ => None,
        }
    }

    /// A short label for people: the Telegram id, `api:<subject>` or `host`.
    pub fn label(&self) -> String {
        match self {
            Actor::Admin(id) => id.to_string(),
            Actor::Api(subject) => format!("api:{subject}"),
            Actor::Host => "host".to_owned(),
        }
    }
}

/// One entry: `action` a dotted name such as `order.mark_paid`, `subject` what it acted on (an
/// order code, an id).
pub struct Entry<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub subject: &'a str,
    pub before: Value,
    pub after: Value,
}

impl<'a> Entry<'a> {
    /// An entry whose before and after are the states of what was acted on, as the API shows
    /// them (`None`: it did not exist yet, or no longer does).
    pub fn change<T: Serialize>(
        actor: &'a Actor,
        action: &'a str,
        subject: &'a str,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Self {
        Self {
            actor,
            action,
            subject,
            before: state(before),
            after: state(after),
        }
    }
}

/// A state as the log keeps it. A value that cannot be serialised is kept as null rather than
/// failing the change it describes.
fn state<T: Serialize>(value: Option<&T>) -> Value {
    value.map_or(Value::Null, |value| {
        serde_json::to_value(value).unwrap_or(Value::Null)
    })
}

pub async fn record(
    conn: &mut PgConnection,
    tenant: TenantId,
    entry: Entry<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into audit_log (tenant_id, actor, actor_kind, actor_name, action, subject, before, after) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant)
    .bind(entry.actor.telegram_id())
    .bind(entry.actor.kind())
    .bind(entry.actor.name())
    .bind(entry.action)
    .bind(entry.subject)
    .bind(entry.before)
    .bind(entry.after)
    .execute(conn)
    .await?;
    Ok(())
}

/// An audit row as the admin's log view and `GET .../audit` show it.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    /// `telegram`, `api` or `host`.
    pub actor_kind: String,
    /// The Telegram id of an admin who acted in the bot.
    pub actor: Option<i64>,
    /// The token subject of an API caller.
    pub actor_name: Option<String>,
    pub action: String,
    pub subject: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Which rows of the log to list.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// An admin's Telegram id, or an API subject (with or without `api:`).
    pub actor: Option<String>,
    /// An exact action (`order.refund`) or a prefix ending in a dot (`order.`).
    pub action: Option<String>,
    /// Only rows older than this id (the cursor of the previous page).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// The newest rows matching `filter`, newest first.
pub async fn list(conn: &mut PgConnection, filter: &Filter) -> sqlx::Result<Vec<Row>> {
    let telegram: Option<i64> = filter.actor.as_deref().and_then(|a| a.parse().ok());
    let api: Option<&str> = filter
        .actor
        .as_deref()
        .filter(|_| telegram.is_none())
        .map(|a| a.strip_prefix("api:").unwrap_or(a));
    let (exact, prefix) = match filter.action.as_deref() {
        Some(a) if a.ends_with('.') => (None, Some(format!("{a}%"))),
        Some(a) => (Some(a), None),
        None => (None, None),
    };
    sqlx::query_as(
        "select id, actor_kind, actor, actor_name, action, subject, before, after, created_at \
         from audit_log \
         where ($1::bigint is null or actor = $1) \
           and ($2::text is null or (actor_kind = 'api' and actor_name = $2)) \
           and ($3::text is null or action = $3) \
           and ($4::text is null or action like $4) \
           and ($5::bigint is null or id < $5) \
         order by id desc limit $6",
    )
    .bind(telegram)
    .bind(api)
    .bind(exact)
    .bind(prefix)
    .bind(filter.before_id)
    .bind(filter.limit)
    .fetch_all(conn)
    .await
}

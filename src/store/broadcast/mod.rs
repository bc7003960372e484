//! Broadcasts: one message, a text or a photo with a caption, to a store's active customers.
//!
//! Confirming a broadcast writes the broadcast and one row per recipient in one transaction
//! (with its audit row), and puts the broadcast on the host-wide `broadcast_queue`, which
//! `jobs::broadcast` reads to find the stores with work. Everything is checked before that
//! transaction, so bad input queues nothing. `claims` holds what the sender does with the
//! recipients: claim, mark, and the sweep of the ones a dead sender left behind.

pub mod claims;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{
    audit::{self, Actor, Entry},
    error::{OpError, OpResult},
};
use crate::db::TenantId;

/// Telegram's limit on a message text, in characters.
pub const TEXT_LIMIT: usize = 4096;
/// Telegram's limit on a photo caption, in characters.
pub const CAPTION_LIMIT: usize = 1024;

/// Who receives a broadcast.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Every customer who has not blocked the bot.
    #[default]
    All,
    /// Only customers with at least one paid order.
    Buyers,
}

impl Audience {
    fn as_str(self) -> &'static str {
        match self {
            Audience::All => "all",
            Audience::Buyers => "buyers",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "buyers" => Audience::Buyers,
            _ => Audience::All,
        }
    }
}

/// Where a broadcast stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Confirmed, nothing sent yet.
    Queued,
    Running,
    /// Stopped by an admin; resuming continues with the recipients left.
    Paused,
    /// Stopped for good; the recipients left are never sent to.
    Cancelled,
    /// Every recipient has an outcome.
    Done,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Running => "running",
            State::Paused => "paused",
            State::Cancelled => "cancelled",
            State::Done => "done",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "running" => State::Running,
            "paused" => State::Paused,
            "cancelled" => State::Cancelled,
            "done" => State::Done,
            _ => State::Queued,
        }
    }

    /// Whether the broadcast can still send.
    pub fn is_open(self) -> bool {
        matches!(self, State::Queued | State::Running | State::Paused)
    }
}

/// What a broadcast sends, as an owner composes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// The text, or the photo's caption (HTML).
    pub text: String,
    /// An http(s) URL or a Telegram file id.
    pub photo: Option<String>,
    pub audience: Audience,
}

impl Draft {
    /// Checks the draft against Telegram's limits; nothing is queued when this fails.
    pub fn validate(&self) -> OpResult<()> {
        if self.text.contains('\0') || self.photo.as_deref().is_some_and(|p| p.contains('\0')) {
            return Err(OpError::invalid("text", "must not contain a NUL character"));
        }
        let length = self.text.chars().count();
        match &self.photo {
            None if self.text.trim().is_empty() => {
                Err(OpError::invalid("text", "must not be empty"))
            }
            None if length > TEXT_LIMIT => Err(OpError::invalid(
                "text",
                format!("is {length} characters; Telegram takes at most {TEXT_LIMIT}"),
            )),
            Some(_) if length > CAPTION_LIMIT => Err(OpError::invalid(
                "text",
                format!("is {length} characters; a photo's caption takes at most {CAPTION_LIMIT}"),
            )),
            Some(photo) if !is_photo_reference(photo) => Err(OpError::invalid(
                "photo",
                "must be an http(s) URL or a Telegram file id",
            )),
            _ => Ok(()),
        }
    }
}

/// An http(s) URL, or what a Telegram file id looks like (URL-safe base64, no spaces).
fn is_photo_reference(photo: &str) -> bool {
    if let Some(rest) = photo
        .strip_prefix("https://")
        .or_else(|| photo.strip_prefix("http://"))
    {
        return !rest.is_empty() && !rest.contains(char::is_whitespace);
    }
    (10..=256).contains(&photo.len())
        && photo
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// How far a broadcast got. `queued` counts the recipients not yet tried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Progress {
    pub total: i64,
    /// Not tried yet (or waiting to retry a network error).
    pub queued: i64,
    pub sent: i64,
    /// Telegram refused the message for another reason than a block; the reason is kept.
    pub failed: i64,
    /// The customer blocked the bot; they are marked inactive.
    pub blocked: i64,
    /// The sender stopped between the send and its record: maybe received, never re-sent.
    pub unknown: i64,
    /// Still to be sent: queued plus the ones being sent right now.
    pub left: i64,
}

/// A broadcast and its progress.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Broadcast {
    pub id: i64,
    pub state: State,
    pub audience: Audience,
    pub text: String,
    pub photo: Option<String>,
    /// Who confirmed it: an admin's Telegram id, `api:<subject>`.
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    pub progress: Progress,
    /// Where the bot shows the progress, when an admin started it from the bot.
    #[serde(skip)]
    pub progress_message: Option<(i64, i32)>,
    /// Telegram's file id of the photo once the first recipient got it.
    #[serde(skip)]
    pub photo_file_id: Option<String>,
}

type BroadcastRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    OffsetDateTime,
    Option<OffsetDateTime>,
    Option<i64>,
    Option<i32>,
    Option<String>,
);

const COLUMNS: &str = "id, state, audience, text, photo, created_by, created_at, finished_at, \
                       progress_chat_id, progress_message_id, photo_file_id";

/// Queues a broadcast to the store's active customers (all, or those with a paid order):
/// the broadcast, its recipients, its place on the host's queue and the audit row, in the
/// caller's transaction. `progress` is the admin's chat and message that show the progress.
pub async fn create(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    draft: &Draft,
    progress: Option<(i64, i32)>,
) -> OpResult<Broadcast> {
    draft.validate()?;
    let id: i64 = sqlx::query_scalar(
        "insert into broadcasts (tenant_id, text, photo, audience, created_by, progress_chat_id, progress_message_id) \
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
    )
    .bind(tenant)
    .bind(&draft.text)
    .bind(&draft.photo)
    .bind(draft.audience.as_str())
    .bind(actor.label())
    .bind(progress.map(|p| p.0))
    .bind(progress.map(|p| p.1))
    .fetch_one(&mut *conn)
    .await?;
    // Customers who blocked the bot get nothing until they write to it again, and customers
    // the store blocked get nothing from it at all.
    let recipients = sqlx::query(
        "insert into broadcast_recipients (tenant_id, broadcast_id, chat_id) \
         select c.tenant_id, $2, c.telegram_user_id from customers c \
         where c.tenant_id = $1 and not c.blocked_bot and not c.blocked_by_store \
           and ($3 = 'all' or exists (select 1 from orders o where o.tenant_id = c.tenant_id \
                and o.customer_id = c.telegram_user_id and o.status in ('paid', 'delivered')))",
    )
    .bind(tenant)
    .bind(id)
    .bind(draft.audience.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if recipients == 0 {
        return Err(OpError::conflict(
            "no_recipients",
            "the store has no active customers in this audience",
        ));
    }
    sqlx::query("insert into broadcast_queue (broadcast_id, tenant_id) values ($1, $2)")
        .bind(id)
        .bind(tenant)
        .execute(&mut *conn)
        .await?;
    audit::record(
        conn,
        tenant,
        Entry {
            actor,
            action: "broadcast.create",
            subject: &id.to_string(),
            before: serde_json::Value::Null,
            after: json!({
                "audience": draft.audience,
                "text": draft.text,
                "photo": draft.photo,
                "recipients": recipients,
            }),
        },
    )
    .await?;
    get(conn, id).await?.ok_or(OpError::not_found("broadcast"))
}

/// A broadcast of the store and its progress.
pub async fn get(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Broadcast>> {
    let Some(mut found) = load(conn, id).await? else {
        return Ok(None);
    };
    found.progress = progress(conn, id).await?;
    Ok(Some(found))
}

/// A broadcast without counting its recipients (its progress reads as zero): what the sender
/// needs to send it.
pub async fn load(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Broadcast>> {
    let row: Option<BroadcastRow> =
        sqlx::query_as(&format!("select {COLUMNS} from broadcasts where id = $1"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Broadcast {
        id: row.0,
        state: State::parse(&row.1),
        audience: Audience::parse(&row.2),
        text: row.3,
        photo: row.4,
        created_by: row.5,
        created_at: row.6,
        finished_at: row.7,
        progress: Progress::default(),
        progress_message: row.8.zip(row.9),
        photo_file_id: row.10,
    }))
}

/// The counts of a broadcast's recipients by outcome.
pub async fn progress(conn: &mut PgConnection, id: i64) -> sqlx::Result<Progress> {
    sqlx::query_as(
        "select count(*) as total, \
                count(*) filter (where status = 'pending') as queued, \
                count(*) filter (where status = 'sent') as sent, \
                count(*) filter (where status = 'failed') as failed, \
                count(*) filter (where status = 'blocked') as blocked, \
                count(*) filter (where status = 'unknown') as unknown, \
                count(*) filter (where status in ('pending', 'sending')) as left \
         from broadcast_recipients where broadcast_id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await
}

/// What an admin can do to a running broadcast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Pause,
    Resume,
    Cancel,
}

impl Control {
    fn action(self) -> &'static str {
        match self {
            Control::Pause => "broadcast.pause",
            Control::Resume => "broadcast.resume",
            Control::Cancel => "broadcast.cancel",
        }
    }
}

/// Pauses, resumes or cancels a broadcast, with its audit row. A cancelled broadcast leaves
/// the host's queue at once; the one message being sent at that moment may still arrive.
pub async fn control(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    id: i64,
    control: Control,
) -> OpResult<Broadcast> {
    let state: Option<String> =
        sqlx::query_scalar("select state from broadcasts where id = $1 for update")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let before = State::parse(&state.ok_or(OpError::not_found("broadcast"))?);
    let after = match (control, before) {
        (_, State::Cancelled | State::Done) => {
            return Err(OpError::conflict(
                "broadcast_finished",
                format!("the broadcast is already {}", before.as_str()),
            ));
        }
        (Control::Pause, State::Queued | State::Running) => State::Paused,
        (Control::Resume, State::Paused) => State::Running,
        (Control::Cancel, _) => State::Cancelled,
        // Pausing a paused broadcast or resuming a running one changes nothing.
        _ => return get(conn, id).await?.ok_or(OpError::not_found("broadcast")),
    };
    sqlx::query(
        "update broadcasts set state = $2, \
         finished_at = case when $2 = 'cancelled' then now() else finished_at end where id = $1",
    )
    .bind(id)
    .bind(after.as_str())
    .execute(&mut *conn)
    .await?;
    if after == State::Cancelled {
        sqlx::query("delete from broadcast_queue where broadcast_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    audit::record(
        conn,
        tenant,
        Entry {
            actor,
            action: control.action(),
            subject: &id.to_string(),
            before: json!({ "state": before }),
            after: json!({ "state": after }),
        },
    )
    .await?;
    get(conn, id).await?.ok_or(OpError::not_found("broadcast"))
}

/// How many customers a broadcast to `audience` would reach now.
pub async fn audience_size(conn: &mut PgConnection, audience: Audience) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from customers c where not c.blocked_bot and not c.blocked_by_store \
           and ($1 = 'all' or exists (select 1 from orders o where o.tenant_id = c.tenant_id \
                and o.customer_id = c.telegram_user_id and o.status in ('paid', 'delivered')))",
    )
    .bind(audience.as_str())
    .fetch_one(conn)
    .await
}

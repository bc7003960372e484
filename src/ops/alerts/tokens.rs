//! Bot tokens Telegram stopped accepting (SPEC §3.6, "bot token revoked").
//!
//! The store's own bot is the one channel its owner has, and it is the one that can no longer
//! speak. So a refusal is told to the operators at once, and to the owner and the admins as
//! soon as their bot can say it again: a notice is queued in the outbox when the refusal is
//! found, the outbox holds it while the store does not run, and it goes out once the store
//! runs with a token Telegram accepts ("refused since …; the new token is active").
//!
//! Each refusal is reported once however many watches look and however often the host
//! restarts: `token_rejections` holds a row per reported refusal. The watch whose insert
//! creates the row writes the notice in the same transaction and alerts the operators; the
//! watch whose delete removes it, once the bot has no error, announces the recovery.

use std::collections::HashSet;

use anyhow::Context;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    db::{Db, TenantId},
    host::{Host, telegram::REJECTED_TOKEN},
    store::outbox::{self, Message},
    tenants::repo,
};

/// A store whose token Telegram refused, and since when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub slug: String,
    pub since: OffsetDateTime,
}

/// The refusals not reported before, each now recorded with its staff's notice queued.
///
/// A store that still runs here is left for the next look: its runtime records the refusal
/// just before it stops, and a notice queued before the stop could meet the refused token.
pub async fn found(host: &Host) -> anyhow::Result<Vec<Refusal>> {
    let db = host.db();
    let candidates: Vec<(Uuid, String, Option<OffsetDateTime>)> = sqlx::query_as(
        "select t.id, t.slug, t.bot_error_since from tenants t \
         where t.status = 'active' and t.bot_error = $1 \
           and not exists (select 1 from token_rejections r where r.tenant_id = t.id)",
    )
    .bind(REJECTED_TOKEN)
    .fetch_all(db.registry())
    .await
    .context("reading the stores whose token is refused")?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let running: HashSet<TenantId> = host
        .running_stores()
        .iter()
        .map(|r| r.ctx.tenant_id())
        .collect();
    let mut found = Vec::new();
    for (id, slug, since) in candidates {
        let tenant = TenantId(id);
        if running.contains(&tenant) {
            continue;
        }
        let since = since.unwrap_or_else(OffsetDateTime::now_utc);
        if record(db, tenant, since)
            .await
            .with_context(|| format!("recording the refused token of {slug}"))?
        {
            found.push(Refusal { slug, since });
        }
    }
    Ok(found)
}

/// Records the refusal and queues the notice for each of the store's staff, in one
/// transaction; `false` when another watch recorded it first (nothing is written then).
async fn record(db: &Db, tenant: TenantId, since: OffsetDateTime) -> anyhow::Result<bool> {
    let Some(store) = repo::by_id(db.registry(), tenant).await? else {
        return Ok(false);
    };
    let mut tx = db.tenant(tenant).await?;
    let inserted = sqlx::query(
        "insert into token_rejections (tenant_id, since) values ($1, $2) \
         on conflict (tenant_id) do nothing",
    )
    .bind(tenant)
    .bind(since)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !inserted {
        return Ok(false);
    }
    let notice = Message::TokenRestored { since };
    for chat in store.staff() {
        outbox::enqueue(&mut tx, tenant, chat, &notice, 0).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The reported refusals whose store's bot has no error any more (a new token was checked and
/// accepted), each returned once.
pub async fn ended(db: &Db) -> anyhow::Result<Vec<Refusal>> {
    let ended: Vec<(String, OffsetDateTime)> = sqlx::query_as(
        "delete from token_rejections r using tenants t \
         where t.id = r.tenant_id and t.bot_error is null \
         returning t.slug, r.since",
    )
    .fetch_all(db.registry())
    .await
    .context("reading the refused tokens that were replaced")?;
    Ok(ended
        .into_iter()
        .map(|(slug, since)| Refusal { slug, since })
        .collect())
}

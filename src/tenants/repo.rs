//! The tenant registry in the database: the one named cross-tenant path.
//!
//! These queries read and write `tenants` and `tenant_secrets`, which have no row-level
//! security because the host must see every store to start its bots and route webhooks.
//! Nothing else in the code queries those tables.

use std::collections::HashMap;

use sqlx::{PgExecutor, types::Json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::model::{Branding, Locale, Profile, Settings, Tenant, TenantSecrets, TenantStatus};
use crate::{crypto::Sealer, db::TenantId};

const COLUMNS: &str = "id, slug, display_name, status, bot_id, bot_username, bot_error, webhook_url, \
     branding, settings, locale, timezone, owner_telegram_id, admin_telegram_ids, created_at, updated_at, \
     bot_error_since";

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: Uuid,
    slug: String,
    display_name: String,
    status: String,
    bot_id: Option<i64>,
    bot_username: Option<String>,
    bot_error: Option<String>,
    bot_error_since: Option<OffsetDateTime>,
    webhook_url: Option<String>,
    branding: Json<Branding>,
    settings: Json<Settings>,
    locale: String,
    timezone: String,
    owner_telegram_id: i64,
    admin_telegram_ids: Vec<i64>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<TenantRow> for Tenant {
    fn from(row: TenantRow) -> Self {
        Tenant {
            id: TenantId(row.id),
            slug: row.slug,
            display_name: row.display_name,
            // The table's check constraints admit only the values these parsers know.
            status: TenantStatus::parse(&row.status).unwrap_or(TenantStatus::Suspended),
            bot_id: row.bot_id,
            bot_username: row.bot_username,
            bot_error: row.bot_error,
            bot_error_since: row.bot_error_since,
            webhook_url: row.webhook_url,
            branding: row.branding.0,
            settings: row.settings.0,
            locale: Locale::parse(&row.locale).unwrap_or_default(),
            timezone: row.timezone,
            owner_telegram_id: row.owner_telegram_id,
            admin_telegram_ids: row.admin_telegram_ids,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Secrets as stored: sealed bytes.
#[derive(sqlx::FromRow)]
pub struct SealedSecrets {
    bot_token: Vec<u8>,
    pakasir_project: Vec<u8>,
    pakasir_api_key: Vec<u8>,
    webhook_secret: Vec<u8>,
}

impl SealedSecrets {
    /// Seals a store's secrets, each bound to its store and field ([`open_secrets`] opens them).
    fn seal(sealer: &Sealer, id: TenantId, secrets: &TenantSecrets) -> Self {
        Self {
            bot_token: sealer.seal_str(&secrets.bot_token, &context(id, "bot_token")),
            pakasir_project: sealer
                .seal_str(&secrets.pakasir_project, &context(id, "pakasir_project")),
            pakasir_api_key: sealer
                .seal_str(&secrets.pakasir_api_key, &context(id, "pakasir_api_key")),
            webhook_secret: sealer
                .seal_str(&secrets.webhook_secret, &context(id, "webhook_secret")),
        }
    }
}

/// The associated data a secret is sealed with: it binds the value to its store and field.
fn context(tenant: TenantId, field: &str) -> String {
    format!("tenant_secrets/{field}/{tenant}")
}

pub async fn by_slug(db: impl PgExecutor<'_>, slug: &str) -> sqlx::Result<Option<Tenant>> {
    // A slug that no store can have (a NUL, a space, 300 characters from a path) is no store,
    // and is never sent to the database.
    let mut errors = super::model::FieldErrors::default();
    super::model::validate_slug(slug, &mut errors);
    if !errors.is_empty() {
        return Ok(None);
    }
    let sql = format!("select {COLUMNS} from tenants where slug = $1");
    Ok(sqlx::query_as::<_, TenantRow>(&sql)
        .bind(slug)
        .fetch_optional(db)
        .await?
        .map(Tenant::from))
}

pub async fn by_id(db: impl PgExecutor<'_>, id: TenantId) -> sqlx::Result<Option<Tenant>> {
    select_by_id(db, id, "").await
}

/// The store's row, locked until the end of the transaction, so that a change computed from
/// the current profile (adding one admin to the list) cannot lose a concurrent one.
pub async fn lock(conn: &mut sqlx::PgConnection, id: TenantId) -> sqlx::Result<Option<Tenant>> {
    select_by_id(conn, id, " for update").await
}

/// The store `id`, read with `suffix` (a row lock) after the statement.
async fn select_by_id(
    db: impl PgExecutor<'_>,
    id: TenantId,
    suffix: &str,
) -> sqlx::Result<Option<Tenant>> {
    let sql = format!("select {COLUMNS} from tenants where id = $1{suffix}");
    Ok(sqlx::query_as::<_, TenantRow>(&sql)
        .bind(id.0)
        .fetch_optional(db)
        .await?
        .map(Tenant::from))
}

/// Stores that are not deleted, in slug order after `after`, for paginated listings.
pub async fn list(
    db: impl PgExecutor<'_>,
    after: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Tenant>> {
    let sql = format!(
        "select {COLUMNS} from tenants where status <> 'deleted' and ($1::text is null or slug > $1) \
         order by slug limit $2"
    );
    let rows = sqlx::query_as::<_, TenantRow>(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(Tenant::from).collect())
}

/// Every store the host may have to act on at start: running ones, and stopped ones that may
/// still have a webhook registered with Telegram.
pub async fn all_for_host(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Tenant>> {
    let sql = format!(
        "select {COLUMNS} from tenants where status = 'active' or webhook_url is not null order by created_at"
    );
    let rows = sqlx::query_as::<_, TenantRow>(&sql).fetch_all(db).await?;
    Ok(rows.into_iter().map(Tenant::from).collect())
}

/// A new store's row and its sealed secrets; the caller runs both in one transaction.
pub async fn insert(
    conn: &mut sqlx::PgConnection,
    sealer: &Sealer,
    slug: &str,
    profile: &Profile,
    bot: (i64, &str),
    secrets: &TenantSecrets,
) -> sqlx::Result<Tenant> {
    let id = TenantId(Uuid::new_v4());
    let status = TenantStatus::Active;
    insert_as(conn, sealer, id, status, slug, profile, Some(bot), secrets).await
}

/// Like [`insert`], with the id and status chosen by the caller (a store being restored).
#[allow(clippy::too_many_arguments)]
pub async fn insert_as(
    conn: &mut sqlx::PgConnection,
    sealer: &Sealer,
    id: TenantId,
    status: TenantStatus,
    slug: &str,
    profile: &Profile,
    bot: Option<(i64, &str)>,
    secrets: &TenantSecrets,
) -> sqlx::Result<Tenant> {
    let sql = format!(
        "insert into tenants (id, slug, display_name, bot_id, bot_username, branding, settings, locale, \
         timezone, owner_telegram_id, admin_telegram_ids, status) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning {COLUMNS}"
    );
    let row = sqlx::query_as::<_, TenantRow>(&sql)
        .bind(id.0)
        .bind(slug)
        .bind(profile.display_name.trim())
        .bind(bot.map(|b| b.0))
        .bind(bot.map(|b| b.1))
        .bind(Json(&profile.branding))
        .bind(Json(&profile.settings))
        .bind(profile.locale.as_str())
        .bind(&profile.timezone)
        .bind(profile.owner_telegram_id)
        .bind(&profile.admin_telegram_ids)
        .bind(status.as_str())
        .fetch_one(&mut *conn)
        .await?;
    let sealed = SealedSecrets::seal(sealer, id, secrets);
    sqlx::query(
        "insert into tenant_secrets (tenant_id, bot_token, pakasir_project, pakasir_api_key, webhook_secret) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(id.0)
    .bind(sealed.bot_token)
    .bind(sealed.pakasir_project)
    .bind(sealed.pakasir_api_key)
    .bind(sealed.webhook_secret)
    .execute(&mut *conn)
    .await?;
    Ok(row.into())
}

/// Replaces the editable profile of a store.
pub async fn update_profile(
    db: impl PgExecutor<'_>,
    id: TenantId,
    profile: &Profile,
) -> sqlx::Result<Tenant> {
    let sql = format!(
        "update tenants set display_name = $2, branding = $3, settings = $4, locale = $5, timezone = $6, \
         owner_telegram_id = $7, admin_telegram_ids = $8, updated_at = now() where id = $1 returning {COLUMNS}"
    );
    sqlx::query_as::<_, TenantRow>(&sql)
        .bind(id.0)
        .bind(profile.display_name.trim())
        .bind(Json(&profile.branding))
        .bind(Json(&profile.settings))
        .bind(profile.locale.as_str())
        .bind(&profile.timezone)
        .bind(profile.owner_telegram_id)
        .bind(&profile.admin_telegram_ids)
        .fetch_one(db)
        .await
        .map(Tenant::from)
}

/// Replaces a store's settings alone, so a concurrent change of its profile is not undone.
pub async fn update_settings(
    db: impl PgExecutor<'_>,
    id: TenantId,
    settings: &Settings,
) -> sqlx::Result<Tenant> {
    let sql = format!(
        "update tenants set settings = $2, updated_at = now() where id = $1 returning {COLUMNS}"
    );
    sqlx::query_as::<_, TenantRow>(&sql)
        .bind(id.0)
        .bind(Json(settings))
        .fetch_one(db)
        .await
        .map(Tenant::from)
}

pub async fn set_status(
    db: impl PgExecutor<'_>,
    id: TenantId,
    status: TenantStatus,
) -> sqlx::Result<Tenant> {
    let sql = format!(
        "update tenants set status = $2, updated_at = now(), \
         deleted_at = case when $2 = 'deleted' then now() else null end where id = $1 returning {COLUMNS}"
    );
    sqlx::query_as::<_, TenantRow>(&sql)
        .bind(id.0)
        .bind(status.as_str())
        .fetch_one(db)
        .await
        .map(Tenant::from)
}

/// Erases a store and, through the foreign keys' cascades, every row it owns.
pub async fn purge(db: impl PgExecutor<'_>, id: TenantId) -> sqlx::Result<()> {
    sqlx::query("delete from tenants where id = $1")
        .bind(id.0)
        .execute(db)
        .await?;
    Ok(())
}

/// Records what getMe said of the store's bot, or why the bot could not start.
pub async fn record_bot(
    db: impl PgExecutor<'_>,
    id: TenantId,
    bot: Option<(i64, &str)>,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update tenants set bot_id = coalesce($2, bot_id), bot_username = coalesce($3, bot_username), \
         bot_error = $4 where id = $1",
    )
    .bind(id.0)
    .bind(bot.map(|b| b.0))
    .bind(bot.map(|b| b.1))
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// Records the webhook URL registered with Telegram (`None` after deleteWebhook).
pub async fn record_webhook(
    db: impl PgExecutor<'_>,
    id: TenantId,
    url: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query("update tenants set webhook_url = $2 where id = $1")
        .bind(id.0)
        .bind(url)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn secrets(
    db: impl PgExecutor<'_>,
    sealer: &Sealer,
    id: TenantId,
) -> anyhow::Result<TenantSecrets> {
    let sealed: SealedSecrets = sqlx::query_as(
        "select bot_token, pakasir_project, pakasir_api_key, webhook_secret from tenant_secrets where tenant_id = $1",
    )
    .bind(id.0)
    .fetch_one(db)
    .await?;
    open_secrets(sealer, id, &sealed)
}

/// The secrets of many stores in one query, still sealed, so that a host starting thousands of
/// stores reads them once rather than once per store; each is opened when its store starts.
pub async fn sealed_secrets(
    db: impl PgExecutor<'_>,
    ids: &[TenantId],
) -> sqlx::Result<HashMap<TenantId, SealedSecrets>> {
    let uuids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
    /// One store's sealed secrets, as `sealed_secrets` reads them.
    #[derive(sqlx::FromRow)]
    struct Row {
        tenant_id: Uuid,
        #[sqlx(flatten)]
        sealed: SealedSecrets,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "select tenant_id, bot_token, pakasir_project, pakasir_api_key, webhook_secret \
         from tenant_secrets where tenant_id = any($1)",
    )
    .bind(&uuids)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (TenantId(row.tenant_id), row.sealed))
        .collect())
}

/// Opens a store's sealed secrets.
pub fn open_secrets(
    sealer: &Sealer,
    id: TenantId,
    sealed: &SealedSecrets,
) -> anyhow::Result<TenantSecrets> {
    Ok(TenantSecrets {
        bot_token: sealer.open_str(&sealed.bot_token, &context(id, "bot_token"))?,
        pakasir_project: sealer
            .open_str(&sealed.pakasir_project, &context(id, "pakasir_project"))?,
        pakasir_api_key: sealer
            .open_str(&sealed.pakasir_api_key, &context(id, "pakasir_api_key"))?,
        webhook_secret: sealer.open_str(&sealed.webhook_secret, &context(id, "webhook_secret"))?,
    })
}

/// Replaces all four secrets (callers pass the unchanged ones through) and bumps `updated_at`
/// so running hosts restart the store's bot.
pub async fn replace_secrets(
    conn: &mut sqlx::PgConnection,
    sealer: &Sealer,
    id: TenantId,
    secrets: &TenantSecrets,
    bot: (i64, &str),
) -> sqlx::Result<Tenant> {
    let sealed = SealedSecrets::seal(sealer, id, secrets);
    sqlx::query(
        "update tenant_secrets set bot_token = $2, pakasir_project = $3, pakasir_api_key = $4, \
         webhook_secret = $5, updated_at = now() where tenant_id = $1",
    )
    .bind(id.0)
    .bind(sealed.bot_token)
    .bind(sealed.pakasir_project)
    .bind(sealed.pakasir_api_key)
    .bind(sealed.webhook_secret)
    .execute(&mut *conn)
    .await?;
    let sql = format!(
        "update tenants set bot_id = $2, bot_username = $3, bot_error = null, updated_at = now() \
         where id = $1 returning {COLUMNS}"
    );
    sqlx::query_as::<_, TenantRow>(&sql)
        .bind(id.0)
        .bind(bot.0)
        .bind(bot.1)
        .fetch_one(&mut *conn)
        .await
        .map(Tenant::from)
}

/// Tells every host process that a store changed; hosts LISTEN on this channel.
/// How many stores should run (active), for the metrics that compare it with what runs.
pub async fn count_active(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from tenants where status = 'active'")
        .fetch_one(db)
        .await
}

pub async fn notify_changed(db: impl PgExecutor<'_>, slug: &str) -> sqlx::Result<()> {
    sqlx::query("select pg_notify($1, $2)")
        .bind(CHANGED_CHANNEL)
        .bind(slug)
        .execute(db)
        .await?;
    Ok(())
}

/// The LISTEN/NOTIFY channel that carries the slug of a changed store.
pub const CHANGED_CHANNEL: &str = "tokobot_tenant_changed";

/// Every store's id, deleted ones included (their rows are kept and may hold sealed values).
pub async fn all_ids(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<TenantId>> {
    let ids: Vec<Uuid> = sqlx::query_scalar("select id from tenants order by created_at, id")
        .fetch_all(db)
        .await?;
    Ok(ids.into_iter().map(TenantId).collect())
}

/// The sealed columns of `tenant_secrets`, in the order the rotation reads them.
const SECRET_FIELDS: [&str; 4] = [
    "bot_token",
    "pakasir_project",
    "pakasir_api_key",
    "webhook_secret",
];

/// The filter of secrets rows that hold a value sealed with another key than `$1`.
const SEALED_WITH_OLDER_KEY: &str = "(substring(bot_token from 2 for 4) <> $1 \
     or substring(pakasir_project from 2 for 4) <> $1 \
     or substring(pakasir_api_key from 2 for 4) <> $1 \
     or substring(webhook_secret from 2 for 4) <> $1)";

/// Re-seals, under the sealing key, the secrets of up to `limit` stores that still hold a
/// value sealed with an older key; returns how many values it re-sealed. Each row is written
/// only if it still holds exactly what was read, so a concurrent `PUT .../secrets` is never
/// overwritten with stale values: its row is simply left for the next pass. `updated_at` is
/// left alone: the values did not change, so no bot restarts.
pub async fn reseal_secrets(
    conn: &mut sqlx::PgConnection,
    sealer: &Sealer,
    limit: i64,
) -> anyhow::Result<u64> {
    let current = sealer.current_key_id();
    type Sealed = (Uuid, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);
    let rows: Vec<Sealed> = sqlx::query_as(&format!(
        "select tenant_id, bot_token, pakasir_project, pakasir_api_key, webhook_secret \
         from tenant_secrets where {SEALED_WITH_OLDER_KEY} \
         order by tenant_id limit $2"
    ))
    .bind(&current[..])
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut resealed = 0;
    for (id, bot_token, project, api_key, webhook_secret) in rows {
        let id = TenantId(id);
        let old = [bot_token, project, api_key, webhook_secret];
        let mut new = old.clone();
        let mut changed = 0;
        for (field, sealed) in SECRET_FIELDS.iter().zip(&mut new) {
            if sealer.needs_reseal(sealed) {
                let plain = sealer.open(sealed, &context(id, field))?;
                *sealed = sealer.seal(plain.expose(), &context(id, field));
                changed += 1;
            }
        }
        let [bot_token, project, api_key, webhook_secret] = new;
        let written = sqlx::query(
            "update tenant_secrets set bot_token = $2, pakasir_project = $3, \
             pakasir_api_key = $4, webhook_secret = $5 \
             where tenant_id = $1 and bot_token = $6 and pakasir_project = $7 \
             and pakasir_api_key = $8 and webhook_secret = $9",
        )
        .bind(id.0)
        .bind(bot_token)
        .bind(project)
        .bind(api_key)
        .bind(webhook_secret)
        .bind(&old[0])
        .bind(&old[1])
        .bind(&old[2])
        .bind(&old[3])
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if written == 1 {
            resealed += changed;
        }
    }
    Ok(resealed)
}

/// How many secret values are still sealed with another key than the sealing one.
pub async fn secrets_with_older_key(db: impl PgExecutor<'_>, sealer: &Sealer) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select coalesce(sum((substring(bot_token from 2 for 4) <> $1)::int \
             + (substring(pakasir_project from 2 for 4) <> $1)::int \
             + (substring(pakasir_api_key from 2 for 4) <> $1)::int \
             + (substring(webhook_secret from 2 for 4) <> $1)::int), 0)::bigint from tenant_secrets",
    )
    .bind(&sealer.current_key_id()[..])
    .fetch_one(db)
    .await
}

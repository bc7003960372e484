//! Provisioning: creating and changing stores, shared by the API and `tokobot tenants apply`.
//!
//! Each operation validates everything first, checks a new bot token with Telegram, writes the
//! registry in one transaction and notifies running hosts (PostgreSQL NOTIFY is delivered on
//! commit). Making the bots match is the host's job (`Host::sync`), not this module's.

use rand::{Rng, distr::Alphanumeric};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use utoipa::ToSchema;

use super::{
    model::{
        Branding, FieldErrors, Locale, Profile, Settings, SettingsPatch, Tenant, TenantSecrets,
        TenantStatus, validate_bot_token, validate_pakasir, validate_slug,
    },
    repo,
};
use crate::{
    crypto::Sealer,
    db::{Db, TenantId},
    host::telegram::{BotFactory, TokenCheckError},
    secret::Secret,
    store::audit::{self, Actor, Entry},
};

/// Pakasir credentials of a store.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PakasirKeys {
    /// The project slug from the Pakasir dashboard.
    #[schema(value_type = String)]
    pub project: Secret,
    #[schema(value_type = String)]
    pub api_key: Secret,
}

/// The body of `POST /api/v1/tenants`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    #[schema(pattern = "^[a-z0-9-]{3,32}$", min_length = 3, max_length = 32)]
    pub slug: String,
    #[schema(min_length = 1, max_length = 64)]
    pub display_name: String,
    /// The store's BotFather token; checked with getMe, stored sealed, never returned.
    #[schema(value_type = String)]
    pub bot_token: Secret,
    pub pakasir: PakasirKeys,
    #[schema(minimum = 1)]
    pub owner_telegram_id: i64,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub admin_telegram_ids: Vec<i64>,
    #[serde(default)]
    pub branding: Branding,
    #[serde(default)]
    pub locale: Locale,
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default)]
    pub settings: Settings,
}

fn default_timezone() -> String {
    "Asia/Jakarta".to_owned()
}

/// The body of `PATCH /api/v1/tenants/{slug}`: present fields change, absent ones stay.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    pub display_name: Option<String>,
    /// Merged into the current branding; an empty string clears a field.
    pub branding: Option<Branding>,
    pub settings: Option<SettingsPatch>,
    pub locale: Option<Locale>,
    pub timezone: Option<String>,
    /// Operators only.
    pub owner_telegram_id: Option<i64>,
    pub admin_telegram_ids: Option<Vec<i64>>,
}

/// The body of `PUT /api/v1/tenants/{slug}/secrets`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretsUpdate {
    #[schema(value_type = Option<String>)]
    pub bot_token: Option<Secret>,
    pub pakasir: Option<PakasirKeys>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("the request has invalid fields")]
    Invalid(FieldErrors),
    #[error("Telegram rejected the bot token")]
    TokenRejected,
    #[error("Telegram could not be reached to check the bot token")]
    TelegramUnavailable,
    #[error("{0}")]
    Conflict(String),
    #[error("no store with this slug")]
    NotFound,
    #[error("only an operator may {0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ProvisionError {
    fn from(error: sqlx::Error) -> Self {
        ProvisionError::Internal(error.into())
    }
}

impl From<FieldErrors> for ProvisionError {
    fn from(errors: FieldErrors) -> Self {
        ProvisionError::Invalid(errors)
    }
}

/// Creates and changes stores.
#[derive(Clone)]
pub struct Provisioner {
    db: Db,
    sealer: Sealer,
    bots: BotFactory,
}

impl Provisioner {
    pub fn new(db: Db, sealer: Sealer, bots: BotFactory) -> Self {
        Self { db, sealer, bots }
    }

    pub async fn create(&self, new: NewTenant) -> Result<Tenant, ProvisionError> {
        let mut errors = FieldErrors::default();
        validate_slug(&new.slug, &mut errors);
        validate_bot_token(new.bot_token.expose(), &mut errors);
        validate_pakasir(
            new.pakasir.project.expose(),
            new.pakasir.api_key.expose(),
            &mut errors,
        );
        let profile = Profile {
            display_name: new.display_name,
            branding: new.branding,
            settings: new.settings,
            locale: new.locale,
            timezone: new.timezone,
            owner_telegram_id: new.owner_telegram_id,
            admin_telegram_ids: new.admin_telegram_ids,
        };
        profile.validate(&mut errors);
        errors.into_result()?;
        if repo::by_slug(self.db.registry(), &new.slug)
            .await?
            .is_some()
        {
            return Err(ProvisionError::Conflict(format!(
                "the slug `{}` is already taken",
                new.slug
            )));
        }
        let bot = self.check_token(&new.bot_token).await?;
        let secrets = TenantSecrets {
            bot_token: new.bot_token,
            pakasir_project: new.pakasir.project,
            pakasir_api_key: new.pakasir.api_key,
            webhook_secret: new_webhook_secret(),
        };
        let mut tx = self.db.registry().begin().await?;
        let tenant = repo::insert(
            &mut tx,
            &self.sealer,
            &new.slug,
            &profile,
            (bot.0, &bot.1),
            &secrets,
        )
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                ProvisionError::Conflict(format!("the slug `{}` is already taken", new.slug))
            }
            other => other.into(),
        })?;
        repo::notify_changed(&mut *tx, &tenant.slug).await?;
        tx.commit().await?;
        tracing::info!(store = %tenant.slug, "store created");
        Ok(tenant)
    }

    /// Applies a patch by `actor`; `operator` says whether the caller may change the owner.
    pub async fn update(
        &self,
        slug: &str,
        patch: TenantPatch,
        operator: bool,
        actor: &Actor,
    ) -> Result<Tenant, ProvisionError> {
        change_profile(&self.db, slug, actor, |_| Ok(patch), operator).await
    }

    /// Suspends or resumes a store.
    pub async fn set_status(
        &self,
        slug: &str,
        status: TenantStatus,
    ) -> Result<Tenant, ProvisionError> {
        let tenant = self.existing(slug).await?;
        if tenant.status == status {
            return Ok(tenant);
        }
        let mut tx = self.db.registry().begin().await?;
        let updated = repo::set_status(&mut *tx, tenant.id, status).await?;
        repo::notify_changed(&mut *tx, slug).await?;
        tx.commit().await?;
        tracing::info!(store = %slug, status = status.as_str(), "store status changed");
        Ok(updated)
    }

    /// Soft-deletes a store, or erases it and all its rows with `purge`.
    pub async fn delete(&self, slug: &str, purge: bool) -> Result<Tenant, ProvisionError> {
        let tenant = repo::by_slug(self.db.registry(), slug)
            .await?
            .ok_or(ProvisionError::NotFound)?;
        if tenant.status == TenantStatus::Deleted && !purge {
            return Err(ProvisionError::NotFound);
        }
        let mut tx = self.db.registry().begin().await?;
        if purge {
            repo::purge(&mut *tx, tenant.id).await?;
        } else {
            repo::set_status(&mut *tx, tenant.id, TenantStatus::Deleted).await?;
        }
        repo::notify_changed(&mut *tx, slug).await?;
        tx.commit().await?;
        tracing::info!(store = %slug, purge, "store deleted");
        Ok(tenant)
    }

    /// Replaces the bot token and/or the Pakasir keys. A new bot token also gets a new webhook
    /// secret, so deliveries signed for the old registration stop being accepted.
    pub async fn rotate_secrets(
        &self,
        slug: &str,
        update: SecretsUpdate,
        actor: &Actor,
    ) -> Result<Tenant, ProvisionError> {
        let tenant = self.existing(slug).await?;
        let mut errors = FieldErrors::default();
        if update.bot_token.is_none() && update.pakasir.is_none() {
            errors.push(
                "bot_token",
                "give a new bot_token, new pakasir keys, or both",
            );
        }
        if let Some(token) = &update.bot_token {
            validate_bot_token(token.expose(), &mut errors);
        }
        if let Some(keys) = &update.pakasir {
            validate_pakasir(keys.project.expose(), keys.api_key.expose(), &mut errors);
        }
        errors.into_result()?;
        let mut secrets = repo::secrets(self.db.registry(), &self.sealer, tenant.id).await?;
        let mut bot = (
            tenant.bot_id.unwrap_or_default(),
            tenant.bot_username.clone().unwrap_or_default(),
        );
        let new_bot = update.bot_token.is_some();
        if let Some(token) = update.bot_token {
            bot = self.check_token(&token).await?;
            secrets.bot_token = token;
            secrets.webhook_secret = new_webhook_secret();
        }
        let new_keys = update.pakasir.is_some();
        if let Some(keys) = update.pakasir {
            secrets.pakasir_project = keys.project;
            secrets.pakasir_api_key = keys.api_key;
        }
        let rotated = json!({
            "bot_token": new_bot,
            "pakasir": new_keys,
        });
        // A tenant-scoped transaction, so the audit row lands in the store's own log with the
        // change; the registry tables themselves have no row-level security.
        let mut tx = self.db.tenant(tenant.id).await?;
        if new_bot {
            // The new bot has no webhook yet: make the host register one.
            repo::record_webhook(&mut *tx, tenant.id, None).await?;
        }
        let updated =
            repo::replace_secrets(&mut tx, &self.sealer, tenant.id, &secrets, (bot.0, &bot.1))
                .await?;
        // Which secrets changed and the bot they now belong to; never a secret's value.
        let entry = Entry {
            actor,
            action: "store.rotate_secrets",
            subject: slug,
            before: json!({ "bot_username": tenant.bot_username }),
            after: json!({ "bot_username": updated.bot_username, "rotated": rotated }),
        };
        audit::record(&mut tx, tenant.id, entry).await?;
        repo::notify_changed(&mut *tx, slug).await?;
        tx.commit().await?;
        tracing::info!(store = %slug, "store secrets rotated");
        Ok(updated)
    }

    /// A store that is not deleted.
    pub async fn existing(&self, slug: &str) -> Result<Tenant, ProvisionError> {
        match repo::by_slug(self.db.registry(), slug).await? {
            Some(tenant) if tenant.status != TenantStatus::Deleted => Ok(tenant),
            _ => Err(ProvisionError::NotFound),
        }
    }

    async fn check_token(&self, token: &Secret) -> Result<(i64, String), ProvisionError> {
        match self.bots.check(token).await {
            Ok((_, me)) => Ok((me.id.0 as i64, me.username().to_owned())),
            Err(TokenCheckError::Rejected) => Err(ProvisionError::TokenRejected),
            Err(TokenCheckError::Unavailable(error)) => {
                tracing::warn!(%error, "getMe failed while checking a bot token");
                Err(ProvisionError::TelegramUnavailable)
            }
        }
    }
}

/// Replaces a store's settings inside the caller's transaction, so that a catalog import
/// restores them with the rest of the store's configuration, all or nothing. Returns the
/// settings before. Running hosts hear of the change when the transaction commits (NOTIFY);
/// the caller that committed may `Host::sync` the store to apply it at once.
pub async fn replace_settings(
    conn: &mut PgConnection,
    tenant: TenantId,
    settings: &Settings,
) -> Result<Settings, ProvisionError> {
    let mut errors = FieldErrors::default();
    settings.validate(&mut errors);
    errors.into_result()?;
    // Locked, so a concurrent change of the profile commits before or after this, never between.
    let before = repo::lock(&mut *conn, tenant)
        .await?
        .ok_or(ProvisionError::NotFound)?;
    if before.settings != *settings {
        let updated = repo::update_settings(&mut *conn, tenant, settings).await?;
        repo::notify_changed(&mut *conn, &updated.slug).await?;
    }
    Ok(before.settings)
}

/// Changes a store's profile by `actor`: `change` computes the patch from the store as it is
/// now, read under the row's lock, so a change built on the current value (one more admin)
/// never loses a concurrent one, and a role checked inside `change` holds when the change is
/// made. The audit row (the changed fields, before and after) is written in the store's log
/// in the same transaction; running hosts learn of the change through NOTIFY on commit.
pub async fn change_profile<E: From<ProvisionError>>(
    db: &Db,
    slug: &str,
    actor: &Actor,
    change: impl FnOnce(&Tenant) -> Result<TenantPatch, E>,
    operator: bool,
) -> Result<Tenant, E> {
    let fault = |error: sqlx::Error| E::from(ProvisionError::from(error));
    let id = match repo::by_slug(db.registry(), slug).await.map_err(fault)? {
        Some(tenant) if tenant.status != TenantStatus::Deleted => tenant.id,
        _ => return Err(ProvisionError::NotFound.into()),
    };
    let mut tx = db.tenant(id).await.map_err(fault)?;
    let tenant = match repo::lock(&mut tx, id).await.map_err(fault)? {
        Some(tenant) if tenant.status != TenantStatus::Deleted => tenant,
        _ => return Err(ProvisionError::NotFound.into()),
    };
    let patch = change(&tenant)?;
    if patch.owner_telegram_id.is_some() && !operator {
        return Err(ProvisionError::Forbidden("change a store's owner").into());
    }
    let before = Profile::of(&tenant);
    let mut profile = before.clone();
    apply(&mut profile, patch);
    let mut errors = FieldErrors::default();
    profile.validate(&mut errors);
    errors.into_result().map_err(ProvisionError::from)?;
    let (was, now) = profile_diff(&before, &profile);
    if was.is_empty() {
        // Nothing changes: no write, no audit row, no restart of anything.
        return Ok(tenant);
    }
    let updated = repo::update_profile(&mut *tx, id, &profile)
        .await
        .map_err(fault)?;
    let entry = Entry {
        actor,
        action: "store.update",
        subject: slug,
        before: Value::Object(was),
        after: Value::Object(now),
    };
    audit::record(&mut tx, id, entry).await.map_err(fault)?;
    repo::notify_changed(&mut *tx, slug).await.map_err(fault)?;
    tx.commit().await.map_err(fault)?;
    Ok(updated)
}

fn apply(profile: &mut Profile, patch: TenantPatch) {
    if let Some(name) = patch.display_name {
        profile.display_name = name;
    }
    if let Some(branding) = patch.branding {
        profile.branding.merge(branding);
    }
    if let Some(settings) = patch.settings {
        profile.settings.merge(settings);
    }
    if let Some(locale) = patch.locale {
        profile.locale = locale;
    }
    if let Some(timezone) = patch.timezone {
        profile.timezone = timezone;
    }
    if let Some(owner) = patch.owner_telegram_id {
        profile.owner_telegram_id = owner;
    }
    if let Some(admins) = patch.admin_telegram_ids {
        profile.admin_telegram_ids = admins;
    }
}

/// The fields of two profiles that differ, as JSON objects: (before, after).
fn profile_diff(before: &Profile, after: &Profile) -> (Map<String, Value>, Map<String, Value>) {
    let (Value::Object(old), Value::Object(new)) = (before.to_json(), after.to_json()) else {
        unreachable!("a profile serialises to an object");
    };
    let mut was = Map::new();
    let mut now = Map::new();
    for (key, value) in new {
        let previous = old.get(&key).cloned().unwrap_or(Value::Null);
        if previous != value {
            was.insert(key.clone(), previous);
            now.insert(key, value);
        }
    }
    (was, now)
}

/// A fresh `secret_token` for setWebhook: 48 characters of `A-Za-z0-9`.
pub(crate) fn new_webhook_secret() -> Secret {
    Secret::new(
        rand::rng()
            .sample_iter(&Alphanumeric)
            .take(48)
            .map(char::from)
            .collect(),
    )
}

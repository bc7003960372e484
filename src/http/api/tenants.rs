//! `/api/v1/tenants`: provisioning and managing stores.
//!
//! Every handler that changes a store ends with `Host::sync`, so the answer is sent only when
//! the store's bot already runs (or has stopped) as asked.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppState,
    auth::Principal,
    error::{ApiError, ApiJson, ApiQuery, ErrorBody},
    page,
};
use crate::tenants::{
    model::{Branding, Locale, Settings, Tenant, TenantStatus},
    service::{NewTenant, SecretsUpdate, TenantPatch},
};

/// A store as the API shows it. Secrets are never part of it.
#[derive(Serialize, ToSchema)]
pub struct TenantView {
    pub id: Uuid,
    pub slug: String,
    pub display_name: String,
    pub status: TenantStatus,
    /// The bot's @username, from getMe.
    pub bot_username: Option<String>,
    /// Why the bot does not run, when it does not (for example a revoked token).
    pub bot_error: Option<String>,
    /// Since when the bot has had `bot_error` (for a revoked token: since Telegram first
    /// refused it); null while the bot runs.
    #[serde(with = "time::serde::rfc3339::option")]
    pub bot_error_since: Option<OffsetDateTime>,
    pub branding: Branding,
    pub settings: Settings,
    pub locale: Locale,
    pub timezone: String,
    pub owner_telegram_id: i64,
    pub admin_telegram_ids: Vec<i64>,
    /// Where Telegram delivers this store's updates (webhook mode only).
    pub telegram_webhook_url: Option<String>,
    /// The URL to paste into the store's Pakasir dashboard.
    pub pakasir_webhook_url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl TenantView {
    fn new(state: &AppState, tenant: Tenant) -> Self {
        let config = state.host.config();
        let telegram_webhook_url = match config.update_mode {
            crate::config::UpdateMode::Webhook => config.telegram_webhook_url(&tenant.slug),
            crate::config::UpdateMode::Polling => None,
        };
        Self {
            id: tenant.id.0,
            telegram_webhook_url,
            pakasir_webhook_url: config.pakasir_webhook_url(&tenant.slug),
            slug: tenant.slug,
            display_name: tenant.display_name,
            status: tenant.status,
            bot_username: tenant.bot_username,
            bot_error: tenant.bot_error,
            bot_error_since: tenant.bot_error_since,
            branding: tenant.branding,
            settings: tenant.settings,
            locale: tenant.locale,
            timezone: tenant.timezone,
            owner_telegram_id: tenant.owner_telegram_id,
            admin_telegram_ids: tenant.admin_telegram_ids,
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TenantPage {
    pub items: Vec<TenantView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// How many stores per page, 1 to 100 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    /// Erase the store and all of its rows instead of the default soft delete.
    #[serde(default)]
    pub purge: bool,
}

/// Brings the store's bot in line with the registry; a failure here is retried by the host,
/// so the change itself (already committed) is still reported as done.
async fn sync(state: &AppState, slug: &str) {
    if let Err(error) = state.host.sync(slug).await {
        tracing::warn!(store = %slug, error = format!("{error:#}"), "store changed but its bot could not be synced yet");
    }
}

/// Reads the store after a sync, so the answer shows what getMe and setWebhook recorded.
async fn fresh(state: &AppState, slug: &str, fallback: Tenant) -> Tenant {
    match state.provisioner.existing(slug).await {
        Ok(tenant) => tenant,
        Err(_) => fallback,
    }
}

#[utoipa::path(post, path = "/api/v1/tenants", operation_id = "create_tenant", tag = "tenants", request_body = NewTenant,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The store was created and its bot started", body = TenantView),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 403, description = "Not an operator", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
        (status = 422, description = "Invalid fields or a bot token Telegram rejects", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<NewTenant>,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_operator()?;
    let tenant = state.provisioner.create(body).await?;
    sync(&state, &tenant.slug).await;
    let tenant = fresh(&state, &tenant.slug.clone(), tenant).await;
    Ok((StatusCode::CREATED, Json(TenantView::new(&state, tenant))))
}

#[utoipa::path(get, path = "/api/v1/tenants", operation_id = "list_tenants", tag = "tenants", params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of stores, in slug order", body = TenantPage),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<TenantPage>, ApiError> {
    let limit = page::limit_within(query.limit, 100)?;
    if !principal.is_operator() {
        // An owner's listing is their own store.
        let own = principal.0.tenant.as_deref().unwrap_or_default();
        let items = match state.provisioner.existing(own).await {
            Ok(tenant) if query.cursor.is_none() => vec![TenantView::new(&state, tenant)],
            _ => Vec::new(),
        };
        return Ok(Json(TenantPage {
            items,
            next_cursor: None,
        }));
    }
    let tenants = crate::tenants::repo::list(
        state.host.db().registry(),
        query.cursor.as_deref(),
        limit + 1,
    )
    .await?;
    let (tenants, next_cursor) = page::split(tenants, limit, |last| last.slug.clone());
    let items = tenants
        .into_iter()
        .map(|t| TenantView::new(&state, t))
        .collect();
    Ok(Json(TenantPage { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}", operation_id = "get_tenant", tag = "tenants",
    params(("slug" = String, Path, description = "The store's slug")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The store", body = TenantView),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    let tenant = principal.store(&state, &slug).await?;
    Ok(Json(TenantView::new(&state, tenant)))
}

#[utoipa::path(patch, path = "/api/v1/tenants/{slug}", operation_id = "update_tenant", tag = "tenants", request_body = TenantPatch,
    params(("slug" = String, Path, description = "The store's slug")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated store", body = TenantView),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiJson(patch): ApiJson<TenantPatch>,
) -> Result<Json<TenantView>, ApiError> {
    principal.store(&state, &slug).await?;
    let actor = principal.actor();
    let tenant = state
        .provisioner
        .update(&slug, patch, principal.is_operator(), &actor)
        .await?;
    sync(&state, &slug).await;
    Ok(Json(TenantView::new(&state, tenant)))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{slug}", operation_id = "delete_tenant", tag = "tenants", params(("slug" = String, Path), DeleteQuery),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The store was deleted and its bot stopped"),
        (status = 403, description = "Not an operator", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    principal.require_operator()?;
    let tenant = state.provisioner.delete(&slug, query.purge).await?;
    sync(&state, &slug).await;
    if query.purge {
        state.host.customers().forget_tenant(tenant.id);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/suspend", operation_id = "suspend_tenant", tag = "tenants", params(("slug" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The store is suspended: its bot stopped and its webhook deleted", body = TenantView),
        (status = 403, description = "Not an operator", body = ErrorBody),
    ))]
pub async fn suspend(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    set_status(state, principal, slug, TenantStatus::Suspended).await
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/resume", operation_id = "resume_tenant", tag = "tenants", params(("slug" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The store runs again", body = TenantView),
        (status = 403, description = "Not an operator", body = ErrorBody),
    ))]
pub async fn resume(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    set_status(state, principal, slug, TenantStatus::Active).await
}

async fn set_status(
    state: AppState,
    principal: Principal,
    slug: String,
    status: TenantStatus,
) -> Result<Json<TenantView>, ApiError> {
    principal.require_operator()?;
    let tenant = state.provisioner.set_status(&slug, status).await?;
    sync(&state, &slug).await;
    let tenant = fresh(&state, &slug, tenant).await;
    Ok(Json(TenantView::new(&state, tenant)))
}

#[utoipa::path(put, path = "/api/v1/tenants/{slug}/secrets", operation_id = "rotate_secrets", tag = "tenants", request_body = SecretsUpdate,
    params(("slug" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The secrets were replaced and the bot restarted with them", body = TenantView),
        (status = 422, description = "Invalid fields or a bot token Telegram rejects", body = ErrorBody),
    ))]
pub async fn rotate_secrets(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<SecretsUpdate>,
) -> Result<Json<TenantView>, ApiError> {
    principal.store(&state, &slug).await?;
    let actor = principal.actor();
    let tenant = state
        .provisioner
        .rotate_secrets(&slug, body, &actor)
        .await?;
    sync(&state, &slug).await;
    let tenant = fresh(&state, &slug, tenant).await;
    Ok(Json(TenantView::new(&state, tenant)))
}

//! `.../broadcasts`: queue a broadcast to a store's customers, follow it, cancel it (SPEC §2.1).
//!
//! The admin menu's broadcast screen calls the same `store::broadcast` functions, so both
//! write the same audit rows and show the same counts. A photo is checked with Telegram
//! before anything is queued (`bot::broadcast_photo`).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    AppState,
    auth::Principal,
    error::{ApiError, ApiJson, ErrorBody},
    scope::StoreScope,
};
use crate::{
    bot::broadcast_photo,
    host::Route,
    store::broadcast::{self, Audience, Broadcast, Control, Draft, claims},
};

/// A broadcast to queue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBroadcast {
    /// The message, sent as written; with a photo, its caption (at most 1024 characters,
    /// otherwise 4096).
    pub text: String,
    /// An http(s) URL of the photo or a Telegram file id. Before anything is queued, the
    /// store's bot sends it with its caption to the owner's chat as a preview: a photo
    /// Telegram cannot fetch or use is refused (422), and the file id Telegram gives it is
    /// what every recipient gets.
    pub photo: Option<String>,
    /// `all` (default): every customer who has not blocked the bot; `buyers`: those with a
    /// paid order.
    #[serde(default)]
    pub audience: Audience,
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/broadcasts", operation_id = "create_broadcast", tag = "broadcasts",
    params(("slug" = String, Path, description = "The store's slug")),
    request_body = NewBroadcast,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued; the store's sender works through it at the store's pace", body = Broadcast),
        (status = 409, description = "No active customer in this audience; or Telegram could not be asked about the photo (try again)", body = ErrorBody),
        (status = 422, description = "An empty or too long text, a bad photo reference, a photo Telegram cannot fetch or use", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<NewBroadcast>,
) -> Result<(StatusCode, Json<Broadcast>), ApiError> {
    let tenant = principal.store(&state, &slug).await?;
    let draft = Draft {
        text: body.text,
        photo: body.photo.filter(|p| !p.trim().is_empty()),
        audience: body.audience,
    };
    // Checked before a transaction is opened: bad input costs the database nothing.
    draft.validate()?;
    let photo_file_id = match state.host.route(&slug) {
        Route::Running(store) if store.ctx.tenant_id() == tenant.id => {
            broadcast_photo::check(&store.bot, tenant.owner_telegram_id, &draft).await?
        }
        _ => None,
    };
    let mut scope = StoreScope::with_tenant(&state, &principal, tenant).await?;
    // The recipients are everyone who has written to the store, including since the last flush.
    scope.settle_customers(&state).await?;
    let created =
        broadcast::create(&mut scope.tx, scope.tenant.id, &scope.actor, &draft, None).await?;
    if let Some(file_id) = &photo_file_id {
        claims::set_photo_file_id(&mut scope.tx, created.id, file_id).await?;
    }
    scope.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/broadcasts/{id}", operation_id = "get_broadcast", tag = "broadcasts",
    params(
        ("slug" = String, Path, description = "The store's slug"),
        ("id" = i64, Path, description = "The broadcast's id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The broadcast and its progress", body = Broadcast),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Json<Broadcast>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let found = broadcast::get(&mut scope.tx, id).await?;
    scope.commit().await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("no such broadcast".into()))
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/broadcasts/{id}/cancel", operation_id = "cancel_broadcast", tag = "broadcasts",
    params(
        ("slug" = String, Path, description = "The store's slug"),
        ("id" = i64, Path, description = "The broadcast's id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Cancelled; nobody left is sent to", body = Broadcast),
        (status = 409, description = "The broadcast is already done or cancelled", body = ErrorBody),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Json<Broadcast>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let cancelled = broadcast::control(
        &mut scope.tx,
        scope.tenant.id,
        &scope.actor,
        id,
        Control::Cancel,
    )
    .await?;
    scope.commit().await?;
    Ok(Json(cancelled))
}

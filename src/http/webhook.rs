//! `POST /webhooks/telegram/{slug}`: Telegram's deliveries, routed to the store's dispatcher.
//!
//! This is the host's hottest path, so it touches no database: the slug is looked up in the
//! host's table, the secret compared in constant time, the body parsed, and the update pushed
//! into the store's inbox. Telegram gets its 200 before the update is handled, and only when
//! the store and the host have a place for it (`host::admission`); otherwise a 503, and
//! Telegram delivers the update again later.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use subtle::ConstantTimeEq;
use teloxide::types::{Update, UpdateKind};

use super::{AppState, api::error::ApiError, input};
use crate::host::{Accepted, Route};

const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub async fn telegram(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let running = match state.host.route(&slug) {
        Route::Running(running) => running,
        Route::Unknown => {
            return ApiError::NotFound("no active store with this slug".into()).into_response();
        }
        Route::Unavailable => return unavailable("the store's bot is starting; retry"),
    };
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(given.ct_eq(running.webhook_secret.expose().as_bytes())) {
        metrics::counter!("tokobot_webhook_rejected_total", "store" => slug, "reason" => "secret")
            .increment(1);
        return ApiError::Unauthorized("wrong or missing secret token".into()).into_response();
    }
    // Handling an update needs the database; while it is away, let Telegram keep the update.
    if !state.host.db().is_healthy() {
        return unavailable("the database is not reachable; retry");
    }
    // Refused before the body is parsed: under overload, refusing must cost next to nothing.
    if !running.has_room() {
        return busy(slug);
    }
    // A NUL in a text would fail every query that stores it; it goes here, before parsing.
    let body = input::strip_nul(&body);
    let update = match serde_json::from_slice::<Update>(&body) {
        Ok(update) if !matches!(update.kind, UpdateKind::Error(_)) => update,
        Ok(_) | Err(_) => {
            tracing::warn!(store = %slug, bytes = body.len(), "webhook body is not a Telegram update");
            return ApiError::BadRequest {
                code: "invalid_update",
                message: "the body is not a Telegram update".into(),
            }
            .into_response();
        }
    };
    match running.accept(update) {
        Accepted::Queued | Accepted::Duplicate | Accepted::Throttled => {
            StatusCode::OK.into_response()
        }
        Accepted::Busy => busy(slug),
    }
}

/// The store or the host holds all it may: Telegram keeps the update and delivers it again.
fn busy(slug: String) -> Response {
    metrics::counter!("tokobot_webhook_rejected_total", "store" => slug, "reason" => "busy")
        .increment(1);
    unavailable("the store is busy; retry")
}

fn unavailable(message: &str) -> Response {
    ApiError::Unavailable(message.to_owned()).into_response()
}

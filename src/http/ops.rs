//! Operations endpoints: `/metrics`, `/healthz`, `/readyz`.

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use subtle::ConstantTimeEq;

use super::{
    AppState,
    api::{auth::bearer, error::ApiError},
};

/// Prometheus text. With `TOKOBOT_METRICS_TOKEN` set it needs that bearer token: the series
/// name every store, which is nobody's business but the operators'.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.host.config().access.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes())) {
            return ApiError::Unauthorized("/metrics needs the metrics bearer token".into())
                .into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// The router of the private metrics address (`TOKOBOT_METRICS_BIND`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers and every store has had its first start.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.host.db().is_healthy();
    let stores = state.host.is_started();
    let status = if database && stores {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({ "database": database, "stores_started": stores })),
    )
}

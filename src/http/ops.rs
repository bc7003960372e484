//! Operations endpoints: `/metrics`, `/healthz`, `/readyz`.

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use subtle::ConstantTimeEq;

use crate::tenants::repo;

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
    record_health(&state).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// The host's state as gauges, taken when Prometheus asks: whether the database answers, how
/// many stores should run and how many do (a difference is a store that cannot start).
async fn record_health(state: &AppState) {
    let host = &state.host;
    let healthy = host.db().is_healthy();
    metrics::gauge!("tokobot_database_up").set(if healthy { 1.0 } else { 0.0 });
    metrics::gauge!("tokobot_stores_running").set(host.running_stores().len() as f64);
    if healthy && let Ok(active) = repo::count_active(host.db().registry()).await {
        metrics::gauge!("tokobot_stores_active").set(active as f64);
    }
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

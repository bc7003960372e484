//! Operations endpoints: `/metrics`, `/healthz`, `/readyz`.

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};

use super::AppState;

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
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

//! The HTTP server: one axum router for webhooks, the API and operations.
//!
//! - `ingress.rs`: the server's own thread; what runs there and what goes to the host's runtime.
//! - `webhook.rs`: Telegram webhook deliveries, routed by store slug.
//! - `pakasir.rs`: Pakasir payment webhooks, verified before anything is settled.
//! - `verify_limit.rs`: how often a webhook may have one payment checked at Pakasir.
//! - `api/`: the provisioning API, its auth, its error shape and its OpenAPI document.
//! - `ops.rs`: metrics, liveness and readiness.
//! - `input.rs`: what every body and query goes through (NUL characters, integral numbers).

pub mod api;
pub mod ingress;
pub mod input;
pub mod ops;
mod pakasir;
pub mod verify_limit;
mod webhook;

use std::sync::Arc;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::runtime::Handle;

use crate::{host::Host, tenants::service::Provisioner};
use api::{auth::JwtKeys, error::ApiError};

/// Bodies above this are refused; a Telegram update or a store's settings are far smaller.
/// (Catalog documents, which can be larger, get their own limit on their route.)
const BODY_LIMIT: usize = 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub host: Host,
    pub provisioner: Provisioner,
    pub jwt: JwtKeys,
    pub metrics: PrometheusHandle,
    /// Payments a Pakasir webhook had checked recently: one check per payment per window.
    pub verify_limit: Arc<verify_limit::VerifyLimit>,
}

/// The public router. Telegram's deliveries are answered where the request is read (the
/// ingress thread, `ingress.rs`); every other route runs on `host_runtime`.
pub fn router(state: AppState, host_runtime: Handle) -> Router {
    let mut elsewhere = Router::new().route("/webhooks/pakasir/{slug}", post(pakasir::webhook));
    // With a private metrics address, the public one has no metrics at all.
    if state.host.config().access.metrics_bind.is_none() {
        elsewhere = elsewhere.route("/metrics", get(ops::metrics));
    }
    let elsewhere = elsewhere
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .merge(api::router())
        .layer(axum::middleware::from_fn_with_state(
            host_runtime,
            ingress::on_host_runtime,
        ));
    Router::new()
        .route("/webhooks/telegram/{slug}", post(webhook::telegram))
        .merge(elsewhere)
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response(api::error::json_errors))
        .with_state(state)
}

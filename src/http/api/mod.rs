//! The JSON API (SPEC §2) and its OpenAPI document, generated from the handlers' annotations.

pub mod auth;
pub mod catalog;
pub mod cursor;
pub mod customers;
pub mod error;
pub mod orders;
mod scope;
pub mod stats;
pub mod tenants;

use axum::{
    Json, Router,
    extract::DefaultBodyLimit,
    routing::{get, post, put},
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

pub use super::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "tokobot", description = "Provisioning and management API of the tokobot store-bot host."),
    paths(
        tenants::create,
        tenants::list,
        tenants::get,
        tenants::update,
        tenants::delete,
        tenants::suspend,
        tenants::resume,
        tenants::rotate_secrets,
        stats::get,
        catalog::export,
        catalog::import,
        orders::list,
        orders::get,
        orders::mark_paid,
        orders::cancel,
        orders::refund,
        orders::resend,
        customers::list,
        customers::get,
        customers::block,
        customers::unblock,
        customers::balance,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "tenants", description = "Stores hosted by this tokobot"),
        (name = "catalog", description = "A store's catalog as one JSON document"),
        (name = "orders", description = "A store's orders: list, detail, mark paid, cancel, refund, resend"),
        (name = "customers", description = "A store's customers: search, profile, block, balance adjustments"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/openapi.json",
            get(|| async { Json(ApiDoc::openapi()) }),
        )
        .route("/api/v1/tenants", post(tenants::create).get(tenants::list))
        .route(
            "/api/v1/tenants/{slug}",
            get(tenants::get)
                .patch(tenants::update)
                .delete(tenants::delete),
        )
        .route("/api/v1/tenants/{slug}/suspend", post(tenants::suspend))
        .route("/api/v1/tenants/{slug}/resume", post(tenants::resume))
        .route("/api/v1/tenants/{slug}/stats", get(stats::get))
        .route(
            "/api/v1/tenants/{slug}/secrets",
            put(tenants::rotate_secrets),
        )
        .route(
            "/api/v1/tenants/{slug}/catalog",
            // The innermost body limit wins, so this route's lifts the router-wide one.
            get(catalog::export)
                .put(catalog::import)
                .layer(DefaultBodyLimit::max(catalog::BODY_LIMIT)),
        )
        .route("/api/v1/tenants/{slug}/orders", get(orders::list))
        .route("/api/v1/tenants/{slug}/orders/{code}", get(orders::get))
        .route(
            "/api/v1/tenants/{slug}/orders/{code}/mark-paid",
            post(orders::mark_paid),
        )
        .route(
            "/api/v1/tenants/{slug}/orders/{code}/cancel",
            post(orders::cancel),
        )
        .route(
            "/api/v1/tenants/{slug}/orders/{code}/refund",
            post(orders::refund),
        )
        .route(
            "/api/v1/tenants/{slug}/orders/{code}/resend",
            post(orders::resend),
        )
        .route("/api/v1/tenants/{slug}/customers", get(customers::list))
        .route(
            "/api/v1/tenants/{slug}/customers/{telegram_id}",
            get(customers::get),
        )
        .route(
            "/api/v1/tenants/{slug}/customers/{telegram_id}/block",
            post(customers::block),
        )
        .route(
            "/api/v1/tenants/{slug}/customers/{telegram_id}/unblock",
            post(customers::unblock),
        )
        .route(
            "/api/v1/tenants/{slug}/customers/{telegram_id}/balance",
            post(customers::balance),
        )
}

//! The JSON API (SPEC §2) and its OpenAPI document, generated from the handlers' annotations.

pub mod audit;
pub mod auth;
pub mod catalog;
pub mod coupons;
pub mod error;
pub mod page;
pub mod products;
pub mod scope;
pub mod stats;
pub mod stock;
pub mod tenants;

use axum::{
    Json, Router,
    extract::DefaultBodyLimit,
    routing::{delete, get, patch, post, put},
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
        products::list,
        products::create,
        products::get,
        products::update,
        products::delete,
        products::list_categories,
        products::create_category,
        products::update_category,
        products::delete_category,
        stock::upload,
        stock::list,
        stock::remove,
        coupons::list,
        coupons::create,
        coupons::update,
        coupons::delete,
        audit::list,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "tenants", description = "Stores hosted by this tokobot"),
        (name = "catalog", description = "A store's catalog: as one JSON document, or product by product and category by category"),
        (name = "stock", description = "A store's stock items"),
        (name = "coupons", description = "A store's coupons"),
        (name = "audit", description = "Who changed what in a store"),
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
        .route(
            "/api/v1/tenants/{slug}/products",
            get(products::list).post(products::create),
        )
        .route(
            "/api/v1/tenants/{slug}/products/{code}",
            get(products::get)
                .patch(products::update)
                .delete(products::delete),
        )
        .route(
            "/api/v1/tenants/{slug}/categories",
            get(products::list_categories).post(products::create_category),
        )
        .route(
            "/api/v1/tenants/{slug}/categories/{id}",
            patch(products::update_category).delete(products::delete_category),
        )
        .route(
            "/api/v1/tenants/{slug}/stock",
            // An upload of many items outgrows the router-wide limit, like a catalog document.
            get(stock::list)
                .post(stock::upload)
                .layer(DefaultBodyLimit::max(catalog::BODY_LIMIT)),
        )
        .route("/api/v1/tenants/{slug}/stock/{id}", delete(stock::remove))
        .route(
            "/api/v1/tenants/{slug}/coupons",
            get(coupons::list).post(coupons::create),
        )
        .route(
            "/api/v1/tenants/{slug}/coupons/{code}",
            patch(coupons::update).delete(coupons::delete),
        )
        .route("/api/v1/tenants/{slug}/audit", get(audit::list))
}

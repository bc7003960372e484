//! The JSON API (SPEC §2) and its OpenAPI document, generated from the handlers' annotations.

pub mod audit;
pub mod auth;
pub mod broadcasts;
pub mod catalog;
pub mod coupons;
pub mod customers;
pub mod error;
pub mod orders;
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
    info(
        title = "tokobot",
        description = "Provisioning and management API of the tokobot store-bot host.",
        license(name = "Proprietary"),
    ),
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
        broadcasts::create,
        broadcasts::get,
        broadcasts::cancel,
    ),
    modifiers(&BearerAuth, &StandardResponses),
    tags(
        (name = "tenants", description = "Stores hosted by this tokobot"),
        (name = "catalog", description = "A store's catalog: as one JSON document, or product by product and category by category"),
        (name = "stock", description = "A store's stock items"),
        (name = "coupons", description = "A store's coupons"),
        (name = "audit", description = "Who changed what in a store"),
        (name = "orders", description = "A store's orders: list, detail, mark paid, cancel, refund, resend"),
        (name = "customers", description = "A store's customers: search, profile, block, balance adjustments"),
        (name = "broadcasts", description = "Messages to a store's customers, sent at the store's pace"),
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

/// The answers every operation of a kind can give, added where an annotation left them out,
/// so that the document lists every status the code can answer without each handler
/// repeating them: 401 for a bearer-protected operation, 403 and 404 under a store, 400, 413
/// and 422 for a body, 422 for query parameters (a NUL character), and 503 when the database
/// is away or the host is stopping (`http::ingress` hands the request to a runtime shutting
/// down).
struct StandardResponses;

impl Modify for StandardResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            ContentBuilder, Ref, ResponseBuilder,
            path::{HttpMethod, ParameterIn},
        };
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let methods = [
                HttpMethod::Get,
                HttpMethod::Post,
                HttpMethod::Put,
                HttpMethod::Patch,
                HttpMethod::Delete,
            ];
            for method in methods {
                let operation = match method {
                    HttpMethod::Get => item.get.as_mut(),
                    HttpMethod::Post => item.post.as_mut(),
                    HttpMethod::Put => item.put.as_mut(),
                    HttpMethod::Patch => item.patch.as_mut(),
                    HttpMethod::Delete => item.delete.as_mut(),
                    _ => None,
                };
                let Some(operation) = operation else { continue };
                let mut add = |status: &str, description: &str| {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                };
                if operation.security.is_some() {
                    add("401", "No token, or an invalid or expired one");
                }
                if path.contains("{slug}") {
                    add("403", "The token does not reach this store");
                    add("404", "No such store");
                }
                if operation.request_body.is_some() {
                    add(
                        "400",
                        "The body is not JSON, or not sent as application/json",
                    );
                    add("413", "The body is larger than this route takes");
                    add("422", "Invalid fields, all listed; nothing was changed");
                }
                let has_query = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| p.parameter_in == ParameterIn::Query);
                if has_query {
                    add("422", "A query parameter is invalid");
                }
                add(
                    "503",
                    "The database is not reachable, or the host is stopping; retry",
                );
            }
        }
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
            post(stock::upload).layer(DefaultBodyLimit::max(catalog::BODY_LIMIT)),
        )
        .route(
            "/api/v1/tenants/{slug}/products/{code}/stock",
            get(stock::list),
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
        .route(
            "/api/v1/tenants/{slug}/broadcasts",
            post(broadcasts::create),
        )
        .route(
            "/api/v1/tenants/{slug}/broadcasts/{id}",
            get(broadcasts::get),
        )
        .route(
            "/api/v1/tenants/{slug}/broadcasts/{id}/cancel",
            post(broadcasts::cancel),
        )
}

//! `/api/v1/tenants/{slug}/coupons`: a store's coupons (`store::coupons`), listed with their
//! uses, created, changed and deleted (a used coupon is deactivated instead).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    AppState,
    auth::Principal,
    error::{ApiError, ApiJson, ApiQuery, ErrorBody},
    page::{self, Page, PageQuery},
    scope::StoreScope,
};
use crate::store::coupons::{self, Coupon, CouponPatch, NewCoupon, Removal};

/// What `DELETE` did.
#[derive(Serialize, ToSchema)]
pub struct CouponRemoval {
    pub result: Removal,
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/coupons", operation_id = "list_coupons", tag = "coupons",
    params(("slug" = String, Path, description = "The store's slug"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of coupons with their uses, by code", body = Page<Coupon>),
        (status = 400, description = "A bad query", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<Coupon>>, ApiError> {
    let limit = page::limit(query.limit)?;
    let after = page::decode(query.cursor.as_deref())?;
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let rows = coupons::list(&mut scope.tx, after.as_deref(), limit + 1).await?;
    scope.commit().await?;
    Ok(Json(page::page(rows, limit, |c| c.code.clone())))
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/coupons", operation_id = "create_coupon", tag = "coupons", request_body = NewCoupon,
    params(("slug" = String, Path, description = "The store's slug")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The coupon", body = Coupon),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 409, description = "The code is taken (`coupon_code_taken`)", body = ErrorBody),
        (status = 422, description = "An invalid field; nothing changed", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiJson(new): ApiJson<NewCoupon>,
) -> Result<(StatusCode, Json<Coupon>), ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let coupon = coupons::create(&mut scope.tx, scope.tenant.id, &scope.actor, &new).await?;
    scope.commit().await?;
    Ok((StatusCode::CREATED, Json(coupon)))
}

#[utoipa::path(patch, path = "/api/v1/tenants/{slug}/coupons/{code}", operation_id = "update_coupon", tag = "coupons", request_body = CouponPatch,
    params(("slug" = String, Path, description = "The store's slug"),
           ("code" = String, Path, description = "The coupon's code, in any case")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The coupon as it is now", body = Coupon),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such store or coupon", body = ErrorBody),
        (status = 422, description = "An invalid field (or fewer uses than already taken); nothing changed", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, code)): Path<(String, String)>,
    ApiJson(patch): ApiJson<CouponPatch>,
) -> Result<Json<Coupon>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let coupon =
        coupons::update(&mut scope.tx, scope.tenant.id, &scope.actor, &code, patch).await?;
    scope.commit().await?;
    Ok(Json(coupon))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/coupons/{code}", operation_id = "delete_coupon", tag = "coupons",
    params(("slug" = String, Path, description = "The store's slug"),
           ("code" = String, Path, description = "The coupon's code, in any case")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted, or deactivated because orders used it: `result` says which", body = CouponRemoval),
        (status = 404, description = "No such store or coupon", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, code)): Path<(String, String)>,
) -> Result<Json<CouponRemoval>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let result = coupons::delete(&mut scope.tx, scope.tenant.id, &scope.actor, &code).await?;
    scope.commit().await?;
    Ok(Json(CouponRemoval { result }))
}

//! `/api/v1/tenants/{slug}/products` and `.../categories`: the catalog, one product or
//! category at a time (`store::products`, `store::categories`). Every change is audited with
//! the token's subject and shows to customers at once.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    AppState,
    auth::Principal,
    error::{ApiError, ApiJson, ApiQuery, ErrorBody},
    page::{self, Page},
    scope::StoreScope,
};
use crate::store::{
    categories::{self, Category, CategoryInput},
    products::{self, NewProduct, Product, ProductPatch, Removal},
    stock::{self, Counts},
};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// Only the products of this category id.
    pub category: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// A product with its stock counts.
#[derive(Serialize, ToSchema)]
pub struct ProductDetail {
    pub product: Product,
    pub stock: Counts,
}

/// What `DELETE` did.
#[derive(Serialize, ToSchema)]
pub struct ProductRemoval {
    pub result: Removal,
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/products", operation_id = "list_products", tag = "catalog",
    params(("slug" = String, Path, description = "The store's slug"), ProductQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of products (inactive ones included), in id order", body = Page<Product>),
        (status = 400, description = "A bad query", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiQuery(query): ApiQuery<ProductQuery>,
) -> Result<Json<Page<Product>>, ApiError> {
    let limit = page::limit(query.limit)?;
    let after = page::decode_id(query.cursor.as_deref())?;
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let rows = products::list_products(&mut scope.tx, query.category, after, limit + 1).await?;
    scope.commit().await?;
    Ok(Json(page::page(rows, limit, |p| p.id.to_string())))
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/products", operation_id = "create_product", tag = "catalog", request_body = NewProduct,
    params(("slug" = String, Path, description = "The store's slug")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The product, in the catalog now", body = Product),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 409, description = "The code is taken (`product_code_taken`)", body = ErrorBody),
        (status = 422, description = "An invalid field or an unknown category; nothing changed", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiJson(new): ApiJson<NewProduct>,
) -> Result<(StatusCode, Json<Product>), ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let product =
        products::create_product(&mut scope.tx, scope.tenant.id, &scope.actor, new).await?;
    scope.commit_catalog(&state).await?;
    Ok((StatusCode::CREATED, Json(product)))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/products/{code}", operation_id = "get_product", tag = "catalog",
    params(("slug" = String, Path, description = "The store's slug"),
           ("code" = String, Path, description = "The product's code")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The product and its stock counts", body = ProductDetail),
        (status = 404, description = "No such store or product", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, code)): Path<(String, String)>,
) -> Result<Json<ProductDetail>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let product = products::product(&mut scope.tx, &code).await?;
    let stock = stock::counts(&mut scope.tx, product.id).await?;
    scope.commit().await?;
    Ok(Json(ProductDetail { product, stock }))
}

#[utoipa::path(patch, path = "/api/v1/tenants/{slug}/products/{code}", operation_id = "update_product", tag = "catalog", request_body = ProductPatch,
    params(("slug" = String, Path, description = "The store's slug"),
           ("code" = String, Path, description = "The product's code")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The product as it is now", body = Product),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such store or product", body = ErrorBody),
        (status = 422, description = "An invalid field or an unknown category; nothing changed", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, code)): Path<(String, String)>,
    ApiJson(patch): ApiJson<ProductPatch>,
) -> Result<Json<Product>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let product =
        products::update_product(&mut scope.tx, scope.tenant.id, &scope.actor, &code, patch)
            .await?;
    scope.commit_catalog(&state).await?;
    Ok(Json(product))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/products/{code}", operation_id = "delete_product", tag = "catalog",
    params(("slug" = String, Path, description = "The store's slug"),
           ("code" = String, Path, description = "The product's code")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted, or deactivated because orders name it: `result` says which", body = ProductRemoval),
        (status = 404, description = "No such store or product", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, code)): Path<(String, String)>,
) -> Result<Json<ProductRemoval>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let result =
        products::delete_product(&mut scope.tx, scope.tenant.id, &scope.actor, &code).await?;
    scope.commit_catalog(&state).await?;
    Ok(Json(ProductRemoval { result }))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/categories", operation_id = "list_categories", tag = "catalog",
    params(("slug" = String, Path, description = "The store's slug")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every category, in the order customers see them", body = Vec<Category>),
    ))]
pub async fn list_categories(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Category>>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let all = categories::list(&mut scope.tx).await?;
    scope.commit().await?;
    Ok(Json(all))
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/categories", operation_id = "create_category", tag = "catalog", request_body = CategoryInput,
    params(("slug" = String, Path, description = "The store's slug")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The category", body = Category),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 409, description = "The name is taken (`category_name_taken`)", body = ErrorBody),
        (status = 422, description = "An invalid field; nothing changed", body = ErrorBody),
    ))]
pub async fn create_category(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiJson(input): ApiJson<CategoryInput>,
) -> Result<(StatusCode, Json<Category>), ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let category = categories::create(&mut scope.tx, scope.tenant.id, &scope.actor, input).await?;
    scope.commit_catalog(&state).await?;
    Ok((StatusCode::CREATED, Json(category)))
}

#[utoipa::path(patch, path = "/api/v1/tenants/{slug}/categories/{id}", operation_id = "update_category", tag = "catalog", request_body = CategoryInput,
    params(("slug" = String, Path, description = "The store's slug"),
           ("id" = i64, Path, description = "The category's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The category as it is now", body = Category),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such store or category", body = ErrorBody),
        (status = 409, description = "The new name is taken (`category_name_taken`)", body = ErrorBody),
        (status = 422, description = "An invalid field; nothing changed", body = ErrorBody),
    ))]
pub async fn update_category(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, id)): Path<(String, i64)>,
    ApiJson(input): ApiJson<CategoryInput>,
) -> Result<Json<Category>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let category =
        categories::update(&mut scope.tx, scope.tenant.id, &scope.actor, id, input).await?;
    scope.commit_catalog(&state).await?;
    Ok(Json(category))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/categories/{id}", operation_id = "delete_category", tag = "catalog",
    params(("slug" = String, Path, description = "The store's slug"),
           ("id" = i64, Path, description = "The category's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such store or category", body = ErrorBody),
        (status = 409, description = "It still holds products (`category_not_empty`)", body = ErrorBody),
    ))]
pub async fn delete_category(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    categories::delete(&mut scope.tx, scope.tenant.id, &scope.actor, id).await?;
    scope.commit_catalog(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}

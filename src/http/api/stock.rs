//! A store's stock (`store::inventory`): `POST .../stock` appends items to a product,
//! `GET .../products/{code}/stock` lists a product's items and `DELETE .../stock/{id}` removes
//! an unsold one.
//!
//! Listing gives ids, states and times but never the goods: they are sealed at rest, and the
//! owner who needs them in plain text has the catalog export (`GET .../catalog`, available
//! items) and the bot's `.txt` download, both of which exist for exactly that.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState,
    auth::Principal,
    error::{ApiError, ApiJson, ApiQuery, ErrorBody},
    page::{self, PageQuery},
    scope::StoreScope,
};
use crate::store::{
    inventory::{self, Item, Upload},
    stock::Counts,
};

/// The body of `POST .../stock`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockUpload {
    /// The product's code.
    pub product: String,
    /// One item per entry (an entry with line breaks counts as several lines); trimmed, blank
    /// ones skipped, each at most 4000 characters, at most 100000 in all.
    pub items: Vec<String>,
}

/// A product's stock: its counts and one page of its items (contents left out).
#[derive(Serialize, ToSchema)]
pub struct StockPage {
    pub product: String,
    pub counts: Counts,
    pub items: Vec<Item>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/stock", operation_id = "add_stock", tag = "stock", request_body = StockUpload,
    params(("slug" = String, Path, description = "The store's slug")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Items added; repeats within the upload or of any item the product ever had are refused and listed", body = Upload),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such store or product", body = ErrorBody),
        (status = 422, description = "No item, too many, or a line too long or with NUL; nothing changed", body = ErrorBody),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<StockUpload>,
) -> Result<Json<Upload>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let upload = inventory::upload(
        &mut scope.tx,
        state.host.sealer(),
        scope.tenant.id,
        &scope.actor,
        &body.product,
        &body.items,
    )
    .await?;
    scope.commit_catalog(&state).await?;
    Ok(Json(upload))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/products/{code}/stock", operation_id = "list_stock", tag = "stock",
    params(("slug" = String, Path, description = "The store's slug"),
           ("code" = String, Path, description = "The product's code"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The product's counts and a page of its items, in id order, without contents", body = StockPage),
        (status = 400, description = "A bad query", body = ErrorBody),
        (status = 404, description = "No such store or product", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, code)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<StockPage>, ApiError> {
    let limit = page::limit(query.limit)?;
    let after = page::decode_id(query.cursor.as_deref())?;
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let (product, counts) = inventory::counts(&mut scope.tx, &code).await?;
    let rows = inventory::items(&mut scope.tx, &product.code, after, limit + 1).await?;
    scope.commit().await?;
    let page = page::page(rows, limit, |item| item.id.to_string());
    Ok(Json(StockPage {
        product: product.code,
        counts,
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/stock/{id}", operation_id = "remove_stock_item", tag = "stock",
    params(("slug" = String, Path, description = "The store's slug"),
           ("id" = i64, Path, description = "The item's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such store or item", body = ErrorBody),
        (status = 409, description = "The item is reserved or sold (`stock_item_not_available`)", body = ErrorBody),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    inventory::remove(&mut scope.tx, scope.tenant.id, &scope.actor, id).await?;
    scope.commit_catalog(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}

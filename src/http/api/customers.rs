//! `/api/v1/tenants/{slug}/customers`: a store's customers as its admins run them in the bot —
//! search, profile, blocking and balance adjustments — through the domain functions the bot
//! calls (`store::customers::admin`), acting as `Actor::Api`.

use axum::{
    Json,
    extract::{Path, State},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    AppState,
    auth::Principal,
    error::{ApiError, ApiJson, ApiQuery, ErrorBody},
    page,
    scope::{StoreScope, send_now},
};
use crate::store::customers::admin::{
    self as customer_admin, Adjusted, Adjustment, Listed, Profile, Search,
};

const CURSOR: &str = "customers";

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// Part of a name or username (`@` optional), or a whole Telegram id; at most 64 characters.
    #[param(max_length = 64)]
    pub q: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Customers per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerPage {
    /// By Telegram id.
    pub items: Vec<Listed>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BalanceBody {
    /// Rupiah to add (positive) or take (negative); never zero, at most 100,000,000 either way.
    #[schema(minimum = -100_000_000, maximum = 100_000_000)]
    pub amount: i64,
    /// Why; required, 1 to 500 characters. Kept on the ledger row and shown to the customer.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// A Telegram id in the path; anything else names no customer.
fn telegram_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::NotFound("no such customer".into()))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/customers", operation_id = "list_customers", tag = "customers",
    params(("slug" = String, Path, description = "The store's slug"), CustomerQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the customers matching the search", body = CustomerPage),
        (status = 400, description = "A bad query (cursor or limit)", body = ErrorBody),
        (status = 422, description = "The search is too long or holds a NUL character", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiQuery(query): ApiQuery<CustomerQuery>,
) -> Result<Json<CustomerPage>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let limit = page::limit(query.limit)?;
    let search = Search {
        query: query.q,
        after_id: page::decode_for(CURSOR, query.cursor.as_deref())?,
        // One more than asked tells whether another page follows.
        limit: limit + 1,
    };
    scope.settle_customers(&state).await?;
    let rows = customer_admin::search(&mut scope.tx, &search).await?;
    scope.commit().await?;
    let (items, next_cursor) = page::split(rows, limit, |last| {
        page::encode_for(CURSOR, last.telegram_id)
    });
    Ok(Json(CustomerPage { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/customers/{telegram_id}", operation_id = "get_customer", tag = "customers",
    params(("slug" = String, Path, description = "The store's slug"),
           ("telegram_id" = i64, Path, description = "The customer's Telegram id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer's profile", body = Profile),
        (status = 404, description = "No such store or customer", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<Profile>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let id = telegram_id(&id)?;
    scope.settle_customers(&state).await?;
    let profile = customer_admin::profile(&mut scope.tx, id).await?;
    scope.commit().await?;
    Ok(Json(profile))
}

async fn set_blocked(
    state: &AppState,
    principal: &Principal,
    slug: &str,
    id: &str,
    blocked: bool,
) -> Result<Json<Profile>, ApiError> {
    let mut scope = StoreScope::open(state, principal, slug).await?;
    let id = telegram_id(id)?;
    scope.settle_customer(state, id).await?;
    customer_admin::set_blocked(&mut scope.tx, scope.tenant.id, &scope.actor, id, blocked).await?;
    // Read in the change's own transaction, as the bot's customers screen reads it.
    let profile = customer_admin::profile(&mut scope.tx, id).await?;
    scope.commit().await?;
    Ok(Json(profile))
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/customers/{telegram_id}/block", operation_id = "block_customer", tag = "customers",
    params(("slug" = String, Path, description = "The store's slug"),
           ("telegram_id" = i64, Path, description = "The customer's Telegram id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer is blocked (or already was): no checkout, no deposit", body = Profile),
        (status = 404, description = "No such store or customer", body = ErrorBody),
    ))]
pub async fn block(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<Profile>, ApiError> {
    set_blocked(&state, &principal, &slug, &id, true).await
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/customers/{telegram_id}/unblock", operation_id = "unblock_customer", tag = "customers",
    params(("slug" = String, Path, description = "The store's slug"),
           ("telegram_id" = i64, Path, description = "The customer's Telegram id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer may shop again (or already could)", body = Profile),
        (status = 404, description = "No such store or customer", body = ErrorBody),
    ))]
pub async fn unblock(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<Profile>, ApiError> {
    set_blocked(&state, &principal, &slug, &id, false).await
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/customers/{telegram_id}/balance", operation_id = "adjust_customer_balance", tag = "customers",
    request_body = BalanceBody,
    params(("slug" = String, Path, description = "The store's slug"),
           ("telegram_id" = i64, Path, description = "The customer's Telegram id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The balance changed; the customer is told", body = Adjusted),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such store or customer", body = ErrorBody),
        (status = 409, description = "The balance would go below zero (`balance_too_low`)", body = ErrorBody),
        (status = 422, description = "A zero or too large amount, or a missing or too long reason", body = ErrorBody),
    ))]
pub async fn balance(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<BalanceBody>,
) -> Result<Json<Adjusted>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let id = telegram_id(&id)?;
    let adjustment = Adjustment {
        amount: body.amount,
        reason: body.reason,
    };
    scope.settle_customer(&state, id).await?;
    let adjusted = customer_admin::adjust_balance(
        &mut scope.tx,
        scope.tenant.id,
        &scope.actor,
        id,
        &adjustment,
    )
    .await?;
    scope.commit().await?;
    send_now(&state, &slug, &[adjusted.outbox]).await?;
    Ok(Json(adjusted))
}

//! `/api/v1/tenants/{slug}/orders`: a store's orders as its admins run them in the bot — the
//! filtered list, the detail, and marking paid, cancelling, refunding and resending. Each
//! operation is the domain function the bot calls (`store::orders::admin`, or
//! `service::orders` for a cancel that may need Pakasir), acting as `Actor::Api`.

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
    page::{self, bad_query},
    scope::{StoreScope, pay_store, send_now},
};
use crate::{
    db::TenantId,
    service,
    store::orders::{
        Status,
        admin::{self as order_admin, Detail, Filter, RefundInput, Refunded, Summary},
    },
};

const CURSOR: &str = "orders";

/// An order status as the list filters it.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusParam {
    AwaitingPayment,
    Paid,
    Delivered,
    Cancelled,
    Expired,
}

impl From<StatusParam> for Status {
    fn from(status: StatusParam) -> Self {
        match status {
            StatusParam::AwaitingPayment => Status::AwaitingPayment,
            StatusParam::Paid => Status::Paid,
            StatusParam::Delivered => Status::Delivered,
            StatusParam::Cancelled => Status::Cancelled,
            StatusParam::Expired => Status::Expired,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Only orders in this status.
    pub status: Option<StatusParam>,
    /// `true`: only orders whose QRIS payment is held for review (Pakasir's record of it
    /// disagrees with ours; the owner was alerted and decides by hand) and that await that
    /// decision still: not marked paid, not cancelled.
    pub review: Option<bool>,
    /// The first day whose orders are listed (`YYYY-MM-DD`, in the store's time zone).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// The last day whose orders are listed (`YYYY-MM-DD`, in the store's time zone).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Orders per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderPage {
    /// Newest first.
    pub items: Vec<Summary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    /// Rupiah to refund, 1 to the order's total; the whole total when absent.
    #[schema(minimum = 1)]
    pub amount: Option<i64>,
    /// Why, required as for a balance adjustment: kept on the ledger row and in the audit log
    /// (1 to 500 characters). Absent or blank is refused with 422. (An `Option` so that a
    /// refund of an order that cannot be refunded says so first; the document says required.)
    #[schema(required = true, min_length = 1, max_length = 500)]
    pub reason: Option<String>,
}

fn day(field: &'static str, value: Option<&str>) -> Result<Option<jiff::civil::Date>, ApiError> {
    value
        .map(|text| {
            text.parse()
                .map_err(|_| bad_query(format!("{field} must be a date like 2026-12-03")))
        })
        .transpose()
}

/// The order as it is after an operation's commit and its sends (a resend may have delivered it).
async fn read_detail(state: &AppState, tenant: TenantId, code: &str) -> Result<Detail, ApiError> {
    let mut tx = state.host.db().tenant(tenant).await?;
    let detail = order_admin::detail(&mut tx, code).await?;
    tx.commit().await?;
    Ok(detail)
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/orders", operation_id = "list_orders", tag = "orders",
    params(("slug" = String, Path, description = "The store's slug"), OrderQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the store's orders, newest first", body = OrderPage),
        (status = 400, description = "A bad query (status, dates, cursor or limit)", body = ErrorBody),
        (status = 422, description = "The last day comes before the first", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiQuery(query): ApiQuery<OrderQuery>,
) -> Result<Json<OrderPage>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let limit = page::limit(query.limit)?;
    let filter = Filter {
        status: query.status.map(Status::from),
        review: query.review.unwrap_or(false),
        from: day("from", query.from.as_deref())?,
        to: day("to", query.to.as_deref())?,
        before_id: page::decode_for(CURSOR, query.cursor.as_deref())?,
        // One more than asked tells whether another page follows.
        limit: limit + 1,
    };
    let rows = order_admin::list(&mut scope.tx, &scope.tenant.timezone, &filter).await?;
    scope.commit().await?;
    let (items, next_cursor) = page::split(rows, limit, |last| page::encode_for(CURSOR, last.id));
    Ok(Json(OrderPage { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/orders/{code}", operation_id = "get_order", tag = "orders",
    params(("slug" = String, Path, description = "The store's slug"),
           ("code" = String, Path, description = "The order's code, e.g. INV000123ABCDE")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order with its items, invoice, delivery and buyer", body = Detail),
        (status = 404, description = "No such store or order", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, code)): Path<(String, String)>,
) -> Result<Json<Detail>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let detail = order_admin::detail(&mut scope.tx, &code).await?;
    scope.commit().await?;
    Ok(Json(detail))
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/orders/{code}/mark-paid", operation_id = "mark_order_paid", tag = "orders",
    params(("slug" = String, Path, description = "The store's slug"),
           ("code" = String, Path, description = "The order's code")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order is paid and its goods are on their way", body = Detail),
        (status = 404, description = "No such store or order", body = ErrorBody),
        (status = 409, description = "Already paid (`already_paid`), or ended with its goods gone (`sold_out`)", body = ErrorBody),
    ))]
pub async fn mark_paid(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, code)): Path<(String, String)>,
) -> Result<Json<Detail>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let tenant = scope.tenant.id;
    let paid = order_admin::mark_paid(&mut scope.tx, tenant, &scope.actor, &code).await?;
    scope.commit_catalog(&state).await?;
    send_now(&state, &slug, &paid.outbox).await?;
    Ok(Json(read_detail(&state, tenant, &paid.order.code).await?))
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/orders/{code}/cancel", operation_id = "cancel_order", tag = "orders",
    params(("slug" = String, Path, description = "The store's slug"),
           ("code" = String, Path, description = "The order's code")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order is cancelled and its goods are back in stock", body = Detail),
        (status = 404, description = "No such store or order", body = ErrorBody),
        (status = 409, description = "Not awaiting payment (`not_cancellable`), paid meanwhile (`paid_meanwhile`), or Pakasir could not cancel its invoice (`gateway_unavailable`)", body = ErrorBody),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, code)): Path<(String, String)>,
) -> Result<Json<Detail>, ApiError> {
    let tenant = principal.store(&state, &slug).await?;
    let pay_store = pay_store(&state, &slug).await?;
    service::orders::cancel(&pay_store, &principal.actor(), &code).await?;
    Ok(Json(read_detail(&state, tenant.id, &code).await?))
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/orders/{code}/refund", operation_id = "refund_order", tag = "orders",
    request_body = RefundBody,
    params(("slug" = String, Path, description = "The store's slug"),
           ("code" = String, Path, description = "The order's code")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Refunded to the buyer's balance, who is told", body = Refunded),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such store or order", body = ErrorBody),
        (status = 409, description = "Not paid (`not_paid`) or refunded before (`already_refunded`)", body = ErrorBody),
        (status = 422, description = "An amount outside 1..total, or a reason missing, too long or holding a NUL", body = ErrorBody),
    ))]
pub async fn refund(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, code)): Path<(String, String)>,
    ApiJson(body): ApiJson<RefundBody>,
) -> Result<Json<Refunded>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let input = RefundInput {
        amount: body.amount,
        reason: body.reason,
    };
    let refunded =
        order_admin::refund(&mut scope.tx, scope.tenant.id, &scope.actor, &code, &input).await?;
    scope.commit().await?;
    send_now(&state, &slug, &[refunded.outbox]).await?;
    Ok(Json(refunded))
}

#[utoipa::path(post, path = "/api/v1/tenants/{slug}/orders/{code}/resend", operation_id = "resend_order", tag = "orders",
    params(("slug" = String, Path, description = "The store's slug"),
           ("code" = String, Path, description = "The order's code")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The goods are on their way to the buyer again", body = Detail),
        (status = 404, description = "No such store or order", body = ErrorBody),
        (status = 409, description = "The order is not paid (`not_paid`)", body = ErrorBody),
    ))]
pub async fn resend(
    State(state): State<AppState>,
    principal: Principal,
    Path((slug, code)): Path<(String, String)>,
) -> Result<Json<Detail>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let tenant = scope.tenant.id;
    let outbox = order_admin::resend(&mut scope.tx, tenant, &scope.actor, &code).await?;
    scope.commit().await?;
    send_now(&state, &slug, &[outbox]).await?;
    Ok(Json(read_detail(&state, tenant, &code).await?))
}

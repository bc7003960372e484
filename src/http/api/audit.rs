//! `GET /api/v1/tenants/{slug}/audit`: the store's audit trail, newest first
//! (`store::audit::list`).

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    AppState,
    auth::Principal,
    error::{ApiError, ApiQuery, ErrorBody},
    page::{self, Page},
    scope::StoreScope,
};
use crate::store::audit::{self, Filter, Row};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// An admin's Telegram id, or an API token's subject (with or without `api:`).
    pub actor: Option<String>,
    /// An exact action (`product.update`) or a prefix ending in a dot (`product.`).
    pub action: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/audit", operation_id = "list_audit", tag = "audit",
    params(("slug" = String, Path, description = "The store's slug"), AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of the audit trail, newest first", body = Page<Row>),
        (status = 400, description = "A bad query", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Page<Row>>, ApiError> {
    let limit = page::limit(query.limit)?;
    let filter = Filter {
        actor: query.actor.filter(|a| !a.is_empty()),
        action: query.action.filter(|a| !a.is_empty()),
        before_id: page::decode_id(query.cursor.as_deref())?,
        limit: limit + 1,
    };
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let rows = audit::list(&mut scope.tx, &filter).await?;
    scope.commit().await?;
    Ok(Json(page::page(rows, limit, |row| row.id.to_string())))
}

//! `GET /api/v1/tenants/{slug}/stats`: a store's customers, orders, revenue and failures.

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
    page::bad_query,
    scope::StoreScope,
};
use crate::store::stats::{self, Stats};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// How many days the daily list covers, 1 to 366 (default 30).
    pub days: Option<i32>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/stats", operation_id = "get_stats", tag = "tenants",
    params(("slug" = String, Path, description = "The store's slug"), StatsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The store's numbers", body = Stats),
        (status = 400, description = "A bad query", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<Json<Stats>, ApiError> {
    let mut scope = StoreScope::open(&state, &principal, &slug).await?;
    let days = query.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(bad_query("days must be between 1 and 366".into()));
    }
    let errors = state
        .host
        .running_stores()
        .into_iter()
        .find(|r| r.ctx.tenant_id() == scope.tenant.id)
        .map_or(0, |r| r.ctx.handler_errors());
    scope.settle_customers(&state).await?;
    let stats = stats::read(&mut scope.tx, &scope.tenant.timezone, days, errors).await?;
    scope.commit().await?;
    Ok(Json(stats))
}

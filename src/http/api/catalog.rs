//! `/api/v1/tenants/{slug}/catalog`: a store's whole configuration as one JSON document
//! (`store::catalog_doc`), exported by `GET` (version 2) and imported, all or nothing, by
//! `PUT` (version 1 or 2).

use axum::{
    Json,
    extract::{Path, State},
};

use super::{
    AppState,
    auth::Principal,
    error::{ApiError, ApiJson, ErrorBody, internal_or_unavailable},
};
use crate::store::catalog_doc::{self, CatalogDocument, ImportError, ImportSummary};

/// Catalog documents carry a store's stock and can be far larger than other API bodies.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

impl From<ImportError> for ApiError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Invalid(errors) => ApiError::Unprocessable {
                code: "validation_failed",
                message: "the catalog document is invalid; nothing was changed".into(),
                fields: errors.0,
            },
            ImportError::Database(error) => error.into(),
            ImportError::Settings(error) => error.into(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/catalog", operation_id = "export_catalog", tag = "catalog",
    params(("slug" = String, Path, description = "The store's slug")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The store's catalog, stock in plain text", body = CatalogDocument),
    ))]
pub async fn export(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
) -> Result<Json<CatalogDocument>, ApiError> {
    let tenant = principal.store(&state, &slug).await?;
    let mut tx = state.host.db().tenant(tenant.id).await?;
    let doc = catalog_doc::export(&mut tx, state.host.sealer(), tenant.id)
        .await
        .map_err(internal_or_unavailable)?;
    Ok(Json(doc))
}

#[utoipa::path(put, path = "/api/v1/tenants/{slug}/catalog", operation_id = "import_catalog", tag = "catalog", request_body = CatalogDocument,
    params(("slug" = String, Path, description = "The store's slug")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The catalog is now the document's", body = ImportSummary),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 413, description = "The document is larger than 16 MiB", body = ErrorBody),
        (status = 422, description = "Invalid fields, all listed; nothing was changed", body = ErrorBody),
    ))]
pub async fn import(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    ApiJson(doc): ApiJson<CatalogDocument>,
) -> Result<Json<ImportSummary>, ApiError> {
    let tenant = principal.store(&state, &slug).await?;
    // Checked before the transaction, so a bad document costs no connection.
    catalog_doc::validate(&doc).map_err(ImportError::Invalid)?;
    let actor = principal.actor();
    let mut tx = state.host.db().tenant(tenant.id).await?;
    let summary =
        catalog_doc::import(&mut tx, state.host.sealer(), tenant.id, &actor, &doc).await?;
    tx.commit().await?;
    state.host.catalog_changed(tenant.id);
    if doc.settings.is_some() {
        // The running bot takes the restored settings now, not at the next reconcile.
        if let Err(error) = state.host.sync(&slug).await {
            tracing::warn!(store = %slug, error = format!("{error:#}"), "settings restored but the store's bot could not be synced yet");
        }
    }
    Ok(Json(summary))
}

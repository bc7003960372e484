//! What every store operation handler starts with: the caller may reach the store, the store
//! exists, and a transaction scoped to it is open, with the caller as the audit actor
//! ([`StoreScope`]); or, for operations that call Pakasir or send what they wrote to the outbox
//! at once, the store as the payment service needs it ([`pay_store`]).

use super::{AppState, auth::Principal, error::ApiError};
use crate::{
    db::TenantTx, service::payments::PayStore, store::audit::Actor, tenants::model::Tenant,
};

/// A store operation in progress.
pub struct StoreScope {
    pub tenant: Tenant,
    /// Row-level security confines it to the store; dropped uncommitted, it rolls back.
    pub tx: TenantTx,
    pub actor: Actor,
}

impl StoreScope {
    /// Checks the token against `slug` before anything else, so a foreign owner learns nothing,
    /// not even whether the store exists.
    pub async fn open(
        state: &AppState,
        principal: &Principal,
        slug: &str,
    ) -> Result<Self, ApiError> {
        let tenant = principal.store(state, slug).await?;
        let tx = state.host.db().tenant(tenant.id).await?;
        Ok(Self {
            tenant,
            tx,
            actor: principal.actor(),
        })
    }

    /// Commits a change that customers browse (products, categories, stock) and drops the
    /// store's cached catalog, so the next customer sees it.
    pub async fn commit_catalog(self, state: &AppState) -> Result<(), ApiError> {
        let tenant = self.tenant.id;
        self.tx.commit().await?;
        state.host.catalog_changed(tenant);
        Ok(())
    }

    pub async fn commit(self) -> Result<(), ApiError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// The store `slug` as the payment service needs it (the caller's access is checked first with
/// `Principal::store`).
pub async fn pay_store(state: &AppState, slug: &str) -> Result<PayStore, ApiError> {
    state
        .host
        .pay_store(slug)
        .await?
        .ok_or_else(ApiError::not_found)
}

//! What every store operation handler starts with: the caller may reach the store, the store
//! exists, and a transaction scoped to it is open, with the caller as the audit actor
//! ([`StoreScope`]); or, for operations that call Pakasir or send what they wrote to the outbox
//! at once, the store as the payment service needs it ([`pay_store`], [`send_now`]).

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
        Self::with_tenant(state, principal, tenant).await
    }

    /// Opens the transaction of a store the caller was already checked against (with
    /// `Principal::store`), for a handler with work to do before it needs the database.
    pub async fn with_tenant(
        state: &AppState,
        principal: &Principal,
        tenant: Tenant,
    ) -> Result<Self, ApiError> {
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

    /// Records every contact the host noted in memory for the store, so that everyone who has
    /// written to it is found, including since the last flush.
    pub async fn settle_customers(&mut self, state: &AppState) -> Result<(), ApiError> {
        let tenant = self.tenant.id;
        state
            .host
            .customers()
            .settle_store(&mut self.tx, tenant)
            .await?;
        Ok(())
    }

    /// Records the contact of the customer `id` noted in memory, before an operation that
    /// needs the customer's row.
    pub async fn settle_customer(&mut self, state: &AppState, id: i64) -> Result<(), ApiError> {
        let tenant = self.tenant.id;
        state
            .host
            .customers()
            .settle(&mut self.tx, tenant, id)
            .await?;
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

/// Sends at once the outbox rows a committed operation wrote (a refund's notice, goods); what
/// does not go now, the outbox worker sends later.
pub async fn send_now(state: &AppState, slug: &str, outbox: &[i64]) -> Result<(), ApiError> {
    pay_store(state, slug).await?.send_now(outbox).await;
    Ok(())
}

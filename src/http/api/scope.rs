//! What an operation on one store's data starts from: the store behind a slug the caller's
//! token reaches, the caller as the audit log names it, and the store as the payment service
//! needs it (for Pakasir calls, and for sending at once what an operation wrote to the outbox
//! when the store's bot runs in this process).

use super::{AppState, auth::Principal, error::ApiError};
use crate::{service::payments::PayStore, store::audit::Actor, tenants::model::Tenant};

/// The store behind `slug`, if the token reaches it (owners reach only their own).
pub async fn store(
    state: &AppState,
    principal: &Principal,
    slug: &str,
) -> Result<Tenant, ApiError> {
    principal.require_store(slug)?;
    Ok(state.provisioner.existing(slug).await?)
}

/// The caller as the audit log names it: its token's subject.
pub fn actor(principal: &Principal) -> Actor {
    Actor::Api(principal.0.sub.clone())
}

/// The store `slug` as the payment service needs it.
pub async fn pay_store(state: &AppState, slug: &str) -> Result<PayStore, ApiError> {
    state
        .host
        .pay_store(slug)
        .await?
        .ok_or_else(ApiError::not_found)
}

//! The store as the payment service needs it, for operations on one store's data: for Pakasir
//! calls, and for sending at once what an operation wrote to the outbox when the store's bot
//! runs in this process. (Which store a token reaches, and the actor it is, are
//! `Principal::store` and `Principal::actor`.)

use super::{AppState, error::ApiError};
use crate::service::payments::PayStore;

/// The store `slug` as the payment service needs it.
pub async fn pay_store(state: &AppState, slug: &str) -> Result<PayStore, ApiError> {
    state
        .host
        .pay_store(slug)
        .await?
        .ok_or_else(ApiError::not_found)
}

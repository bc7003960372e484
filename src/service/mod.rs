//! Flows that several adapters start: the orchestration between the domain (`store/`), the
//! payment gateway (`pakasir/`) and the outbox, called alike by the webhook routes (`http/`), the
//! background jobs (`jobs/`) and the bot (`bot/`).
//!
//! `store/` stays free of gateway calls and Telegram; this layer may call Pakasir but never
//! Telegram: whatever must reach a person is written to the outbox in the transaction of the
//! change, and sent by whoever can (see [`payments::Courier`]).
//!
//! - `payments`: confirming a payment with Pakasir and settling it, ending an unpaid one
//!   (cancel at Pakasir, then close), late payments, and the gateway's failure streak.
//! - `orders`: the store cancelling an order, which cancels its open invoice at Pakasir first.
//! - `ctx`: a running store's context (`StoreCtx`), which the bot, the host and the jobs take too.

pub mod ctx;
pub mod orders;
pub mod payments;

use crate::store::error::OpError;

/// Why a service operation changed nothing: the domain refused it (`Op`, which each adapter
/// words as it words domain errors), or something failed underneath (a database or gateway
/// fault, logged and reported as such).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Op(#[from] OpError),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ServiceError {
    fn from(error: sqlx::Error) -> Self {
        ServiceError::Op(OpError::Database(error))
    }
}

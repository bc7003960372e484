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

pub mod payments;

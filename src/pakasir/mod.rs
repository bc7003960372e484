//! The Pakasir payment gateway: the HTTP client, QRIS payloads and the webhook payload.
//!
//! Facts of the API are in `shared/reference/pakasir.md`. Nothing here touches the database or
//! Telegram; the payment flow (pending records, exactly-once crediting, reconciliation) lives
//! in the store domain and uses these pieces.

pub mod client;
pub mod fees;
pub mod qris;
pub mod webhook;

pub use client::{
    Credentials, Invoice, Method, PakasirClient, PakasirError, PaymentStatus, Transaction,
};
pub use qris::{QrisError, QrisInfo};
pub use webhook::WebhookPayload;

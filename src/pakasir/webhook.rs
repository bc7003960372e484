//! The body Pakasir POSTs to a store's webhook URL when a payment completes.
//!
//! Pakasir does not sign its webhooks, so anyone who knows the URL can POST one. The payload
//! is therefore never trusted alone: it only says which payment to look at. The handler
//! accepts it when `project`, `order_id` and `amount` (the base amount, not `total_payment`)
//! match a pending local payment, and then confirms with
//! [`PakasirClient::detail`](super::client::PakasirClient::detail) that the status really is
//! `completed`. When that call fails the payment stays pending for reconciliation to retry.

use serde::Deserialize;

use super::client::PaymentStatus;

/// A webhook body as Pakasir sends it: a claim to check, never proof of payment.
///
/// Unknown fields are ignored so that Pakasir can add some; the four fields that identify the
/// payment are required and typed, so a body without them is refused as a whole.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct WebhookPayload {
    /// The base amount, to compare with the local payment's base amount.
    pub amount: i64,
    pub order_id: String,
    pub project: String,
    pub status: String,
    pub payment_method: Option<String>,
    /// RFC 3339 with an offset, kept as text: the confirmed time comes from `detail`.
    pub completed_at: Option<String>,
    #[serde(default)]
    pub is_sandbox: bool,
}

impl WebhookPayload {
    /// The status the payload claims; only `detail`'s answer decides.
    pub fn claimed_status(&self) -> PaymentStatus {
        PaymentStatus::parse(&self.status)
    }
}

/// Parses a webhook body. The result still has to be checked against the local pending
/// payment and confirmed with `detail` before anything is credited.
pub fn parse(body: &[u8]) -> Result<WebhookPayload, serde_json::Error> {
    serde_json::from_slice(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_body_and_tolerates_new_fields() {
        let body = br#"{"amount":22000,"order_id":"240910HDE7C9","project":"depodomain",
            "status":"completed","payment_method":"qris",
            "completed_at":"2024-09-10T08:07:02.819+07:00","is_sandbox":true,"extra":[1]}"#;
        let payload = parse(body).expect("parses");
        assert_eq!(payload.amount, 22000);
        assert_eq!(payload.claimed_status(), PaymentStatus::Completed);
        assert!(payload.is_sandbox);
    }

    #[test]
    fn optional_fields_may_be_missing() {
        let body = br#"{"amount":22000,"order_id":"A1234","project":"p","status":"completed"}"#;
        let payload = parse(body).expect("parses");
        assert_eq!((payload.payment_method, payload.is_sandbox), (None, false));
    }

    #[test]
    fn refuses_missing_or_mistyped_identity_fields() {
        for body in [
            r#"{"order_id":"A1234","project":"p","status":"completed"}"#,
            r#"{"amount":"22000","order_id":"A1234","project":"p","status":"completed"}"#,
            r#"{"amount":22000.5,"order_id":"A1234","project":"p","status":"completed"}"#,
            r#"{"amount":22000,"order_id":1234,"project":"p","status":"completed"}"#,
            r#"{"amount":22000,"order_id":"A1234","status":"completed"}"#,
            r#"{"amount":22000,"order_id":"A1234","project":"p"}"#,
            "not json",
        ] {
            assert!(parse(body.as_bytes()).is_err(), "accepted {body}");
        }
    }
}

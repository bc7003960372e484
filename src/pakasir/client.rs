//! The Pakasir HTTP API client: create, detail, cancel and simulate transactions.
//!
//! Pakasir has no auth header: the store's project and API key travel in the JSON body or the
//! query string. The key therefore sits in request URLs, and reqwest's errors print their URL,
//! so every error is turned into a reason without the URL and scrubbed of the key before it
//! leaves this module. Calls are bounded: a per-request timeout and at most three attempts on
//! answers that say "try again" (429, 502, 503, 504) or on transport failures.

use std::error::Error as _;
use std::time::Duration;

use reqwest::{Method as HttpMethod, RequestBuilder, Response, StatusCode, header::RETRY_AFTER};
use serde::{Deserialize, Deserializer, Serialize, de::DeserializeOwned};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::secret::Secret;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Three attempts in all: the first, then one after each backoff.
const BACKOFF: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(800)];
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Pakasir refuses smaller amounts.
pub const MIN_AMOUNT: i64 = 500;

#[derive(Clone, Debug)]
pub struct PakasirClient {
    http: reqwest::Client,
    base_url: String,
    timeout: Duration,
}

/// One store's Pakasir project and key, borrowed for the duration of a call.
#[derive(Clone, Copy, Debug)]
pub struct Credentials<'a> {
    pub project: &'a str,
    pub api_key: &'a Secret,
}

/// A payment method, as named in `/api/transactioncreate/{method}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Qris,
    BniVa,
    BriVa,
    CimbNiagaVa,
    PermataVa,
    MaybankVa,
    BncVa,
    SampoernaVa,
    ArthaGrahaVa,
    AtmBersamaVa,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Qris => "qris",
            Self::BniVa => "bni_va",
            Self::BriVa => "bri_va",
            Self::CimbNiagaVa => "cimb_niaga_va",
            Self::PermataVa => "permata_va",
            Self::MaybankVa => "maybank_va",
            Self::BncVa => "bnc_va",
            Self::SampoernaVa => "sampoerna_va",
            Self::ArthaGrahaVa => "artha_graha_va",
            Self::AtmBersamaVa => "atm_bersama_va",
        }
    }
}

/// A created transaction, every field exactly as Pakasir returned it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Invoice {
    pub project: String,
    pub order_id: String,
    /// The base amount; `detail`, `cancel` and the webhook all use this one.
    pub amount: i64,
    pub fee: i64,
    /// What the customer pays, and what the QRIS payload's tag 54 says.
    pub total_payment: i64,
    pub payment_method: String,
    /// The QRIS payload for `qris`, the VA number otherwise.
    pub payment_number: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expired_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum PaymentStatus {
    Completed,
    Pending,
    Expired,
    Cancelled,
    Other(String),
}

impl PaymentStatus {
    /// Reads Pakasir's status word; both spellings of "cancelled" are in use.
    pub fn parse(status: &str) -> Self {
        match status.to_ascii_lowercase().as_str() {
            "completed" => Self::Completed,
            "pending" => Self::Pending,
            "expired" => Self::Expired,
            "cancelled" | "canceled" => Self::Cancelled,
            _ => Self::Other(status.to_owned()),
        }
    }
}

impl From<String> for PaymentStatus {
    fn from(status: String) -> Self {
        Self::parse(&status)
    }
}

/// A transaction as `transactiondetail` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Transaction {
    /// The base amount, as for [`Invoice::amount`].
    pub amount: i64,
    pub order_id: String,
    pub project: String,
    pub status: PaymentStatus,
    pub payment_method: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub completed_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub is_sandbox: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PakasirError {
    /// Pakasir refused the request; trying again will not help.
    #[error("Pakasir rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// Pakasir could not be reached or kept failing; a later try may succeed.
    #[error("Pakasir is unavailable: {reason}")]
    Unavailable { reason: String },
    /// The request was refused before sending, or the answer could not be understood.
    #[error("invalid Pakasir data: {0}")]
    Invalid(String),
}

impl PakasirError {
    /// Replaces every occurrence of the key, in case a server or library echoed it.
    fn redact(mut self, api_key: &str) -> Self {
        let (Self::Rejected { message: text, .. }
        | Self::Unavailable { reason: text }
        | Self::Invalid(text)) = &mut self;
        *text = redact(std::mem::take(text), api_key);
        self
    }
}

fn redact(text: String, api_key: &str) -> String {
    match api_key.is_empty() || !text.contains(api_key) {
        true => text,
        false => text.replace(api_key, "***"),
    }
}

/// The four fields every endpoint takes, as JSON body or query string.
#[derive(Serialize)]
struct Params<'a> {
    project: &'a str,
    order_id: &'a str,
    amount: i64,
    api_key: &'a str,
}

#[derive(Deserialize)]
struct CreateAnswer {
    payment: Invoice,
}

#[derive(Deserialize)]
struct DetailAnswer {
    transaction: Transaction,
}

/// What one attempt came to.
enum Attempt {
    Done(Vec<u8>),
    /// Worth another try, after the server's `Retry-After` if it gave one.
    Retry(String, Option<Duration>),
    Fail(PakasirError),
}

impl PakasirClient {
    pub fn new(http: reqwest::Client, base_url: &str) -> Self {
        let base_url = base_url.trim_end_matches('/').to_owned();
        Self {
            http,
            base_url,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Sets the per-request timeout (15 s by default); tests use a short one.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Creates a transaction. Pakasir answers the same transaction again when the same
    /// order id and amount are created twice, so a retried create does not double-charge.
    pub async fn create(
        &self,
        creds: &Credentials<'_>,
        method: Method,
        order_id: &str,
        amount: i64,
    ) -> Result<Invoice, PakasirError> {
        let path = format!("/api/transactioncreate/{}", method.as_str());
        let body = self
            .call(HttpMethod::POST, &path, creds, order_id, amount)
            .await?;
        decode::<CreateAnswer>(&path, &body, creds).map(|answer| answer.payment)
    }

    /// Reads a transaction's status; `amount` is the base amount it was created with.
    pub async fn detail(
        &self,
        creds: &Credentials<'_>,
        order_id: &str,
        amount: i64,
    ) -> Result<Transaction, PakasirError> {
        let path = "/api/transactiondetail";
        let body = self
            .call(HttpMethod::GET, path, creds, order_id, amount)
            .await?;
        decode::<DetailAnswer>(path, &body, creds).map(|answer| answer.transaction)
    }

    /// Asks Pakasir to cancel a pending transaction. The answer's shape is undocumented, so
    /// only its status counts; confirm the outcome with [`PakasirClient::detail`].
    pub async fn cancel(
        &self,
        creds: &Credentials<'_>,
        order_id: &str,
        amount: i64,
    ) -> Result<(), PakasirError> {
        let path = "/api/transactioncancel";
        self.call(HttpMethod::POST, path, creds, order_id, amount)
            .await
            .map(drop)
    }

    /// Marks a sandbox transaction paid, which makes Pakasir fire the webhook. The answer is
    /// opaque, as for [`PakasirClient::cancel`].
    pub async fn simulate(
        &self,
        creds: &Credentials<'_>,
        order_id: &str,
        amount: i64,
    ) -> Result<(), PakasirError> {
        let path = "/api/paymentsimulation";
        self.call(HttpMethod::POST, path, creds, order_id, amount)
            .await
            .map(drop)
    }

    /// The hosted payment page, limited to QRIS, for customers who cannot scan the photo.
    pub fn payment_page_url(&self, project: &str, order_id: &str, amount: i64) -> String {
        format!(
            "{}/pay/{}/{amount}?order_id={}&qris_only=1",
            self.base_url,
            encode(project),
            encode(order_id),
        )
    }

    /// Validates, sends with retries, and returns the body of a 2xx answer.
    async fn call(
        &self,
        verb: HttpMethod,
        path: &str,
        creds: &Credentials<'_>,
        order_id: &str,
        amount: i64,
    ) -> Result<Vec<u8>, PakasirError> {
        validate(creds.project, order_id, amount)?;
        let params = Params {
            project: creds.project,
            order_id,
            amount,
            api_key: creds.api_key.expose(),
        };
        let url = format!("{}{path}", self.base_url);
        let build = || {
            let request = self.http.request(verb.clone(), &url).timeout(self.timeout);
            match verb {
                HttpMethod::GET => request.query(&params),
                _ => request.json(&params),
            }
        };
        self.send(path, &params, build).await
    }

    /// Runs the attempts; every reason is scrubbed of the key before it is logged or returned.
    async fn send(
        &self,
        path: &str,
        params: &Params<'_>,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Vec<u8>, PakasirError> {
        let (order_id, api_key) = (params.order_id, params.api_key);
        let mut backoffs = BACKOFF.iter();
        loop {
            let (reason, after) = match attempt(build()).await {
                Attempt::Done(body) => return Ok(body),
                Attempt::Fail(err) => return Err(err.redact(api_key)),
                Attempt::Retry(reason, after) => (redact(reason, api_key), after),
            };
            let Some(&backoff) = backoffs.next() else {
                return Err(PakasirError::Unavailable { reason });
            };
            let delay = after.unwrap_or(backoff).min(MAX_RETRY_AFTER);
            tracing::warn!(path, order_id, ?delay, %reason, "Pakasir call failed, retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

/// Sends one request and sorts the outcome into done, retry or fail.
async fn attempt(request: RequestBuilder) -> Attempt {
    let response = match request.send().await {
        Ok(response) => response,
        // A builder error (such as a malformed base URL) will not fix itself.
        Err(err) if err.is_builder() => return Attempt::Fail(unavailable(err)),
        Err(err) => return Attempt::Retry(transport_reason(err), None),
    };
    let status = response.status();
    let after = retry_after(&response);
    let body = match response.bytes().await {
        Ok(body) => body.to_vec(),
        Err(err) => return Attempt::Retry(transport_reason(err), None),
    };
    if status.is_success() {
        return Attempt::Done(body);
    }
    let message = error_message(status, &body);
    match status.as_u16() {
        429 | 502 | 503 | 504 => Attempt::Retry(format!("HTTP {status}: {message}"), after),
        // Other server errors are the gateway's fault rather than a refusal, but are not
        // documented as transient, so they are reported at once.
        500..=599 => Attempt::Fail(PakasirError::Unavailable {
            reason: format!("HTTP {status}: {message}"),
        }),
        status => Attempt::Fail(PakasirError::Rejected { status, message }),
    }
}

/// `Retry-After` in seconds; the HTTP-date form is ignored and the default backoff used.
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse().ok().map(Duration::from_secs)
}

/// Pakasir's error text from a JSON `message` (or `error`) field, else the status reason.
fn error_message(status: StatusCode, body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name| json.as_ref()?.get(name)?.as_str().map(str::to_owned);
    let reason = status.canonical_reason().unwrap_or("no reason given");
    field("message")
        .or_else(|| field("error"))
        .unwrap_or_else(|| reason.to_owned())
}

/// Describes a transport failure without the URL, whose query string may hold the key.
fn transport_reason(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut reason = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    reason
}

fn unavailable(err: reqwest::Error) -> PakasirError {
    PakasirError::Unavailable {
        reason: transport_reason(err),
    }
}

/// Refuses what Pakasir would refuse, before a request is sent.
fn validate(project: &str, order_id: &str, amount: i64) -> Result<(), PakasirError> {
    if project.is_empty() {
        return Err(PakasirError::Invalid("the Pakasir project is empty".into()));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '~' | '-');
    if !(5..=64).contains(&order_id.len()) || !order_id.chars().all(allowed) {
        return Err(PakasirError::Invalid(format!(
            "order id {order_id:?} must be 5 to 64 characters of A-Z a-z 0-9 _ . ~ -"
        )));
    }
    if amount < MIN_AMOUNT {
        return Err(PakasirError::Invalid(format!(
            "amount {amount} is below Pakasir's minimum of {MIN_AMOUNT}"
        )));
    }
    Ok(())
}

fn decode<T: DeserializeOwned>(
    path: &str,
    body: &[u8],
    creds: &Credentials<'_>,
) -> Result<T, PakasirError> {
    serde_json::from_slice(body).map_err(|err| {
        PakasirError::Invalid(format!("unexpected answer from {path}: {err}"))
            .redact(creds.api_key.expose())
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    value
        .bytes()
        .fold(String::with_capacity(value.len()), |mut out, byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
            out
        })
}

/// `completed_at` is informational: an odd value is logged and dropped rather than turning a
/// completed payment into an error that would hold back its delivery.
fn lenient_time<'de, D: Deserializer<'de>>(de: D) -> Result<Option<OffsetDateTime>, D::Error> {
    let text = Option::<String>::deserialize(de)?;
    Ok(text.as_deref().and_then(parse_completed_at))
}

fn parse_completed_at(value: &str) -> Option<OffsetDateTime> {
    let parsed = OffsetDateTime::parse(value, &Rfc3339);
    parsed
        .inspect_err(|err| {
            if !value.is_empty() {
                tracing::warn!(value, %err, "unreadable completed_at from Pakasir");
            }
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_cover_both_spellings_of_cancelled() {
        assert_eq!(PaymentStatus::parse("cancelled"), PaymentStatus::Cancelled);
        assert_eq!(PaymentStatus::parse("canceled"), PaymentStatus::Cancelled);
        assert_eq!(PaymentStatus::parse("COMPLETED"), PaymentStatus::Completed);
        assert_eq!(PaymentStatus::parse("x"), PaymentStatus::Other("x".into()));
    }

    #[test]
    fn validation_follows_pakasirs_rules() {
        assert!(validate("toko", "INV-1.a~_", 500).is_ok());
        let long = "x".repeat(65);
        for (project, order_id, amount) in [
            ("toko", "INV1", 500),
            ("toko", long.as_str(), 500),
            ("toko", "INV 123", 500),
            ("toko", "INV123", 499),
            ("", "INV123", 500),
        ] {
            let result = validate(project, order_id, amount);
            assert!(
                matches!(result, Err(PakasirError::Invalid(_))),
                "{order_id}"
            );
        }
    }

    #[test]
    fn answers_keep_the_documented_examples() {
        let body = br#"{"payment":{"project":"depodomain","order_id":"INV123123","amount":99000,
            "fee":1003,"total_payment":100003,"payment_method":"qris",
            "payment_number":"000201","expired_at":"2025-09-19T01:18:49.678622564Z"}}"#;
        let key = Secret::new("k".to_owned());
        let creds = Credentials {
            project: "depodomain",
            api_key: &key,
        };
        let invoice = decode::<CreateAnswer>("/create", body, &creds).map(|a| a.payment);
        let invoice = invoice.expect("parses");
        assert_eq!((invoice.fee, invoice.total_payment), (1003, 100_003));
        assert_eq!(invoice.expired_at.nanosecond(), 678_622_564);

        let body = br#"{"transaction":{"amount":22000,"order_id":"240910HDE7C9","project":"p",
            "status":"completed","payment_method":"qris",
            "completed_at":"2024-09-10T08:07:02.819+07:00"}}"#;
        let tx = decode::<DetailAnswer>("/detail", body, &creds).map(|a| a.transaction);
        let at = tx.expect("parses").completed_at.expect("has a time");
        assert_eq!((at.offset().whole_hours(), at.millisecond()), (7, 819));
        assert_eq!(parse_completed_at("yesterday"), None);
    }

    #[test]
    fn payment_page_url_is_encoded() {
        let client = PakasirClient::new(reqwest::Client::new(), "https://app.pakasir.com/");
        let url = client.payment_page_url("toko maju", "INV-1/2", 99000);
        let expected =
            "https://app.pakasir.com/pay/toko%20maju/99000?order_id=INV-1%2F2&qris_only=1";
        assert_eq!(url, expected);
    }

    #[test]
    fn redaction_scrubs_the_key() {
        let err = PakasirError::Unavailable {
            reason: "bad key sk-1".into(),
        };
        assert_eq!(
            err.redact("sk-1").to_string(),
            "Pakasir is unavailable: bad key ***"
        );
    }
}

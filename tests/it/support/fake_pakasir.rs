//! A fake Pakasir server for the integration tests.
//!
//! It follows `shared/reference/pakasir.md`: the four endpoints with the documented request
//! and answer shapes, the fee table, idempotent creates, sandbox payment simulation that fires
//! the project's webhook, and JSON errors with a `message`. Tests drive what the real gateway
//! does on its own (a customer paying, an invoice expiring, a webhook lost or replayed) and
//! inject the failures it produces in production (rate limits, outages, slow answers).

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{Value, json};
use time::format_description::StaticFormatDescription;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, UtcOffset};
// The one line that names the crate under test.
use tokobot::pakasir::qris::build_test_payload;

/// `expired_at` as Pakasir writes it: UTC with nanoseconds.
const EXPIRED_AT: StaticFormatDescription =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");
/// `completed_at` as Pakasir writes it is Jakarta time with milliseconds, then `+07:00`.
const JAKARTA_MILLIS: StaticFormatDescription =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]");
const JAKARTA: UtcOffset = offset!(+7);
const METHODS: [&str; 10] = [
    "qris",
    "bni_va",
    "bri_va",
    "cimb_niaga_va",
    "permata_va",
    "maybank_va",
    "bnc_va",
    "sampoerna_va",
    "artha_graha_va",
    "atm_bersama_va",
];

/// A failure that `FakePakasir::fail_next` makes the fake produce instead of its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FakeFailure {
    /// 429 with a `Retry-After` header.
    TooManyRequests { retry_after_secs: u64 },
    /// 500, which the client does not retry.
    ServerError,
    /// The normal answer, after this delay.
    Slow(Duration),
    /// 503, as when the gateway is down.
    Down,
}

/// A webhook the fake sent, and how the receiver answered (`None`: it could not be reached).
#[derive(Clone, Debug)]
pub struct Delivery {
    pub order_id: String,
    pub body: Value,
    pub status: Option<u16>,
}

#[derive(Clone)]
pub struct FakePakasir {
    url: String,
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<FakeState>,
    http: reqwest::Client,
}

#[derive(Default)]
struct FakeState {
    projects: HashMap<String, Project>,
    /// Keyed by (project, order id): order ids are unique per project, as at Pakasir.
    transactions: HashMap<(String, String), Tx>,
    failures: Vec<FailureRule>,
    calls: Vec<(String, Value)>,
    deliveries: Vec<Delivery>,
    expiry: Option<Duration>,
    next_va: u64,
}

struct FailureRule {
    path_contains: String,
    failure: FakeFailure,
    remaining: usize,
}

struct Project {
    api_key: String,
    webhook_url: Option<String>,
}

#[derive(Clone)]
struct Tx {
    project: String,
    order_id: String,
    method: String,
    amount: i64,
    fee: i64,
    payment_number: String,
    expired_at: OffsetDateTime,
    status: &'static str,
    completed_at: Option<OffsetDateTime>,
    /// The base amount `transactiondetail` reports when it disagrees with the transaction's
    /// own (see `FakePakasir::misreport_amount`).
    reported_amount: Option<i64>,
    /// `transactioncancel` answers success but leaves the transaction payable (see
    /// `FakePakasir::ignore_cancel`).
    ignores_cancel: bool,
}

/// The four fields every endpoint takes.
struct Params {
    project: String,
    order_id: String,
    amount: i64,
    api_key: String,
}

type Answer = (StatusCode, Value);

fn error(status: StatusCode, message: &str) -> Answer {
    (status, json!({ "message": message }))
}

impl FakePakasir {
    /// Serves the fake on a loopback port of the current runtime.
    pub async fn start() -> Self {
        let inner = Arc::new(Inner {
            state: Mutex::new(FakeState::default()),
            http: reqwest::Client::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake Pakasir binds a loopback port");
        let addr = listener.local_addr().expect("the listener has an address");
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&inner));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            url: format!("http://{addr}"),
            inner,
        }
    }

    /// The base URL to give `PakasirClient::new`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn add_project(&self, project: &str, api_key: &str) {
        let entry = Project {
            api_key: api_key.to_owned(),
            webhook_url: None,
        };
        self.state().projects.insert(project.to_owned(), entry);
    }

    /// The URL the project's webhook goes to, as set in Pakasir's dashboard.
    pub fn set_webhook_url(&self, project: &str, url: &str) {
        let mut state = self.state();
        let entry = state.projects.get_mut(project);
        let entry = entry.unwrap_or_else(|| panic!("add_project({project:?}) first"));
        entry.webhook_url = Some(url.to_owned());
    }

    /// How long new transactions stay payable (30 minutes by default).
    pub fn set_expiry(&self, validity: Duration) {
        self.state().expiry = Some(validity);
    }

    /// The next `times` requests whose path (with its query) contains `path_contains` fail
    /// this way.
    pub fn fail_next(&self, path_contains: &str, failure: FakeFailure, times: usize) {
        let path_contains = path_contains.to_owned();
        let rule = FailureRule {
            path_contains,
            failure,
            remaining: times,
        };
        self.state().failures.push(rule);
    }

    /// Every request received, including those answered with an injected failure, as
    /// ("POST /api/...", the JSON body or the query parameters; `null` when unreadable).
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.state().calls.clone()
    }

    /// Every webhook sent so far, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state().deliveries.clone()
    }

    /// The transaction's status, `None` when no project has this order id.
    pub fn status_of(&self, order_id: &str) -> Option<String> {
        let mut state = self.state();
        state.find(order_id).map(|tx| tx.status.to_owned())
    }

    /// The customer pays, but the webhook is lost: only `detail` can tell.
    pub fn pay(&self, order_id: &str) {
        self.update(order_id, |tx| tx.complete());
    }

    /// From now on `transactiondetail` reports another base amount for the transaction than the
    /// one it was created (and is still looked up) with: a record that disagrees with ours.
    pub fn misreport_amount(&self, order_id: &str, amount: i64) {
        self.update(order_id, |tx| tx.reported_amount = Some(amount));
    }

    /// From now on `transactioncancel` answers success for the transaction but leaves it
    /// pending: a record that stays payable where ours ends.
    pub fn ignore_cancel(&self, order_id: &str) {
        self.update(order_id, |tx| tx.ignores_cancel = true);
    }

    /// The invoice runs out without payment.
    pub fn expire(&self, order_id: &str) {
        self.update(order_id, |tx| tx.status = "expired");
    }

    /// The webhook body Pakasir would send for the transaction's current state.
    pub fn webhook_body(&self, order_id: &str) -> Value {
        let mut state = self.state();
        let tx = state
            .find(order_id)
            .unwrap_or_else(|| panic!("no transaction {order_id}"));
        tx.webhook_body()
    }

    /// Sends the webhook for the current state again (a replay) and returns the receiver's
    /// status, or an error when no URL is set or the receiver cannot be reached.
    pub async fn fire_webhook(&self, order_id: &str) -> Result<u16, String> {
        let (project, body) = {
            let mut state = self.state();
            let tx = state
                .find(order_id)
                .ok_or_else(|| format!("no transaction {order_id}"))?;
            (tx.project.clone(), tx.webhook_body())
        };
        deliver(&self.inner, &project, order_id, body).await
    }

    fn update(&self, order_id: &str, change: impl FnOnce(&mut Tx)) {
        let mut state = self.state();
        let tx = state
            .find(order_id)
            .unwrap_or_else(|| panic!("no transaction {order_id}"));
        change(tx);
    }

    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.inner.state()
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FakeState {
    /// The transaction with this order id in whichever project has it; test helpers only.
    fn find(&mut self, order_id: &str) -> Option<&mut Tx> {
        let mut found = self
            .transactions
            .values_mut()
            .filter(|tx| tx.order_id == order_id);
        let tx = found.next()?;
        assert!(
            found.next().is_none(),
            "order id {order_id} is used by several projects"
        );
        Some(tx.refresh())
    }

    /// Takes one use of the first failure rule matching the path.
    fn take_failure(&mut self, path: &str) -> Option<FakeFailure> {
        let matches = |rule: &&mut FailureRule| {
            rule.remaining > 0 && path.contains(rule.path_contains.as_str())
        };
        let rule = self.failures.iter_mut().find(matches)?;
        rule.remaining -= 1;
        Some(rule.failure)
    }

    fn authorize(&self, params: &Params) -> Result<(), Answer> {
        match self.projects.get(&params.project) {
            Some(project) if project.api_key == params.api_key => Ok(()),
            _ => Err(error(StatusCode::UNAUTHORIZED, "Unauthorized")),
        }
    }

    /// The transaction for these parameters, which must repeat the base amount.
    fn lookup(&mut self, params: &Params) -> Result<&mut Tx, Answer> {
        let key = (params.project.clone(), params.order_id.clone());
        let tx = self.transactions.get_mut(&key);
        let tx = tx.ok_or_else(|| error(StatusCode::NOT_FOUND, "transaction not found"))?;
        if tx.amount != params.amount {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "amount does not match the transaction",
            ));
        }
        Ok(tx.refresh())
    }
}

impl Tx {
    /// Pending transactions past `expired_at` are expired, as Pakasir reports them.
    fn refresh(&mut self) -> &mut Self {
        if self.status == "pending" && OffsetDateTime::now_utc() >= self.expired_at {
            self.status = "expired";
        }
        self
    }

    fn complete(&mut self) {
        self.status = "completed";
        self.completed_at = Some(OffsetDateTime::now_utc());
    }

    fn completed_at(&self) -> Value {
        let format = |at: OffsetDateTime| at.to_offset(JAKARTA).format(JAKARTA_MILLIS);
        let text = self.completed_at.map(format).transpose();
        text.expect("a current time formats")
            .map_or(Value::Null, |text| json!(text + "+07:00"))
    }

    fn payment(&self) -> Value {
        json!({ "payment": {
            "project": self.project,
            "order_id": self.order_id,
            "amount": self.amount,
            "fee": self.fee,
            "total_payment": self.amount + self.fee,
            "payment_method": self.method,
            "payment_number": self.payment_number,
            "expired_at": self.expired_at.format(EXPIRED_AT).expect("a current time formats"),
        }})
    }

    fn transaction(&self) -> Value {
        json!({ "transaction": {
            "amount": self.reported_amount.unwrap_or(self.amount),
            "order_id": self.order_id,
            "project": self.project,
            "status": self.status,
            "payment_method": self.method,
            "completed_at": self.completed_at(),
            "is_sandbox": true,
        }})
    }

    fn webhook_body(&self) -> Value {
        let mut body = json!({
            "amount": self.amount,
            "order_id": self.order_id,
            "project": self.project,
            "status": self.status,
            "payment_method": self.method,
            "is_sandbox": true,
        });
        if self.completed_at.is_some() {
            body["completed_at"] = self.completed_at();
        }
        body
    }
}

/// The fee from the pricing table, in integer rupiah rounded down.
fn fee(method: &str, amount: i64) -> i64 {
    match method {
        "qris" if amount <= 105_000 => amount * 7 / 1000 + 310,
        "qris" => amount / 100,
        "sampoerna_va" | "artha_graha_va" => 2000,
        _ => 3500,
    }
}

fn valid_order_id(order_id: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '~' | '-');
    (5..=64).contains(&order_id.len()) && order_id.chars().all(allowed)
}

/// Every request lands here, so recording and failure injection apply to all of them.
async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let input = if method == Method::GET {
        let query = Query::<HashMap<String, String>>::try_from_uri(&uri);
        query.map_or(Value::Null, |Query(map)| json!(map))
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let failure = {
        let mut state = inner.state();
        state
            .calls
            .push((format!("{method} {path}"), input.clone()));
        // The query is matched too, so a rule can single out one project's detail calls.
        state.take_failure(&uri.to_string())
    };
    let (status, body) = match failure {
        Some(FakeFailure::TooManyRequests { retry_after_secs }) => {
            let (status, body) = error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
            let retry_after = [(header::RETRY_AFTER, retry_after_secs.to_string())];
            return (status, retry_after, Json(body)).into_response();
        }
        Some(FakeFailure::ServerError) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        Some(FakeFailure::Down) => error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
        Some(FakeFailure::Slow(delay)) => {
            // The work is done at once and only the answer is late, as when Pakasir created
            // a transaction but the client gave up waiting for the answer.
            let answer = route(&inner, &method, &path, &input);
            tokio::time::sleep(delay).await;
            answer
        }
        None => route(&inner, &method, &path, &input),
    };
    (status, Json(body)).into_response()
}

fn route(inner: &Arc<Inner>, method: &Method, path: &str, input: &Value) -> Answer {
    let create_method = path.strip_prefix("/api/transactioncreate/");
    let endpoint = match (method.as_str(), path, create_method) {
        ("POST", _, Some(pay_method)) => Endpoint::Create(pay_method),
        ("GET", "/api/transactiondetail", _) => Endpoint::Detail,
        ("POST", "/api/transactioncancel", _) => Endpoint::Cancel,
        ("POST", "/api/paymentsimulation", _) => Endpoint::Simulate,
        _ => return error(StatusCode::NOT_FOUND, "not found"),
    };
    let result = params(input).and_then(|params| match endpoint {
        Endpoint::Create(pay_method) => create(inner, pay_method, &params),
        Endpoint::Detail => detail(inner, &params),
        Endpoint::Cancel => cancel(inner, &params),
        Endpoint::Simulate => simulate(inner, &params),
    });
    result.unwrap_or_else(|answer| answer)
}

enum Endpoint<'a> {
    Create(&'a str),
    Detail,
    Cancel,
    Simulate,
}

/// Reads the four fields from a JSON body or a query string (where the amount is text).
fn params(input: &Value) -> Result<Params, Answer> {
    if !input.is_object() {
        let message = "expected a JSON object with project, order_id, amount and api_key";
        return Err(error(StatusCode::BAD_REQUEST, message));
    }
    let text = |name: &str| match input.get(name) {
        Some(Value::String(value)) => Ok(value.clone()),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            &format!("{name} is required"),
        )),
    };
    let amount = match input.get("amount") {
        Some(Value::Number(number)) => number.as_i64(),
        Some(Value::String(text)) => text.parse().ok(),
        _ => None,
    };
    let amount =
        amount.ok_or_else(|| error(StatusCode::BAD_REQUEST, "amount must be an integer"))?;
    Ok(Params {
        project: text("project")?,
        order_id: text("order_id")?,
        amount,
        api_key: text("api_key")?,
    })
}

fn create(inner: &Inner, method: &str, params: &Params) -> Result<Answer, Answer> {
    let mut state = inner.state();
    state.authorize(params)?;
    if !METHODS.contains(&method) {
        return Err(error(StatusCode::BAD_REQUEST, "unsupported payment method"));
    }
    if params.amount < 500 {
        return Err(error(StatusCode::BAD_REQUEST, "minimum amount is 500"));
    }
    if !valid_order_id(&params.order_id) {
        return Err(error(StatusCode::BAD_REQUEST, "invalid order_id"));
    }
    let key = (params.project.clone(), params.order_id.clone());
    if let Some(tx) = state.transactions.get(&key) {
        if tx.amount != params.amount {
            let message = "order_id already exists with a different amount";
            return Err(error(StatusCode::BAD_REQUEST, message));
        }
        return Ok((StatusCode::OK, tx.payment()));
    }
    let fee = fee(method, params.amount);
    let payment_number = if method == "qris" {
        build_test_payload(&params.project, params.amount + fee)
    } else {
        state.next_va += 1;
        format!("8808{:012}", state.next_va)
    };
    let validity = state.expiry.unwrap_or(Duration::from_secs(30 * 60));
    let tx = Tx {
        project: params.project.clone(),
        order_id: params.order_id.clone(),
        method: method.to_owned(),
        amount: params.amount,
        fee,
        payment_number,
        expired_at: OffsetDateTime::now_utc() + validity,
        status: "pending",
        completed_at: None,
        reported_amount: None,
        ignores_cancel: false,
    };
    let answer = tx.payment();
    state.transactions.insert(key, tx);
    Ok((StatusCode::OK, answer))
}

fn detail(inner: &Inner, params: &Params) -> Result<Answer, Answer> {
    let mut state = inner.state();
    state.authorize(params)?;
    Ok((StatusCode::OK, state.lookup(params)?.transaction()))
}

fn cancel(inner: &Inner, params: &Params) -> Result<Answer, Answer> {
    let mut state = inner.state();
    state.authorize(params)?;
    let tx = state.lookup(params)?;
    match tx.status {
        "pending" if tx.ignores_cancel => {}
        "pending" => tx.status = "cancelled",
        "completed" => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "transaction already completed",
            ));
        }
        // Cancelling an expired or cancelled transaction changes nothing and is no error.
        _ => {}
    }
    Ok((StatusCode::OK, json!({ "success": true })))
}

/// Marks the transaction paid and fires the project's webhook in the background, as
/// Pakasir's sandbox does: the answer does not wait for the delivery.
fn simulate(inner: &Arc<Inner>, params: &Params) -> Result<Answer, Answer> {
    let (project, body) = {
        let mut state = inner.state();
        state.authorize(params)?;
        let tx = state.lookup(params)?;
        if tx.status != "pending" {
            let message = format!("transaction is {}", tx.status);
            return Err(error(StatusCode::BAD_REQUEST, &message));
        }
        tx.complete();
        (tx.project.clone(), tx.webhook_body())
    };
    let inner = Arc::clone(inner);
    let order_id = params.order_id.clone();
    tokio::spawn(async move { deliver(&inner, &project, &order_id, body).await });
    Ok((
        StatusCode::OK,
        json!({ "success": true, "message": "payment simulated" }),
    ))
}

/// POSTs one webhook body to the project's URL and records the delivery.
async fn deliver(inner: &Inner, project: &str, order_id: &str, body: Value) -> Result<u16, String> {
    let url = inner
        .state()
        .projects
        .get(project)
        .and_then(|p| p.webhook_url.clone());
    let url = url.ok_or_else(|| format!("project {project} has no webhook URL"))?;
    let result = inner
        .http
        .post(&url)
        .json(&body)
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let status = result
        .as_ref()
        .ok()
        .map(|response| response.status().as_u16());
    let order_id = order_id.to_owned();
    inner.state().deliveries.push(Delivery {
        order_id,
        body,
        status,
    });
    result
        .map(|response| response.status().as_u16())
        .map_err(|err| err.without_url().to_string())
}

//! The Pakasir stand-in: `transactioncreate`, `transactiondetail` and `transactioncancel`
//! answered as Pakasir answers them (shared/reference/pakasir.md), with a QRIS payload whose
//! checksum the host verifies. The benchmark plays the customer who pays: [`Pakasir::pay`]
//! marks a transaction completed, after which `transactiondetail` says so, as at Pakasir.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::StatusCode,
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};
use time::{
    OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339, macros::format_description,
};

#[derive(Clone)]
pub struct Pakasir {
    url: String,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Keyed by (project, order id), as order ids are unique per project.
    transactions: Mutex<HashMap<(String, String), Tx>>,
    calls: AtomicU64,
}

struct Tx {
    amount: i64,
    method: String,
    status: &'static str,
    completed_at: Option<OffsetDateTime>,
}

/// The four fields every endpoint takes, from a JSON body or a query string.
#[derive(Deserialize)]
struct Params {
    project: String,
    order_id: String,
    #[serde(deserialize_with = "amount")]
    amount: i64,
}

type Answer = (StatusCode, Json<Value>);

impl Pakasir {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared::default());
        let router = Router::new()
            .route("/api/transactioncreate/{method}", post(create))
            .route("/api/transactiondetail", get(detail))
            .route("/api/transactioncancel", post(cancel))
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(Self { url, shared })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn calls(&self) -> u64 {
        self.shared.calls.load(Ordering::Relaxed)
    }

    /// The customer pays: from now on the transaction is completed. Returns the webhook body
    /// Pakasir would post, or `None` when there is no such pending transaction.
    pub fn pay(&self, project: &str, order_id: &str) -> Option<Value> {
        let mut transactions = lock(&self.shared.transactions);
        let tx = transactions.get_mut(&(project.to_owned(), order_id.to_owned()))?;
        if tx.status != "pending" {
            return None;
        }
        tx.status = "completed";
        let now = OffsetDateTime::now_utc();
        tx.completed_at = Some(now);
        Some(json!({
            "amount": tx.amount, "order_id": order_id, "project": project,
            "status": "completed", "payment_method": tx.method,
            "completed_at": jakarta(now),
        }))
    }
}

async fn create(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    body: Bytes,
) -> Answer {
    shared.calls.fetch_add(1, Ordering::Relaxed);
    let Ok(params) = serde_json::from_slice::<Params>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "project, order_id, amount and api_key are required",
        );
    };
    if params.amount < 500 {
        return error(StatusCode::BAD_REQUEST, "minimum amount is 500");
    }
    let fee = match method.as_str() {
        "qris" if params.amount <= 105_000 => params.amount * 7 / 1000 + 310,
        "qris" => params.amount / 100,
        _ => 3500,
    };
    let key = (params.project.clone(), params.order_id.clone());
    let mut transactions = lock(&shared.transactions);
    if let Some(tx) = transactions.get(&key)
        && tx.amount != params.amount
    {
        return error(
            StatusCode::BAD_REQUEST,
            "order_id already exists with a different amount",
        );
    }
    transactions.entry(key).or_insert_with(|| Tx {
        amount: params.amount,
        method: method.clone(),
        status: "pending",
        completed_at: None,
    });
    drop(transactions);
    let expired_at = OffsetDateTime::now_utc() + time::Duration::minutes(30);
    let expired_at = expired_at
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
        ))
        .unwrap_or_default();
    let payment_number = if method == "qris" {
        tokobot::pakasir::qris::build_test_payload(&params.project, params.amount + fee)
    } else {
        "8808000000000001".to_owned()
    };
    (
        StatusCode::OK,
        Json(json!({ "payment": {
            "project": params.project, "order_id": params.order_id, "amount": params.amount,
            "fee": fee, "total_payment": params.amount + fee, "payment_method": method,
            "payment_number": payment_number, "expired_at": expired_at,
        }})),
    )
}

async fn detail(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Answer {
    shared.calls.fetch_add(1, Ordering::Relaxed);
    let Ok(Query(params)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "project, order_id, amount and api_key are required",
        );
    };
    let transactions = lock(&shared.transactions);
    let Some(tx) = transactions.get(&(params.project.clone(), params.order_id.clone())) else {
        return error(StatusCode::NOT_FOUND, "transaction not found");
    };
    if tx.amount != params.amount {
        return error(
            StatusCode::BAD_REQUEST,
            "amount does not match the transaction",
        );
    }
    let completed_at = tx.completed_at.map_or(Value::Null, |at| json!(jakarta(at)));
    (
        StatusCode::OK,
        Json(json!({ "transaction": {
            "amount": tx.amount, "order_id": params.order_id, "project": params.project,
            "status": tx.status, "payment_method": tx.method, "completed_at": completed_at,
            "is_sandbox": true,
        }})),
    )
}

async fn cancel(State(shared): State<Arc<Shared>>, body: Bytes) -> Answer {
    shared.calls.fetch_add(1, Ordering::Relaxed);
    let Ok(params) = serde_json::from_slice::<Params>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "project, order_id, amount and api_key are required",
        );
    };
    let mut transactions = lock(&shared.transactions);
    let Some(tx) = transactions.get_mut(&(params.project, params.order_id)) else {
        return error(StatusCode::NOT_FOUND, "transaction not found");
    };
    match tx.status {
        "completed" => error(StatusCode::BAD_REQUEST, "transaction already completed"),
        _ => {
            if tx.status == "pending" {
                tx.status = "cancelled";
            }
            (StatusCode::OK, Json(json!({ "success": true })))
        }
    }
}

/// `completed_at` as Pakasir writes it: Jakarta time with milliseconds and `+07:00`.
fn jakarta(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::from_hms(7, 0, 0).expect("a valid offset"));
    let at = at
        .replace_nanosecond(at.millisecond() as u32 * 1_000_000)
        .unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_default()
}

fn error(status: StatusCode, message: &str) -> Answer {
    (status, Json(json!({ "message": message })))
}

/// The amount is a number in a JSON body and text in a query string.
fn amount<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| serde::de::Error::custom("not an integer")),
        Value::String(s) => s.parse().map_err(serde::de::Error::custom),
        _ => Err(serde::de::Error::custom("amount must be an integer")),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

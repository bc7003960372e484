//! `POST /webhooks/pakasir/{slug}`: Pakasir says a payment completed.
//!
//! Pakasir signs nothing, so the body is a claim to check, never proof: it must name a payment
//! of this store (found through the store's own row-level security, so another store's order
//! id is unknown here) with the same project and base amount, and `transactiondetail` must say
//! `completed`. Only then is the payment settled, exactly once. Answers:
//! - 200: processed now, or processed before (a replay, answered from the database without
//!   asking Pakasir);
//! - 404: no such store, or no such payment in it;
//! - 409: the claim does not match the payment, or Pakasir says it is not completed;
//! - 429: a webhook had this payment checked less than a window ago (`verify_limit.rs`) and it
//!   is still not settled; nothing changed, and the reconciliation job settles it if it was paid
//!   (a claim that arrives while that check runs waits for it, so duplicates sent at once all
//!   get the 200 of the payment it settled);
//! - 503: the claim could not be checked (Pakasir or the database away); nothing changed,
//!   and the reconciliation job settles the payment once Pakasir answers again.
//!
//! A payment closed here (expired or cancelled) is still checked, within the same limit: a
//! customer who paid in the moment the invoice was cancelled has paid, and this webhook is how
//! the late payment is learnt.
//!
//! A suspended store's payments are processed too: the customer paid, so the money is
//! recorded and the goods are owed; the messages wait in the outbox until its bot runs again.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

use std::sync::Arc;

use tokio::sync::Mutex;

use super::{AppState, api::error::ApiError, verify_limit::Turn};
use crate::{
    pakasir::webhook,
    service::payments::{self as service, PayStore, Verdict},
    store::payments::{self, Payment, Status},
};

pub async fn webhook(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let mut known = false;
    let outcome = handle(&state, &slug, &body, &mut known).await;
    let (label, response) = match outcome {
        Ok(answer) => (answer.label(), answer.into_response()),
        Err(error) => ("error", error.into_response()),
    };
    // Only a store that exists labels a series: anyone can POST to a made-up slug, and each
    // new label value would grow /metrics (and the process) for good.
    let store = if known { slug } else { "unknown".to_owned() };
    metrics::counter!("tokobot_pakasir_webhooks_total", "store" => store, "answer" => label)
        .increment(1);
    response
}

/// What the webhook did, for the answer and the metrics.
enum Answer {
    Processed,
    AlreadyProcessed,
}

impl Answer {
    fn label(&self) -> &'static str {
        match self {
            Answer::Processed => "processed",
            Answer::AlreadyProcessed => "already_processed",
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (StatusCode::OK, Json(json!({ "status": self.label() }))).into_response()
    }
}

/// Checks and settles the claim; `known` is set once `slug` names a store.
async fn handle(
    state: &AppState,
    slug: &str,
    body: &[u8],
    known: &mut bool,
) -> Result<Answer, ApiError> {
    let unavailable = |error: anyhow::Error| {
        tracing::warn!(store = %slug, error = format!("{error:#}"), "a Pakasir webhook could not be checked");
        ApiError::Unavailable("the payment could not be verified now; it will be reconciled".into())
    };
    let store = state
        .host
        .pay_store(slug)
        .await
        .map_err(unavailable)?
        .ok_or_else(ApiError::not_found)?;
    *known = true;
    let claim = webhook::parse(body).map_err(|_| ApiError::BadRequest {
        code: "invalid_payload",
        message: "the body is not a Pakasir webhook".into(),
    })?;
    let tenant = store.ctx.tenant_id();
    let payment = async {
        let mut tx = store.ctx.db.tenant(tenant).await?;
        let payment = payments::by_gateway_id(&mut tx, &claim.order_id).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(payment)
    }
    .await
    .map_err(|e| unavailable(e.into()))?
    .ok_or_else(|| ApiError::NotFound("no payment with this order id in this store".into()))?;

    if claim.project != *store.ctx.gateway().project.expose() {
        return Err(mismatch(slug, "project"));
    }
    if claim.amount != payment.amount {
        return Err(mismatch(slug, "amount"));
    }
    if payment.status == Status::Completed {
        return Ok(Answer::AlreadyProcessed);
    }
    let _checking = match state.verify_limit.turn(tenant, payment.id) {
        Turn::Check(guard) => guard,
        Turn::Wait(lock) => return answer_from_database(state, &store, slug, &payment, lock).await,
    };
    match service::confirm(&store, &payment)
        .await
        .map_err(unavailable)?
    {
        Verdict::Settled(_) => Ok(Answer::Processed),
        Verdict::Already(_) => Ok(Answer::AlreadyProcessed),
        Verdict::NotPaid(status) => {
            tracing::warn!(store = %slug, payment = payment.id, ?status, "a webhook claimed a payment that Pakasir does not confirm");
            Err(ApiError::Conflict(
                "Pakasir does not report this payment as completed".into(),
            ))
        }
        Verdict::Mismatch(what) => Err(mismatch(slug, what)),
        Verdict::Unreachable => Err(unavailable(anyhow::anyhow!(
            "Pakasir's transactiondetail did not answer"
        ))),
    }
}

/// Answers a claim for a payment that a webhook had checked moments ago, or is checking now:
/// once that check is over (or a window has passed), from the database alone.
async fn answer_from_database(
    state: &AppState,
    store: &PayStore,
    slug: &str,
    payment: &Payment,
    checking: Arc<Mutex<()>>,
) -> Result<Answer, ApiError> {
    let window = state.verify_limit.window();
    // A check that outlives the window is not waited for any longer than that.
    let _ = tokio::time::timeout(window, checking.lock()).await;
    let now = async {
        let mut tx = store.ctx.db.tenant(store.ctx.tenant_id()).await?;
        let now = payments::get(&mut tx, payment.id).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(now)
    }
    .await
    .map_err(|error| {
        tracing::warn!(store = %slug, %error, "a Pakasir webhook could not be answered");
        ApiError::Unavailable("the payment could not be verified now; it will be reconciled".into())
    })?;
    if now.is_some_and(|p| p.status == Status::Completed) {
        return Ok(Answer::AlreadyProcessed);
    }
    tracing::info!(store = %slug, payment = payment.id, "a Pakasir webhook came again within the check window");
    Err(ApiError::RateLimited {
        message: "this payment was checked moments ago; it will be reconciled".into(),
        retry_after: window,
    })
}

fn mismatch(slug: &str, what: &str) -> ApiError {
    tracing::warn!(store = %slug, field = what, "a Pakasir webhook does not match the payment");
    ApiError::Conflict(format!("the {what} does not match the payment"))
}

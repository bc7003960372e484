//! The public HTTP server's own thread: Telegram's deliveries are answered there, and
//! everything else is handed to the host's runtime.
//!
//! Under overload both cores are busy handling updates. When the HTTP connections were polled
//! by the same runtime, a webhook request waited behind that work in the runtime's queues
//! before its route ran, and the route itself takes microseconds: at twice the sustainable
//! rate the webhook's *answer* took seconds (p99 12 s), so Telegram's delivery connections
//! became the queue the host was supposed to refuse. Here the listener, the connections and
//! the Telegram webhook route run on a single-threaded runtime of their own, so accepting or
//! refusing an update waits only for the operating system to schedule that thread, which it
//! does promptly since the thread sleeps most of the time.
//!
//! Every other route (the Pakasir webhook, the API, health and metrics) does database work or
//! long requests, and is spawned onto the host's runtime (`on_host_runtime`), so the ingress
//! thread never waits on a query. A request handed over finishes even if its client goes away
//! meanwhile, like a request that had already reached its last await.
//!
//! The body of a request handed over is read here first, whole. Were the connection's body
//! handed over instead, a handler refusing a body over its route's limit would drop it before
//! its answer reached this thread; the server would then stop reading the connection, and the
//! client, still sending, would see the connection reset instead of the 413.

use std::net::TcpListener as StdListener;

use anyhow::Context;
use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::{
    runtime::Handle,
    sync::{oneshot, watch},
};

use super::api::error::ApiError;

/// The server running on its own thread.
pub struct Ingress {
    finished: oneshot::Receiver<std::io::Result<()>>,
}

/// Serves `router` on `listener` from a thread of its own until `stopped` turns true.
pub fn serve(
    listener: StdListener,
    router: Router,
    mut stopped: watch::Receiver<bool>,
) -> anyhow::Result<Ingress> {
    listener
        .set_nonblocking(true)
        .context("cannot make the listener non-blocking")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the HTTP runtime")?;
    let (done, finished) = oneshot::channel();
    std::thread::Builder::new()
        .name("tokobot-http".into())
        .spawn(move || {
            let served = runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.changed().await;
                    })
                    .await
            });
            let _ = done.send(served);
        })
        .context("cannot start the HTTP thread")?;
    Ok(Ingress { finished })
}

impl Ingress {
    /// Waits until the server has stopped and its connections are closed.
    pub async fn finished(self) -> std::io::Result<()> {
        self.finished.await.unwrap_or_else(|_| {
            Err(std::io::Error::other(
                "the HTTP thread ended without a result",
            ))
        })
    }
}

/// The largest body any route takes (a catalog document or a stock file); each route's own
/// limit still applies to the body read.
const BODY_MAX: usize = super::api::catalog::BODY_LIMIT;

/// Runs the rest of the request on the host's runtime (`State`) and waits for its response.
pub async fn on_host_runtime(State(host): State<Handle>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, BODY_MAX).await {
        Ok(body) => body,
        Err(error) => return refused_body(error),
    };
    let request = Request::from_parts(parts, Body::from(body));
    match host.spawn(next.run(request)).await {
        Ok(response) => response,
        Err(error) => {
            // A panicking handler answers 500, as one on the server's own runtime would have
            // ended its connection; a runtime shutting down answers 503.
            if error.is_panic() {
                ApiError::Internal(anyhow::anyhow!("the handler panicked: {error}")).into_response()
            } else {
                ApiError::Unavailable("the host is stopping; retry".into()).into_response()
            }
        }
    }
}

/// A body that could not be read whole: over [`BODY_MAX`], or the client went away.
fn refused_body(error: axum::Error) -> Response {
    let too_large = error.into_inner().is::<http_body_util::LengthLimitError>();
    if too_large {
        (StatusCode::PAYLOAD_TOO_LARGE, "the body is too large").into_response()
    } else {
        ApiError::BadRequest {
            code: "bad_request",
            message: "the body could not be read".into(),
        }
        .into_response()
    }
}

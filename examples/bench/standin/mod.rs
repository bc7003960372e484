//! The stand-ins for Telegram's Bot API and for Pakasir, served from the benchmark's process
//! (never the host's), and a measurement of how many calls a second they can take.

pub mod limits;
pub mod pakasir;
pub mod telegram;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

pub use pakasir::Pakasir;
pub use telegram::Telegram;

/// How many calls a second a stand-in answers when driven as hard as the benchmark's own
/// HTTP client can (which bounds it from below: the client costs CPU too). `request` builds
/// the `n`-th client's call.
pub async fn sink_rate<F>(http: &reqwest::Client, request: F) -> f64
where
    F: Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Clone + Send + 'static,
{
    const CLIENTS: usize = 64;
    const FOR: Duration = Duration::from_millis(1500);
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers = (0..CLIENTS).map(|n| {
        let (http, request, done) = (http.clone(), request.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            while started.elapsed() < FOR {
                if let Ok(response) = request(&http, n).send().await
                    && response.bytes().await.is_ok()
                {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    });
    futures::future::join_all(workers).await;
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// The Bot API stand-in's rate, for `sendMessage` to group chats no scenario uses; its
/// counts are reset afterwards.
pub async fn telegram_sink_rate(telegram: &Telegram, http: &reqwest::Client) -> f64 {
    let url = format!("{}/bot1:standin/sendMessage", telegram.url());
    let rate = sink_rate(http, move |http, n| {
        http.post(&url)
            .header("content-type", "application/json")
            .body(format!(r#"{{"chat_id":-{},"text":"calibration"}}"#, n + 1))
    })
    .await;
    telegram.reset();
    rate
}

/// The Pakasir stand-in's rate, for `transactiondetail` of an order that does not exist.
pub async fn pakasir_sink_rate(pakasir: &Pakasir, http: &reqwest::Client) -> f64 {
    let url = format!(
        "{}/api/transactiondetail?project=calibration&order_id=none&amount=1000&api_key=k",
        pakasir.url()
    );
    sink_rate(http, move |http, _| http.get(&url)).await
}

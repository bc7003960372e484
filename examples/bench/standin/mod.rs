//! The stand-ins for Telegram's Bot API and for Pakasir, served from the benchmark's process
//! (never the host's), and a measurement of how many calls a second they can take.

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

/// How many Bot API calls a second the Telegram stand-in answers when driven as hard as the
/// benchmark's own HTTP client can (which bounds it from below: the client costs CPU too).
pub async fn sink_rate(telegram: &Telegram, http: &reqwest::Client) -> f64 {
    const CLIENTS: usize = 64;
    const FOR: Duration = Duration::from_millis(1500);
    let url = format!("{}/bot1:standin/sendMessage", telegram.url());
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers = (0..CLIENTS).map(|n| {
        let (http, url, done) = (http.clone(), url.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            // Negative chats are groups: no customer of a scenario is ever one.
            let body = format!(r#"{{"chat_id":-{},"text":"calibration"}}"#, n + 1);
            while started.elapsed() < FOR {
                let sent = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                if let Ok(response) = sent
                    && response.bytes().await.is_ok()
                {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    });
    futures::future::join_all(workers).await;
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    telegram.reset();
    rate
}

//! Supervision of the stores' dispatchers.
//!
//! A dispatcher that ends while its store should run (a panic outside the handlers, which
//! catch their own; a listener that gave up) leaves the store answering 503 to every webhook
//! for good. The supervisor looks every second, restarts such a store from the registry, and
//! backs off exponentially when the same store keeps dying, so a store that crashes at once
//! on every start costs a restart every few minutes, not a busy loop. Each restart is counted
//! (`tokobot_dispatcher_restarts_total`), and a streak of them alerts the operators.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use tokio::sync::watch;

use super::Host;
use crate::ops::alerts::{Alert, Alerts};

const LOOK_EVERY: Duration = Duration::from_secs(1);
/// The wait after the first restart of a streak; it doubles with each further one.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);
/// A restart this long after the previous one starts a new streak.
const STREAK_GAP: Duration = Duration::from_secs(15 * 60);
/// The restart of a streak that alerts the operators.
const ALERT_AT: u32 = 3;

/// One store's recent restarts.
#[derive(Debug, Default)]
struct Restarts {
    streak: u32,
    last: Option<Instant>,
    /// No restart before this.
    not_before: Option<Instant>,
}

impl Restarts {
    /// Whether a dead dispatcher may be restarted at `now`; if so, the restart is counted.
    fn admit(&mut self, now: Instant) -> bool {
        if self.not_before.is_some_and(|t| now < t) {
            return false;
        }
        let continues = self
            .last
            .is_some_and(|last| now.duration_since(last) < STREAK_GAP);
        self.streak = if continues { self.streak + 1 } else { 1 };
        self.last = Some(now);
        let wait = FIRST_BACKOFF
            .saturating_mul(1 << (self.streak - 1).min(16))
            .min(MAX_BACKOFF);
        self.not_before = Some(now + wait);
        true
    }
}

/// Restarts dead dispatchers until `stop` fires.
pub async fn run(host: Host, alerts: Option<Alerts>, mut stop: watch::Receiver<bool>) {
    let mut restarts: HashMap<String, Restarts> = HashMap::new();
    let mut tick = tokio::time::interval(LOOK_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let dead: Vec<String> = host
            .running_stores()
            .into_iter()
            .filter(|r| r.has_ended())
            .map(|r| r.ctx.tenant().slug.clone())
            .collect();
        let now = Instant::now();
        for slug in dead {
            let entry = restarts.entry(slug.clone()).or_default();
            if !entry.admit(now) {
                continue;
            }
            let streak = entry.streak;
            metrics::counter!("tokobot_dispatcher_restarts_total", "store" => slug.clone())
                .increment(1);
            tracing::error!(store = %slug, streak, "the store's dispatcher ended; restarting it");
            if let Err(error) = host.revive(&slug).await {
                tracing::warn!(store = %slug, error = format!("{error:#}"), "could not restart the store; will retry");
            }
            if streak == ALERT_AT
                && let Some(alerts) = &alerts
            {
                let text = format!(
                    "store {slug}: its dispatcher died {streak} times within minutes; it is \
                     restarted with a growing delay (see the logs of store={slug})"
                );
                alerts
                    .send(&Alert {
                        condition: "dispatcher_restarts",
                        firing: true,
                        text,
                    })
                    .await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_back_off_exponentially_and_a_quiet_store_starts_over() {
        let start = Instant::now();
        let at = |s| start + Duration::from_secs(s);
        let mut restarts = Restarts::default();
        assert!(restarts.admit(at(0)), "the first restart is at once");
        assert!(!restarts.admit(at(1)));
        assert!(restarts.admit(at(2)));
        assert!(!restarts.admit(at(5)), "then 4 s");
        assert!(restarts.admit(at(6)));
        assert_eq!(restarts.streak, 3);
        // A store that stayed up long enough starts a new streak.
        assert!(restarts.admit(at(6 + 20 * 60)));
        assert_eq!(restarts.streak, 1);
    }
}

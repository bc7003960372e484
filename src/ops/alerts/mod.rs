//! Alerts to the host's operators (SPEC §3.6): a Telegram chat (`TOKOBOT_OPERATOR_BOT_TOKEN`,
//! `TOKOBOT_OPERATOR_CHAT_ID`) and/or JSON POSTs to `TOKOBOT_ALERT_WEBHOOK_URL`.
//!
//! This module sends alerts and watches the database; [`monitor`] watches the disk, the stores
//! and their bot tokens ([`tokens`]), and tells a store's owner through their own bot as well.
//!
//! A condition alerts only once it has lasted the debounce period, so a database blip shorter
//! than that wakes nobody; once it has alerted, its end is announced. Texts name the condition
//! and never carry a secret (errors from HTTP clients are stripped of their URLs, which may hold
//! a bot token).

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::watch;

use crate::{db::Db, secret::Secret};

pub mod monitor;
pub mod tokens;

/// Where operator alerts go, how long a condition must last before it alerts, and the
/// thresholds of the host's [`monitor`].
#[derive(Clone, Debug)]
pub struct Settings {
    pub telegram: Option<(Secret, i64)>,
    pub webhook_url: Option<String>,
    pub debounce: Duration,
    /// The share of the data dir's disk in use, in percent, from which operators are alerted
    /// (`TOKOBOT_ALERT_DISK_PERCENT`).
    pub disk_percent: u8,
    /// How many failed updates of one store within `store_window` make it "failing"
    /// (`TOKOBOT_ALERT_STORE_ERRORS`).
    pub store_errors: u64,
    pub store_window: Duration,
    /// How often the watch looks.
    pub check_every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            telegram: None,
            webhook_url: None,
            debounce: Duration::from_secs(60),
            disk_percent: 90,
            store_errors: 20,
            store_window: Duration::from_secs(5 * 60),
            check_every: Duration::from_secs(15),
        }
    }
}

/// One alert or recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// A stable name of the condition, e.g. `database_unreachable`.
    pub condition: &'static str,
    /// `true` when it starts, `false` when it is over.
    pub firing: bool,
    pub text: String,
}

/// Sends alerts to every configured channel.
#[derive(Clone, Debug)]
pub struct Alerts {
    settings: Settings,
    telegram_api: String,
    http: reqwest::Client,
}

impl Alerts {
    /// `None` when no channel is configured.
    pub fn new(settings: &Settings, telegram_api: &str) -> Option<Self> {
        if settings.telegram.is_none() && settings.webhook_url.is_none() {
            return None;
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .ok()?;
        Some(Self {
            settings: settings.clone(),
            telegram_api: telegram_api.to_owned(),
            http,
        })
    }

    pub fn debounce(&self) -> Duration {
        self.settings.debounce
    }

    /// Delivers `alert` to each channel; a channel that fails is logged, never retried forever.
    pub async fn send(&self, alert: &Alert) {
        let mark = if alert.firing { "🔴" } else { "✅" };
        if let Some((token, chat)) = &self.settings.telegram {
            let url = format!("{}/bot{}/sendMessage", self.telegram_api, token.expose());
            let body = json!({"chat_id": chat, "text": format!("{mark} tokobot: {}", alert.text)});
            self.post(&url, &body, "chat").await;
        }
        if let Some(url) = &self.settings.webhook_url {
            let body = json!({
                "condition": alert.condition,
                "status": if alert.firing { "firing" } else { "resolved" },
                "text": alert.text,
            });
            self.post(url, &body, "webhook").await;
        }
    }

    /// Posts one alert as JSON to the operators' `channel` (a chat or a webhook). A failure is
    /// logged, never raised: the alert is one of several ways the operators hear of a fault.
    async fn post(&self, url: &str, body: &serde_json::Value, channel: &str) {
        if let Err(error) = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .and_then(|r| r.error_for_status())
        {
            tracing::warn!(error = %error.without_url(), channel, "cannot alert the operators");
        }
    }
}

/// What a debounced condition does on an observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Fire,
    Recover,
}

/// One condition, debounced: it fires after failing for `delay` without a break, and recovers
/// (once) when it stops failing after having fired.
#[derive(Clone, Debug)]
pub struct Debounced {
    delay: Duration,
    failing_since: Option<Instant>,
    fired: bool,
}

impl Debounced {
    pub fn new(delay: Duration) -> Self {
        Self {
            delay,
            failing_since: None,
            fired: false,
        }
    }

    pub fn observe(&mut self, failing: bool, now: Instant) -> Option<Transition> {
        if !failing {
            self.failing_since = None;
            return std::mem::take(&mut self.fired).then_some(Transition::Recover);
        }
        let since = *self.failing_since.get_or_insert(now);
        if !self.fired && now.duration_since(since) >= self.delay {
            self.fired = true;
            return Some(Transition::Fire);
        }
        None
    }
}

/// Watches the database's health (kept by `Db::watch_health`) until `stop` fires.
pub async fn watch_database(alerts: Alerts, db: Db, mut stop: watch::Receiver<bool>) {
    let mut state = Debounced::new(alerts.debounce());
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let transition = state.observe(!db.is_healthy(), Instant::now());
        let alert = match transition {
            Some(Transition::Fire) => Alert {
                condition: "database_unreachable",
                firing: true,
                text: format!(
                    "the database has been unreachable for {} s; webhooks answer 503 and Telegram keeps the updates",
                    alerts.debounce().as_secs()
                ),
            },
            Some(Transition::Recover) => Alert {
                condition: "database_unreachable",
                firing: false,
                text: "the database is reachable again".into(),
            },
            None => continue,
        };
        alerts.send(&alert).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blip_shorter_than_the_debounce_alerts_nobody_and_a_long_outage_alerts_once_then_recovers()
    {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut db = Debounced::new(Duration::from_secs(60));
        assert_eq!(db.observe(true, at(0)), None);
        assert_eq!(db.observe(true, at(30_000)), None);
        assert_eq!(db.observe(false, at(31_000)), None, "a blip");
        assert_eq!(db.observe(true, at(40_000)), None);
        assert_eq!(
            db.observe(true, at(99_000)),
            None,
            "the clock restarted after the blip"
        );
        assert_eq!(db.observe(true, at(100_000)), Some(Transition::Fire));
        assert_eq!(db.observe(true, at(200_000)), None, "once");
        assert_eq!(db.observe(false, at(201_000)), Some(Transition::Recover));
        assert_eq!(db.observe(false, at(202_000)), None);
    }
}

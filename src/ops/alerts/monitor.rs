//! The host's watch (SPEC §3.6): the disk under the data dir, stores whose updates keep
//! failing, and bot tokens Telegram stopped accepting.
//!
//! Each condition alerts once when it starts and once when it ends. A store's failures are
//! counted over a sliding window and also reach its owner through the store's own bot (an
//! outbox message). A revoked token ([`super::tokens`]) alerts the operators at once; its
//! owner and admins hear of it through the outbox too, but only once their bot runs again with
//! a new token, since the bot is the one that can no longer speak; both are written once per
//! refusal, guarded in the database, so neither repeats on later looks or after a restart.
//! While the database is down, or was within the last window, store failures are not judged:
//! every store fails then, and the database alert already says why, so a blip never turns into
//! one alert per store.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    path::Path,
    time::Instant,
};

use tokio::sync::watch;

use time::format_description::well_known::Rfc3339;

use super::{Alert, Alerts, Debounced, Settings, Transition, tokens};
use crate::{
    bot::texts::{fill, texts},
    db::TenantId,
    host::Host,
    store::outbox::{self, Message},
};

/// Runs the watch until `stop` fires; `alerts` is `None` when no operator channel is set (the
/// owners are still told).
pub async fn run(host: Host, alerts: Option<Alerts>, mut stop: watch::Receiver<bool>) {
    let settings = host.config().alerts.clone();
    let mut watch = Watch::new(host, alerts, settings);
    let mut tick = tokio::time::interval(watch.settings.check_every);
    loop {
        tokio::select! {
            _ = tick.tick() => watch.look(Instant::now()).await,
            _ = stop.changed() => return,
        }
    }
}

struct Watch {
    host: Host,
    alerts: Option<Alerts>,
    settings: Settings,
    disk: Debounced,
    stores: HashMap<String, StoreErrors>,
    /// When the database was last seen down.
    database_down: Option<Instant>,
}

/// One store's failed updates over the window.
struct StoreErrors {
    tenant: TenantId,
    /// (when, the store's failed updates so far), oldest first; the first is the baseline.
    samples: VecDeque<(Instant, u64)>,
    failing: bool,
}

impl Watch {
    fn new(host: Host, alerts: Option<Alerts>, settings: Settings) -> Self {
        Self {
            host,
            alerts,
            disk: Debounced::new(settings.debounce),
            settings,
            stores: HashMap::new(),
            database_down: None,
        }
    }

    async fn look(&mut self, now: Instant) {
        self.look_at_disk(now).await;
        let database_up = self.host.db().is_healthy();
        if !database_up {
            self.database_down = Some(now);
        }
        self.look_at_stores(now).await;
        if database_up {
            self.look_at_tokens().await;
        }
    }

    async fn operators(&self, condition: &'static str, firing: bool, text: String) {
        if let Some(alerts) = &self.alerts {
            alerts
                .send(&Alert {
                    condition,
                    firing,
                    text,
                })
                .await;
        }
    }

    async fn look_at_disk(&mut self, now: Instant) {
        let dir = self.host.config().data_dir.clone();
        let Some(used) = used_percent(&dir) else {
            return;
        };
        metrics::gauge!("tokobot_data_dir_used_ratio").set(used / 100.0);
        let full = used >= f64::from(self.settings.disk_percent);
        let text = match self.disk.observe(full, now) {
            Some(Transition::Fire) => format!(
                "the disk under {} is {used:.0}% full (alerting from {}%): backups and the \
                 database will fail when it is full",
                dir.display(),
                self.settings.disk_percent
            ),
            Some(Transition::Recover) => format!(
                "the disk under {} has room again ({used:.0}% used)",
                dir.display()
            ),
            None => return,
        };
        self.operators("disk_nearly_full", full, text).await;
    }

    async fn look_at_stores(&mut self, now: Instant) {
        let window = self.settings.store_window;
        // Errors while the database is away, or just after, are the database's: start
        // counting afresh once it has been back for a whole window.
        let quiet = self
            .database_down
            .is_some_and(|down| now.duration_since(down) < window);
        let running = self.host.running_stores();
        let present: HashSet<String> = running
            .iter()
            .map(|r| r.ctx.tenant().slug.clone())
            .collect();
        self.stores.retain(|slug, _| present.contains(slug));
        let mut changes = Vec::new();
        for store in running {
            let tenant = store.ctx.tenant();
            let errors = store.ctx.handler_errors();
            let entry = self
                .stores
                .entry(tenant.slug.clone())
                .or_insert_with(|| StoreErrors {
                    tenant: tenant.id,
                    // A store's count starts at zero when it starts, which is at most a look
                    // ago: failures made before this first look count too.
                    samples: VecDeque::from([(now, 0)]),
                    failing: false,
                });
            if quiet {
                entry.samples.clear();
            }
            entry.samples.push_back((now, errors));
            // Keep one sample at or before the window's start as the baseline.
            while entry
                .samples
                .get(1)
                .is_some_and(|(at, _)| now.duration_since(*at) >= window)
            {
                entry.samples.pop_front();
            }
            if quiet {
                continue;
            }
            let recent = errors.saturating_sub(entry.samples.front().map_or(errors, |s| s.1));
            if !entry.failing && recent >= self.settings.store_errors {
                entry.failing = true;
                changes.push((tenant.slug.clone(), entry.tenant, Some(recent)));
            } else if entry.failing && recent == 0 {
                // Recovered only after a whole window without a failure, so a store that fails
                // now and then does not flap.
                entry.failing = false;
                changes.push((tenant.slug.clone(), entry.tenant, None));
            }
        }
        for (slug, tenant, recent) in changes {
            self.store_changed(&slug, tenant, recent).await;
        }
    }

    /// Tells the operators and the owner that the store started (`Some(errors)`) or stopped
    /// (`None`) failing.
    async fn store_changed(&self, slug: &str, tenant: TenantId, recent: Option<u64>) {
        let minutes = self
            .settings
            .store_window
            .as_secs()
            .div_ceil(60)
            .to_string();
        let text = match recent {
            Some(errors) => format!(
                "store {slug}: {errors} updates failed in the last {minutes} min (see the logs \
                 of store={slug})"
            ),
            None => format!("store {slug}: no update failed in the last {minutes} min"),
        };
        self.operators("store_failing", recent.is_some(), text)
            .await;
        if let Err(error) = self.tell_owner(slug, tenant, recent, &minutes).await {
            tracing::warn!(store = %slug, error = format!("{error:#}"), "could not tell the owner about the store's failures");
        }
    }

    async fn tell_owner(
        &self,
        slug: &str,
        tenant: TenantId,
        recent: Option<u64>,
        minutes: &str,
    ) -> anyhow::Result<()> {
        let Some(store) = self
            .host
            .running_stores()
            .into_iter()
            .find(|r| r.ctx.tenant().slug == slug)
        else {
            return Ok(());
        };
        let profile = store.ctx.tenant();
        let t = texts(profile.locale);
        let text = match recent {
            Some(errors) => fill(
                t.store_errors_alert,
                &[("errors", &errors.to_string()), ("minutes", minutes)],
            ),
            None => t.store_errors_recovered.to_owned(),
        };
        let mut tx = self.host.db().tenant(tenant).await?;
        outbox::enqueue(
            &mut tx,
            tenant,
            profile.owner_telegram_id,
            &Message::Text { text },
            0,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn look_at_tokens(&self) {
        // A failed look is not "all fine": what was not recorded is found at the next one.
        match tokens::found(&self.host).await {
            Ok(found) => {
                for refusal in found {
                    let slug = &refusal.slug;
                    let text = format!(
                        "store {slug}: Telegram refuses its bot token since {} (revoked in \
                         @BotFather?); the store is stopped until it gets a new token (PUT \
                         /api/v1/tenants/{slug}/secrets). Its owner is told once the bot runs again.",
                        utc(refusal.since)
                    );
                    self.operators("bot_token_rejected", true, text).await;
                }
            }
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                "could not look at the stores' bot tokens"
            ),
        }
        match tokens::ended(self.host.db()).await {
            Ok(ended) => {
                for refusal in ended {
                    let text = format!(
                        "store {}: its new bot token is accepted (the old one was refused since \
                         {}); its owner is told through the bot",
                        refusal.slug,
                        utc(refusal.since)
                    );
                    self.operators("bot_token_rejected", false, text).await;
                }
            }
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                "could not look at the replaced bot tokens"
            ),
        }
    }
}

/// A time as operators read it in alerts.
fn utc(at: time::OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// How full the file system holding `dir` is, in percent of what unprivileged users may use.
fn used_percent(dir: &Path) -> Option<f64> {
    let stat = nix::sys::statvfs::statvfs(dir).ok()?;
    let total = stat.blocks() as f64;
    let available = stat.blocks_available() as f64;
    let free_for_root = stat.blocks_free() as f64;
    // Blocks reserved for root are not ours: count them as used, as `df` does.
    let usable = total - (free_for_root - available);
    (usable > 0.0).then(|| 100.0 * (usable - available) / usable)
}

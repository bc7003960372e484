//! The scheduled backup job of `tokobot serve` (`TOKOBOT_BACKUP_DIR`, `TOKOBOT_BACKUP_EVERY`,
//! `TOKOBOT_BACKUP_KEEP`).
//!
//! The next backup is due `every` after the newest one in the dir, so a host that restarts
//! often still backs up on time and one that was down for days backs up at once. Each backup is
//! verified before it counts; the oldest beyond `keep` are then removed. A failure is logged,
//! counted (`tokobot_backup_failures_total`) and retried sooner than the full period.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::Context;
use sqlx::postgres::PgConnectOptions;
use time::{OffsetDateTime, macros::format_description};
use tokio::sync::watch;

use super::{Output, backup};
use crate::{
    config::Config,
    ops::alerts::{Alert, Alerts},
};

const PREFIX: &str = "tokobot-";
const SUFFIX: &str = ".tkbak";
/// How soon a failed backup is tried again (or the period, when that is shorter).
const RETRY: Duration = Duration::from_secs(15 * 60);

/// When and where `serve` takes backups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub dir: PathBuf,
    /// `None`: no scheduled backups (`TOKOBOT_BACKUP_EVERY=off`).
    pub every: Option<Duration>,
    /// How many backups are kept; older ones are removed after a verified new one.
    pub keep: usize,
}

impl Schedule {
    /// The defaults of SPEC §1: `<data dir>/backups`, daily, seven kept.
    pub fn default_for(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("backups"),
            every: Some(Duration::from_secs(24 * 3600)),
            keep: 7,
        }
    }
}

/// Runs the schedule until `stop` fires.
pub async fn run(config: Arc<Config>, owner: PgConnectOptions, mut stop: watch::Receiver<bool>) {
    let schedule = config.backup.clone();
    let Some(every) = schedule.every else {
        return;
    };
    let alerts = Alerts::new(&config.alerts, &config.telegram_api_url);
    let mut failed = false;
    let mut wait = due_in(&schedule.dir, every);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        wait = match take(&config, &owner, &schedule).await {
            Ok(path) => {
                tracing::info!(path = %path.display(), "backup written and verified");
                metrics::gauge!("tokobot_backup_last_success_timestamp_seconds")
                    .set(OffsetDateTime::now_utc().unix_timestamp() as f64);
                if std::mem::take(&mut failed) {
                    alert(&alerts, false, "scheduled backups work again".into()).await;
                }
                every
            }
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), dir = %schedule.dir.display(), "the scheduled backup failed");
                metrics::counter!("tokobot_backup_failures_total").increment(1);
                // Each failure is a period apart, so every one is worth telling; the text is
                // our own error chain, which holds paths and tool output but no secret.
                failed = true;
                let text = format!(
                    "the scheduled backup into {} failed: {error:#}",
                    schedule.dir.display()
                );
                alert(&alerts, true, text).await;
                RETRY.min(every)
            }
        };
    }
}

async fn alert(alerts: &Option<Alerts>, firing: bool, text: String) {
    if let Some(alerts) = alerts {
        let alert = Alert {
            condition: "backup_failed",
            firing,
            text,
        };
        alerts.send(&alert).await;
    }
}

/// Takes one backup into the schedule's dir and prunes old ones; returns the new file's path.
pub async fn take(
    config: &Config,
    owner: &PgConnectOptions,
    schedule: &Schedule,
) -> anyhow::Result<PathBuf> {
    let path = new_path(&schedule.dir)?;
    backup(config, owner, Output::File(path.clone())).await?;
    for old in backups(&schedule.dir)
        .into_iter()
        .rev()
        .skip(schedule.keep.max(1))
    {
        if let Err(error) = std::fs::remove_file(&old) {
            tracing::warn!(%error, path = %old.display(), "cannot remove an old backup");
        }
    }
    Ok(path)
}

/// A new backup's path in `dir` (created when missing), named by the time in UTC.
pub fn new_path(dir: &Path) -> anyhow::Result<PathBuf> {
    stamped(dir, PREFIX)
}

/// A new store backup's path in `dir`: `store-<slug>-<time>.tkbak`, a name the schedule's
/// retention never counts or removes.
pub fn new_store_path(dir: &Path, slug: &str) -> anyhow::Result<PathBuf> {
    stamped(dir, &format!("store-{slug}-"))
}

fn stamped(dir: &Path, prefix: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the backup dir {}", dir.display()))?;
    let stamp = OffsetDateTime::now_utc().format(format_description!(
        "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
    ))?;
    Ok(dir.join(format!("{prefix}{stamp}{SUFFIX}")))
}

/// The backups in `dir`, oldest first (their names sort by time).
pub fn backups(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    files.sort();
    files
}

/// How long until the next backup is due: `every` after the newest, or now.
fn due_in(dir: &Path, every: Duration) -> Duration {
    let newest = backups(dir)
        .last()
        .and_then(|p| p.metadata().ok())
        .and_then(|m| m.modified().ok());
    match newest.and_then(|t| SystemTime::now().duration_since(t).ok()) {
        Some(age) => every.saturating_sub(age),
        None => Duration::ZERO,
    }
}

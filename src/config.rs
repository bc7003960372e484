//! Configuration from the environment (SPEC §1).
//!
//! Everything the host needs is read once into [`Config`]; the rest of the code never calls
//! `std::env`. A `.env` file is loaded by `main` before this runs. In development the master
//! key and the JWT secret are generated into the data dir (with a loud warning) so that a
//! newcomer can run the host with no configuration at all.

use std::{
    fs,
    io::Write,
    net::SocketAddr,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use rand::RngCore;

use crate::{crypto::MasterKey, secret::Secret};

/// How Telegram updates reach the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateMode {
    /// Telegram POSTs updates to `POST /webhooks/telegram/{slug}` under the public URL.
    Webhook,
    /// Each store's dispatcher long-polls `getUpdates` (development, or hosts behind NAT).
    Polling,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl LogFormat {
    /// Reads `TOKOBOT_LOG_FORMAT` on its own, for logging that starts before the rest.
    pub fn from_env() -> Self {
        match std::env::var("TOKOBOT_LOG_FORMAT").as_deref() {
            Ok("json") => LogFormat::Json,
            _ => LogFormat::Pretty,
        }
    }
}

/// The host's whole configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// URL of the schema owner; `None` selects the embedded cluster under `data_dir`.
    pub database_url: Option<Secret>,
    /// URL of the runtime role; `None` means "connect as the owner and `SET ROLE`".
    pub app_database_url: Option<Secret>,
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    /// Base URL that Telegram and Pakasir reach, without a trailing slash.
    pub public_url: Option<String>,
    pub update_mode: UpdateMode,
    /// The key that seals new values, followed by older keys kept for unsealing only.
    pub master_keys: Vec<MasterKey>,
    pub jwt_secret: Secret<Vec<u8>>,
    pub telegram_api_url: String,
    pub pakasir_api_url: String,
    pub log_format: LogFormat,
    /// Per-customer action limits; not read from the environment (the defaults follow SPEC §3.4).
    pub antispam: crate::antispam::Limits,
    /// How much work the host takes on at once.
    pub capacity: Capacity,
    /// Who may reach the API tokens and the metrics.
    pub access: Access,
    /// Scheduled backups (`TOKOBOT_BACKUP_DIR`, `TOKOBOT_BACKUP_EVERY`, `TOKOBOT_BACKUP_KEEP`).
    pub backup: crate::ops::backup::Schedule,
    /// Operator alerts (`TOKOBOT_OPERATOR_BOT_TOKEN` + `TOKOBOT_OPERATOR_CHAT_ID`,
    /// `TOKOBOT_ALERT_WEBHOOK_URL`).
    pub alerts: crate::ops::alerts::Settings,
}

/// Limits on API tokens and on who reads `/metrics`.
#[derive(Clone, Debug)]
pub struct Access {
    /// The longest life an API token may have (`TOKOBOT_TOKEN_MAX_TTL`, default 90 days):
    /// tokens are issued no longer, and a longer one signed elsewhere is refused.
    pub token_max_ttl: Duration,
    /// Serve `/metrics` on this separate (private) address only (`TOKOBOT_METRICS_BIND`).
    pub metrics_bind: Option<SocketAddr>,
    /// Otherwise, require this bearer token for `/metrics` (`TOKOBOT_METRICS_TOKEN`).
    pub metrics_token: Option<Secret>,
}

impl Default for Access {
    fn default() -> Self {
        Self {
            token_max_ttl: Duration::from_secs(90 * 24 * 3600),
            metrics_bind: None,
            metrics_token: None,
        }
    }
}

/// How much work the host takes on at once: its database connections and the updates it
/// holds between the webhook's answer and the end of their handling. Beyond these the webhook
/// answers 503 and Telegram keeps the update, so overload costs latency, never an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    /// Connections of the pool that serves updates, the API and the registry.
    pub pool: u32,
    /// Connections reserved for the background work that moves money or stock (payment
    /// reconciliation and expiry, the outbox, order expiry) and the Pakasir webhook, so no
    /// amount of browsing can stop payments.
    pub money_pool: u32,
    /// Updates one store may hold; a store flooded by its customers answers 503 beyond this
    /// while the other stores keep their share.
    pub store_updates: usize,
    /// Updates the whole host may hold, across its stores.
    pub host_updates: usize,
    /// The work the host takes on beyond what it is handling, in time at the rate it has been
    /// finishing updates: below `host_updates`, it admits about this much (never fewer than a
    /// store's share), so that an accepted update waits about this long at most and the
    /// webhook answers promptly under overload (`host::admission`).
    pub backlog: Duration,
    /// How long a query waits for a free connection before it fails (and its update is run
    /// again); not read from the environment, tests shorten it.
    pub acquire_timeout: Duration,
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            pool: 16,
            // Eight, not four: a purchase's settlement and its outbox sends each commit to the
            // disk, and when commits are slow (a busy disk) four connections became the queue
            // the Pakasir webhook's answer waited in (docs/BENCHMARKS.md, "Buy").
            money_pool: 8,
            // A bot may send about 30 messages a second, so a store holding more than a few
            // seconds of them only makes its customers wait longer for the same answers.
            store_updates: 256,
            // With two cores saturated at twice the sustainable rate, the memory follows the
            // updates held: 4,096 peaked at 349 MiB, 2,048 at 281-304 MiB, 1,536 at 274 MiB,
            // each about a third of a second of work at the rate the host then served
            // (docs/BENCHMARKS.md, "Overload").
            host_updates: 1536,
            backlog: Duration::from_secs(1),
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

impl Access {
    fn from_lookup(var: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let token_max_ttl = match var("TOKOBOT_TOKEN_MAX_TTL") {
            Some(ttl) => humantime::parse_duration(ttl.trim())
                .context("TOKOBOT_TOKEN_MAX_TTL is not a duration such as 90d")?,
            None => Access::default().token_max_ttl,
        };
        let metrics_bind = var("TOKOBOT_METRICS_BIND")
            .map(|bind| bind.trim().parse())
            .transpose()
            .context("TOKOBOT_METRICS_BIND is not a socket address such as 127.0.0.1:9100")?;
        let metrics_token = var("TOKOBOT_METRICS_TOKEN").map(Secret::new);
        if metrics_token
            .as_ref()
            .is_some_and(|t| t.expose().len() < 16)
        {
            bail!("TOKOBOT_METRICS_TOKEN must be at least 16 characters long");
        }
        Ok(Self {
            token_max_ttl,
            metrics_bind,
            metrics_token,
        })
    }
}

impl Capacity {
    fn from_lookup(var: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let defaults = Self::default();
        Ok(Self {
            pool: positive(var, "TOKOBOT_DB_POOL_SIZE", defaults.pool)?,
            money_pool: positive(var, "TOKOBOT_DB_MONEY_POOL_SIZE", defaults.money_pool)?,
            store_updates: positive(var, "TOKOBOT_STORE_INBOX", defaults.store_updates)?,
            host_updates: positive(var, "TOKOBOT_HOST_INBOX", defaults.host_updates)?,
            backlog: match var("TOKOBOT_UPDATE_BACKLOG") {
                Some(backlog) => humantime::parse_duration(backlog.trim())
                    .ok()
                    .filter(|d| !d.is_zero())
                    .context("TOKOBOT_UPDATE_BACKLOG is not a positive duration such as 1s")?,
                None => defaults.backlog,
            },
            acquire_timeout: defaults.acquire_timeout,
        })
    }
}

/// A positive whole number from `name`, or `default` when it is not set.
fn positive<T>(var: &impl Fn(&str) -> Option<String>, name: &str, default: T) -> anyhow::Result<T>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
{
    let Some(value) = var(name) else {
        return Ok(default);
    };
    match value.trim().parse::<T>() {
        Ok(number) if number >= T::from(1) => Ok(number),
        _ => bail!("{name} must be a whole number of at least 1, not `{value}`"),
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads the configuration through `var`, which makes the parsing testable.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let data_dir = PathBuf::from(var("TOKOBOT_DATA_DIR").unwrap_or_else(|| "./var".into()));
        let bind = var("TOKOBOT_BIND")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .context("TOKOBOT_BIND is not a socket address such as 127.0.0.1:8080")?;
        let public_url = var("TOKOBOT_PUBLIC_URL")
            .map(|u| parse_base_url("TOKOBOT_PUBLIC_URL", &u))
            .transpose()?;
        let update_mode = match var("TOKOBOT_UPDATE_MODE").as_deref() {
            None if public_url.is_some() => UpdateMode::Webhook,
            None => UpdateMode::Polling,
            Some("webhook") if public_url.is_none() => {
                bail!("TOKOBOT_UPDATE_MODE=webhook needs TOKOBOT_PUBLIC_URL")
            }
            Some("webhook") => UpdateMode::Webhook,
            Some("polling") => UpdateMode::Polling,
            Some(other) => {
                bail!("TOKOBOT_UPDATE_MODE must be `webhook` or `polling`, not `{other}`")
            }
        };
        let capacity = Capacity::from_lookup(&var)?;
        let log_format = match var("TOKOBOT_LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("TOKOBOT_LOG_FORMAT must be `json` or `pretty`, not `{other}`"),
        };

        let mut master_keys = vec![match var("TOKOBOT_MASTER_KEY") {
            Some(key) => MasterKey::from_base64(&key).context("TOKOBOT_MASTER_KEY")?,
            None => {
                MasterKey::from_base64(&dev_secret(&data_dir, "master.key", "TOKOBOT_MASTER_KEY")?)?
            }
        }];
        // Older keys stay readable during a rotation; new values are always sealed with the first.
        for old in var("TOKOBOT_MASTER_KEY_PREVIOUS")
            .unwrap_or_default()
            .split(',')
        {
            if !old.trim().is_empty() {
                master_keys.push(
                    MasterKey::from_base64(old.trim()).context("TOKOBOT_MASTER_KEY_PREVIOUS")?,
                );
            }
        }
        let jwt_secret = match var("TOKOBOT_JWT_SECRET") {
            Some(secret) => secret.into_bytes(),
            None => dev_secret(&data_dir, "jwt.secret", "TOKOBOT_JWT_SECRET")?.into_bytes(),
        };
        if jwt_secret.len() < 32 {
            bail!("TOKOBOT_JWT_SECRET must be at least 32 bytes long");
        }

        Ok(Self {
            database_url: var("DATABASE_URL").map(Secret::new),
            app_database_url: var("TOKOBOT_APP_DATABASE_URL").map(Secret::new),
            data_dir: data_dir.clone(),
            bind,
            public_url,
            update_mode,
            master_keys,
            jwt_secret: Secret::new(jwt_secret),
            telegram_api_url: parse_base_url(
                "TOKOBOT_TELEGRAM_API_URL",
                &var("TOKOBOT_TELEGRAM_API_URL")
                    .unwrap_or_else(|| "https://api.telegram.org".into()),
            )?,
            pakasir_api_url: parse_base_url(
                "TOKOBOT_PAKASIR_API_URL",
                &var("TOKOBOT_PAKASIR_API_URL").unwrap_or_else(|| "https://app.pakasir.com".into()),
            )?,
            log_format,
            antispam: crate::antispam::Limits::default(),
            access: Access::from_lookup(&var)?,
            capacity,
            backup: backup_schedule(&var, &data_dir)?,
            alerts: alert_settings(&var)?,
        })
    }

    /// The URL Telegram posts a store's updates to, when the host runs in webhook mode.
    pub fn telegram_webhook_url(&self, slug: &str) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|base| format!("{base}/webhooks/telegram/{slug}"))
    }

    /// The URL to paste into the store's Pakasir dashboard.
    pub fn pakasir_webhook_url(&self, slug: &str) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|base| format!("{base}/webhooks/pakasir/{slug}"))
    }
}

/// Checks that `value` is an http(s) base URL and returns it without a trailing slash.
fn alert_settings(
    var: &impl Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::ops::alerts::Settings> {
    let telegram = match (
        var("TOKOBOT_OPERATOR_BOT_TOKEN"),
        var("TOKOBOT_OPERATOR_CHAT_ID"),
    ) {
        (Some(token), Some(chat)) => Some((
            Secret::new(token.trim().to_owned()),
            chat.trim()
                .parse()
                .context("TOKOBOT_OPERATOR_CHAT_ID is not a Telegram chat id")?,
        )),
        (None, None) => None,
        _ => bail!("TOKOBOT_OPERATOR_BOT_TOKEN and TOKOBOT_OPERATOR_CHAT_ID go together"),
    };
    let webhook_url = var("TOKOBOT_ALERT_WEBHOOK_URL")
        .map(|url| parse_base_url("TOKOBOT_ALERT_WEBHOOK_URL", &url))
        .transpose()?;
    let defaults = crate::ops::alerts::Settings::default();
    let disk_percent = match var("TOKOBOT_ALERT_DISK_PERCENT") {
        Some(value) => match value.trim().parse::<u8>() {
            Ok(percent @ 1..=100) => percent,
            _ => bail!("TOKOBOT_ALERT_DISK_PERCENT must be a percentage from 1 to 100"),
        },
        None => defaults.disk_percent,
    };
    let store_errors = match var("TOKOBOT_ALERT_STORE_ERRORS") {
        Some(value) => match value.trim().parse::<u64>() {
            Ok(errors) if errors > 0 => errors,
            _ => bail!("TOKOBOT_ALERT_STORE_ERRORS must be a positive number of failed updates"),
        },
        None => defaults.store_errors,
    };
    Ok(crate::ops::alerts::Settings {
        telegram,
        webhook_url,
        disk_percent,
        store_errors,
        ..defaults
    })
}

fn backup_schedule(
    var: &impl Fn(&str) -> Option<String>,
    data_dir: &Path,
) -> anyhow::Result<crate::ops::backup::Schedule> {
    let mut schedule = crate::ops::backup::Schedule::default_for(data_dir);
    if let Some(dir) = var("TOKOBOT_BACKUP_DIR") {
        schedule.dir = PathBuf::from(dir);
    }
    match var("TOKOBOT_BACKUP_EVERY").as_deref().map(str::trim) {
        None => {}
        Some("off" | "0") => schedule.every = None,
        Some(every) => {
            let every = humantime::parse_duration(every)
                .context("TOKOBOT_BACKUP_EVERY is not a duration such as 24h (or `off`)")?;
            if every < Duration::from_secs(60) {
                bail!("TOKOBOT_BACKUP_EVERY must be at least a minute (or `off`)");
            }
            schedule.every = Some(every);
        }
    }
    if let Some(keep) = var("TOKOBOT_BACKUP_KEEP") {
        schedule.keep = keep
            .trim()
            .parse()
            .ok()
            .filter(|k| *k >= 1)
            .context("TOKOBOT_BACKUP_KEEP must be a whole number of at least 1")?;
    }
    Ok(schedule)
}

fn parse_base_url(name: &str, value: &str) -> anyhow::Result<String> {
    let trimmed = value.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .with_context(|| format!("{name} must start with http:// or https://"))?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        bail!("{name} is not a URL: `{value}`");
    }
    Ok(trimmed.to_owned())
}

/// Reads a development secret from the data dir, creating it on first use.
///
/// Production hosts set the variable; a generated key lives only on this machine, so losing
/// the data dir loses every sealed value, which is why the warning is loud.
fn dev_secret(data_dir: &Path, file: &str, variable: &str) -> anyhow::Result<String> {
    let dir = data_dir.join("keys");
    let path = dir.join(file);
    if let Ok(existing) = fs::read_to_string(&path) {
        return Ok(existing.trim().to_owned());
    }
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let encoded = BASE64.encode(bytes);
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    out.write_all(encoded.as_bytes())?;
    tracing::warn!(
        "{variable} is not set: generated a development key into {}; set {variable} in production",
        path.display()
    );
    Ok(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let key = BASE64.encode([7u8; 32]);
        let jwt = "j".repeat(32);
        let mut all: Vec<(String, String)> = vec![
            ("TOKOBOT_MASTER_KEY".into(), key),
            ("TOKOBOT_JWT_SECRET".into(), jwt),
        ];
        all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Config::from_lookup(|name| {
            all.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_to_polling_without_a_public_url() {
        let config = config(&[]).unwrap();
        assert_eq!(config.update_mode, UpdateMode::Polling);
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.telegram_webhook_url("toko"), None);
    }

    #[test]
    fn a_public_url_selects_webhooks_and_builds_store_urls() {
        let config = config(&[("TOKOBOT_PUBLIC_URL", "https://bots.example.com/")]).unwrap();
        assert_eq!(config.update_mode, UpdateMode::Webhook);
        assert_eq!(
            config.telegram_webhook_url("toko-a").as_deref(),
            Some("https://bots.example.com/webhooks/telegram/toko-a")
        );
    }

    #[test]
    fn rejects_webhook_mode_without_public_url_and_bad_values() {
        assert!(config(&[("TOKOBOT_UPDATE_MODE", "webhook")]).is_err());
        assert!(config(&[("TOKOBOT_UPDATE_MODE", "carrier-pigeon")]).is_err());
        assert!(config(&[("TOKOBOT_BIND", "nowhere")]).is_err());
        assert!(config(&[("TOKOBOT_MASTER_KEY", "c2hvcnQ=")]).is_err());
        assert!(config(&[("TOKOBOT_JWT_SECRET", "short")]).is_err());
    }

    #[test]
    fn capacity_comes_from_the_environment_and_refuses_nonsense() {
        assert_eq!(config(&[]).unwrap().capacity, Capacity::default());
        let capacity = config(&[
            ("TOKOBOT_DB_POOL_SIZE", "32"),
            ("TOKOBOT_DB_MONEY_POOL_SIZE", "2"),
            ("TOKOBOT_STORE_INBOX", "64"),
            ("TOKOBOT_HOST_INBOX", "1000"),
            ("TOKOBOT_UPDATE_BACKLOG", "500ms"),
        ])
        .unwrap()
        .capacity;
        assert_eq!(
            capacity,
            Capacity {
                pool: 32,
                money_pool: 2,
                store_updates: 64,
                host_updates: 1000,
                backlog: Duration::from_millis(500),
                ..Capacity::default()
            }
        );
        for name in [
            "TOKOBOT_DB_POOL_SIZE",
            "TOKOBOT_DB_MONEY_POOL_SIZE",
            "TOKOBOT_STORE_INBOX",
            "TOKOBOT_HOST_INBOX",
            "TOKOBOT_UPDATE_BACKLOG",
        ] {
            assert!(config(&[(name, "0")]).is_err(), "{name}=0");
            assert!(config(&[(name, "many")]).is_err(), "{name}=many");
            assert!(config(&[(name, "-3")]).is_err(), "{name}=-3");
        }
    }

    #[test]
    fn backups_and_alerts_read_their_variables_and_refuse_bad_ones() {
        let defaults = config(&[("TOKOBOT_DATA_DIR", "/srv/toko")]).unwrap();
        assert_eq!(defaults.backup.dir, PathBuf::from("/srv/toko/backups"));
        assert_eq!(defaults.backup.every, Some(Duration::from_secs(24 * 3600)));
        assert_eq!(defaults.backup.keep, 7);
        assert!(defaults.alerts.telegram.is_none() && defaults.alerts.webhook_url.is_none());

        let set = config(&[
            ("TOKOBOT_BACKUP_DIR", "/backups"),
            ("TOKOBOT_BACKUP_EVERY", "6h"),
            ("TOKOBOT_BACKUP_KEEP", "3"),
            ("TOKOBOT_OPERATOR_BOT_TOKEN", "1:abc"),
            ("TOKOBOT_OPERATOR_CHAT_ID", "-100123"),
            ("TOKOBOT_ALERT_WEBHOOK_URL", "https://hooks.example.com/x"),
        ])
        .unwrap();
        assert_eq!(set.backup.dir, PathBuf::from("/backups"));
        assert_eq!(set.backup.every, Some(Duration::from_secs(6 * 3600)));
        assert_eq!(set.backup.keep, 3);
        assert_eq!(set.alerts.telegram.as_ref().map(|t| t.1), Some(-100_123));
        assert_eq!(
            config(&[("TOKOBOT_BACKUP_EVERY", "off")])
                .unwrap()
                .backup
                .every,
            None
        );

        assert_eq!(
            config(&[("TOKOBOT_ALERT_DISK_PERCENT", "80")])
                .unwrap()
                .alerts
                .disk_percent,
            80
        );
        assert!(config(&[("TOKOBOT_ALERT_DISK_PERCENT", "101")]).is_err());
        assert!(config(&[("TOKOBOT_ALERT_STORE_ERRORS", "0")]).is_err());
        assert!(config(&[("TOKOBOT_BACKUP_EVERY", "5s")]).is_err());
        assert!(config(&[("TOKOBOT_BACKUP_EVERY", "often")]).is_err());
        assert!(config(&[("TOKOBOT_BACKUP_KEEP", "0")]).is_err());
        assert!(config(&[("TOKOBOT_OPERATOR_BOT_TOKEN", "1:abc")]).is_err());
        assert!(
            config(&[
                ("TOKOBOT_OPERATOR_BOT_TOKEN", "1:abc"),
                ("TOKOBOT_OPERATOR_CHAT_ID", "x")
            ])
            .is_err()
        );
        assert!(config(&[("TOKOBOT_ALERT_WEBHOOK_URL", "not a url")]).is_err());
    }
}

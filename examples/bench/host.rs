//! The system under test, as separate processes: a PostgreSQL cluster with the durable
//! settings of production (or the server at `DATABASE_URL`), and the `tokobot serve` binary
//! started with the stand-ins as its Telegram and Pakasir. What they cost is read from
//! `/proc`: resident memory from `status`, CPU time from `stat`.

use std::{
    collections::BTreeMap,
    fs,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use tokio::process::{Child, Command};
use tokobot::db::embedded::{EmbeddedPostgres, Lifetime};

pub const JWT_SECRET: &str = "bench-jwt-secret-that-is-long-enough-for-hs256";

/// Linux reports CPU times in ticks of 1/100 s (`USER_HZ`) on every architecture it runs on.
const TICK_MS: f64 = 10.0;

/// The database the host runs on.
pub struct Database {
    /// Held so the cluster stops when the benchmark ends.
    _cluster: Option<EmbeddedPostgres>,
    pub url: String,
    /// The database's name and the URL of the cluster's maintenance database, when the
    /// cluster is ours and the database can be dropped after the run.
    ours: Option<(String, String)>,
    /// The postmaster, when the cluster is ours, so its CPU time can be read.
    postmaster: Option<u32>,
    pub version: String,
}

impl Database {
    /// A fresh database named `name`: in the benchmark's own cluster under `dir`, or at
    /// `DATABASE_URL` when that is set (it must then name an empty database).
    pub async fn open(dir: &Path, name: &str) -> anyhow::Result<Self> {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            let version = server_version(&url).await.unwrap_or_default();
            return Ok(Self {
                _cluster: None,
                url,
                ours: None,
                postmaster: None,
                version,
            });
        }
        // No TOKOBOT_PG_FAST: the cluster keeps fsync and synchronous commit, as in production.
        // SAFETY: nothing else reads the environment yet.
        unsafe { std::env::remove_var("TOKOBOT_PG_FAST") };
        let cluster = EmbeddedPostgres::start(dir, Lifetime::StopOnDrop).await?;
        cluster.ensure_database(name).await?;
        let url = cluster.url(name);
        let postmaster = find_file(dir, "postmaster.pid", 3)
            .and_then(|pid_file| fs::read_to_string(pid_file).ok())
            .and_then(|text| text.lines().next()?.trim().parse().ok());
        let version = server_version(&url).await.unwrap_or_default();
        let ours = Some((name.to_owned(), cluster.url("postgres")));
        Ok(Self {
            _cluster: Some(cluster),
            url,
            ours,
            postmaster,
            version,
        })
    }

    /// CPU ticks used by the server's processes so far (those that exited included), or
    /// `None` when the server is not ours to watch.
    pub fn cpu_ticks(&self) -> Option<u64> {
        let postmaster = self.postmaster?;
        let (own, children) = stat_ticks(postmaster)?;
        let live: u64 = children_of(postmaster)
            .into_iter()
            .filter_map(|pid| stat_ticks(pid).map(|(own, _)| own))
            .sum();
        Some(own + children + live)
    }
}

impl Database {
    /// Drops the run's database from the benchmark's own cluster (once nothing uses it), so
    /// that runs do not fill the disk.
    pub async fn drop_database(&self) -> anyhow::Result<()> {
        use sqlx::Connection;
        let Some((name, maintenance)) = &self.ours else {
            return Ok(());
        };
        let mut conn = sqlx::PgConnection::connect(maintenance).await?;
        sqlx::raw_sql(&format!("drop database if exists \"{name}\" with (force)"))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(())
    }
}

async fn server_version(url: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let version: String = sqlx::query_scalar("show server_version")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(version)
}

/// How to start the host.
#[derive(Clone)]
pub struct HostSpec {
    pub bin: PathBuf,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub telegram_url: String,
    pub pakasir_url: String,
    pub log: PathBuf,
    /// The loopback port, the same across restarts: the public URL (and so every store's
    /// webhook URL) is derived from it, and a new one would make the host register them again.
    pub port: u16,
}

impl HostSpec {
    /// A free loopback port for the host.
    pub fn free_port() -> anyhow::Result<u16> {
        Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
    }
}

/// A running `tokobot serve`.
pub struct Host {
    child: Child,
    pub pid: u32,
    pub base: String,
    /// From spawning the process to `/readyz` answering 200.
    pub ready_after: Duration,
}

impl Host {
    /// Starts the host and waits until it is ready.
    pub async fn start(spec: &HostSpec, http: &reqwest::Client) -> anyhow::Result<Self> {
        let port = spec.port;
        let base = format!("http://127.0.0.1:{port}");
        fs::create_dir_all(&spec.data_dir)?;
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("cannot open {}", spec.log.display()))?;
        let started = Instant::now();
        let mut child = Command::new(&spec.bin)
            .arg("serve")
            .env("DATABASE_URL", &spec.database_url)
            .env("TOKOBOT_DATA_DIR", &spec.data_dir)
            .env("TOKOBOT_BIND", format!("127.0.0.1:{port}"))
            .env("TOKOBOT_PUBLIC_URL", &base)
            .env("TOKOBOT_UPDATE_MODE", "webhook")
            .env("TOKOBOT_MASTER_KEY", BASE64.encode([7u8; 32]))
            .env("TOKOBOT_JWT_SECRET", JWT_SECRET)
            .env("TOKOBOT_TELEGRAM_API_URL", &spec.telegram_url)
            .env("TOKOBOT_PAKASIR_API_URL", &spec.pakasir_url)
            .env("TOKOBOT_LOG_FORMAT", "json")
            // A backup's pg_dump would compete with the load it is measured under.
            .env("TOKOBOT_BACKUP_EVERY", "off")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", spec.bin.display()))?;
        let pid = child.id().context("the host exited at once")?;
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the host exited with {status} before it was ready; see {}",
                    spec.log.display()
                );
            }
            let ready = http.get(format!("{base}/readyz")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!(
                    "the host was not ready within 120 s; see {}",
                    spec.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(Self {
            child,
            pid,
            base,
            ready_after: started.elapsed(),
        })
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Resident memory in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid)
    }

    /// CPU ticks used so far.
    pub fn cpu_ticks(&self) -> u64 {
        stat_ticks(self.pid).map_or(0, |(own, _)| own)
    }

    /// Every counter and gauge of `/metrics` whose name starts with `prefix`, summed over labels.
    pub async fn metrics(
        &self,
        http: &reqwest::Client,
        prefix: &str,
    ) -> anyhow::Result<BTreeMap<String, f64>> {
        let mut sums = BTreeMap::new();
        for (series, value) in self.series(http, prefix).await? {
            let name = series.split('{').next().unwrap_or(&series).to_owned();
            *sums.entry(name).or_default() += value;
        }
        Ok(sums)
    }

    /// Every series of `/metrics` whose name starts with `prefix`, labels and all
    /// (`name{label="value"}`).
    pub async fn series(
        &self,
        http: &reqwest::Client,
        prefix: &str,
    ) -> anyhow::Result<BTreeMap<String, f64>> {
        let text = http
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .text()
            .await?;
        let mut series = BTreeMap::new();
        for line in text.lines().filter(|l| l.starts_with(prefix)) {
            let mut parts = line.rsplitn(2, ' ');
            let (Some(value), Some(name)) = (parts.next(), parts.next()) else {
                continue;
            };
            if let Ok(value) = value.parse::<f64>() {
                *series.entry(name.to_owned()).or_default() += value;
            }
        }
        Ok(series)
    }

    /// Stops the host as a deployment would (SIGTERM), waiting for it to exit.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => self.child.kill().await?,
        }
        Ok(())
    }
}

/// Counts the lines of the host's JSON log at each level.
pub fn log_levels(log: &Path) -> BTreeMap<String, u64> {
    let mut levels = BTreeMap::new();
    let text = fs::read_to_string(log).unwrap_or_default();
    for line in text.lines() {
        let level = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v["level"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "unparsed".to_owned());
        *levels.entry(level).or_default() += 1;
    }
    levels
}

/// Milliseconds of CPU for `ticks`.
pub fn ticks_ms(ticks: u64) -> f64 {
    ticks as f64 * TICK_MS
}

/// Resident memory of `pid` in KiB (0 when it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// (utime + stime, cutime + cstime) of `pid` in ticks.
pub fn stat_ticks(pid: u32) -> Option<(u64, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces, so the fields are counted from its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some((field(14)? + field(15)?, field(16)? + field(17)?))
}

/// The benchmark's own CPU ticks (the load generator and the stand-ins).
pub fn own_ticks() -> u64 {
    stat_ticks(std::process::id()).map_or(0, |(own, _)| own)
}

fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = s.rsplit_once(')')?.1.to_owned();
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

fn find_file(dir: &Path, name: &str, depth: usize) -> Option<PathBuf> {
    let candidate = dir.join(name);
    if candidate.is_file() {
        return Some(candidate);
    }
    if depth == 0 {
        return None;
    }
    fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .find_map(|e| find_file(&e.path(), name, depth - 1))
}

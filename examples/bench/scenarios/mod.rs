//! The scenarios, and the rig they share: a fresh database, the stand-ins, and the host
//! process started on them.

pub mod broadcast;
pub mod browse;
pub mod buy;
pub mod idle;
pub mod import;
pub mod pgbench;
pub mod wrk;

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::{
    host::{self, Database, Host, HostSpec},
    report::Report,
    setup::{self, Api},
    standin::{self, Pakasir, Telegram},
};

/// Everything a scenario drives. The host comes first so that it is stopped before the
/// cluster it runs on when the rig is dropped.
pub struct Rig {
    pub host: Host,
    pub http: reqwest::Client,
    pub telegram: Telegram,
    pub pakasir: Pakasir,
    pub db: Database,
    pub spec: HostSpec,
    pub api: Api,
    /// Calls a second the Bot API stand-in answered when driven flat out.
    pub sink_rate: f64,
    /// The same for the Pakasir stand-in.
    pub pakasir_rate: f64,
    /// Store slugs are `<prefix>-<n>`.
    pub prefix: String,
}

impl Rig {
    /// Starts the stand-ins, measures them, opens a fresh database and starts the host.
    pub async fn start(out: PathBuf, host_bin: PathBuf, scenario: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            host_bin.is_file(),
            "no host binary at {} (build it with `cargo build --profile bench --bin tokobot`, or pass --host-bin)",
            host_bin.display()
        );
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(4096)
            .tcp_nodelay(true)
            .build()?;
        let telegram = Telegram::start().await?;
        let pakasir = Pakasir::start().await?;
        let sink_rate = standin::telegram_sink_rate(&telegram, &http).await;
        let pakasir_rate = standin::pakasir_sink_rate(&pakasir, &http).await;
        let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let name = format!("bench_{scenario}_{stamp}");
        let db = Database::open(&out.join("postgres"), &name).await?;
        let spec = HostSpec {
            bin: host_bin,
            database_url: db.url.clone(),
            data_dir: out.join("data"),
            telegram_url: telegram.url().to_owned(),
            pakasir_url: pakasir.url().to_owned(),
            log: out.join(format!("{scenario}-host.log")),
            port: HostSpec::free_port()?,
        };
        let _ = std::fs::remove_file(&spec.log);
        let host = Host::start(&spec, &http).await?;
        let api = Api::new(http.clone(), &host.base)?;
        println!(
            "{scenario}: host pid {} ready in {:.2} s; PostgreSQL {}; the stand-ins answer {:.0} (Bot API) and {:.0} (Pakasir) calls/s flat out",
            host.pid,
            host.ready_after.as_secs_f64(),
            db.version,
            sink_rate,
            pakasir_rate
        );
        Ok(Self {
            host,
            http,
            telegram,
            pakasir,
            db,
            spec,
            api,
            sink_rate,
            pakasir_rate,
            prefix: format!("b{}", stamp % 100_000),
        })
    }

    /// Stops the host as a deployment does and starts it again, forgetting
    /// the Bot API calls made so far so that the restart's own can be counted.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.host.stop().await?;
        self.telegram.reset();
        self.host = Host::start(&self.spec, &self.http).await?;
        Ok(())
    }

    /// Stores `<prefix><name>-<n>` for `range`, created through the API with `catalog`.
    pub async fn stores(
        &self,
        name: &str,
        range: std::ops::Range<usize>,
        catalog: setup::Catalog,
    ) -> anyhow::Result<Vec<setup::Store>> {
        setup::create_stores(
            &self.api,
            &self.telegram,
            &format!("{}{name}", self.prefix),
            range,
            catalog,
        )
        .await
    }

    /// The figures every scenario reports about the rig.
    pub fn describe(&self, report: &mut Report) {
        report.detail("postgres_version", self.db.version.clone());
        report.num(
            "standin_calls_per_s",
            "Bot API stand-in sinks (flat out)",
            self.sink_rate,
            0,
            "calls/s",
        );
        report.num(
            "pakasir_standin_calls_per_s",
            "Pakasir stand-in sinks (flat out)",
            self.pakasir_rate,
            0,
            "calls/s",
        );
    }

    /// Checks the host still runs and notes its log's error lines.
    pub fn finish(&mut self, report: &mut Report) {
        let alive = self.host.alive();
        report.check(alive, "the host process exited during the run");
        let levels = host::log_levels(&self.spec.log);
        let errors = levels.get("ERROR").copied().unwrap_or(0);
        let warnings = levels.get("WARN").copied().unwrap_or(0);
        report.add(
            "host_log_errors",
            "host log ERROR / WARN lines",
            errors,
            format!("{errors} / {warnings}"),
        );
        report.detail(
            "host_log_levels",
            serde_json::to_value(&levels).unwrap_or_default(),
        );
    }
}

/// Waits for replies still on their way after the load: until `replies()` reaches `owed`, or
/// none came for five seconds, or `at_most` has passed. Returns how long it waited.
pub async fn drain(owed: u64, at_most: Duration, replies: impl Fn() -> u64) -> Duration {
    let started = std::time::Instant::now();
    let (mut last, mut last_change) = (replies(), std::time::Instant::now());
    while last < owed
        && last_change.elapsed() < Duration::from_secs(5)
        && started.elapsed() < at_most
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = replies();
        if now != last {
            (last, last_change) = (now, std::time::Instant::now());
        }
    }
    started.elapsed()
}

/// Samples a process's resident memory every 100 ms until stopped; keeps the peak.
pub struct RssSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let peak = Arc::new(AtomicU64::new(host::rss_kib(pid)));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let (peak, stop) = (Arc::clone(&peak), Arc::clone(&stop));
            async move {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(host::rss_kib(pid), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
        Self { peak, stop, task }
    }

    /// The peak in MiB.
    pub async fn stop(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.peak.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

/// CPU used by the host, PostgreSQL and the benchmark itself between two points.
#[derive(Clone, Copy)]
pub struct Cpu {
    host: u64,
    postgres: Option<u64>,
    own: u64,
}

impl Cpu {
    pub fn now(rig: &Rig) -> Self {
        Self {
            host: rig.host.cpu_ticks(),
            postgres: rig.db.cpu_ticks(),
            own: host::own_ticks(),
        }
    }

    /// The host's and PostgreSQL's CPU milliseconds since `self` (PostgreSQL's when known).
    pub fn spent(self, rig: &Rig) -> (f64, Option<f64>) {
        let now = Self::now(rig);
        let postgres = match (self.postgres, now.postgres) {
            (Some(before), Some(after)) => Some(host::ticks_ms(after.saturating_sub(before))),
            _ => None,
        };
        (host::ticks_ms(now.host - self.host), postgres)
    }

    /// Adds the CPU milliseconds per `per` units of `work` since `self` to the report.
    pub fn report(self, rig: &Rig, report: &mut Report, work: u64, per: u64, what: &str) {
        let now = Self::now(rig);
        let scale = per as f64 / work.max(1) as f64;
        let host_ms = host::ticks_ms(now.host - self.host) * scale;
        report.num(
            "host_cpu_ms_per_unit",
            &format!("host CPU per {per} {what}"),
            host_ms,
            0,
            "ms",
        );
        if let (Some(before), Some(after)) = (self.postgres, now.postgres) {
            let pg_ms = host::ticks_ms(after.saturating_sub(before)) * scale;
            report.num(
                "postgres_cpu_ms_per_unit",
                &format!("PostgreSQL CPU per {per} {what}"),
                pg_ms,
                0,
                "ms",
            );
        }
        let own_ms = host::ticks_ms(now.own - self.own) * scale;
        report.num(
            "bench_cpu_ms_per_unit",
            &format!("benchmark CPU per {per} {what} (load + stand-ins)"),
            own_ms,
            0,
            "ms",
        );
    }
}

/// Database round trips (or whatever `tokobot_db_*` counters the host exports) per `unit` of
/// work (an update, a purchase), from two readings of `/metrics`.
pub fn db_counters(
    report: &mut Report,
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
    work: u64,
    unit: &str,
) {
    if after.is_empty() {
        report.add(
            "db_counters",
            &format!("database counters per {unit}"),
            serde_json::Value::Null,
            "none exported".into(),
        );
        return;
    }
    let mut per_unit = serde_json::Map::new();
    for (name, value) in after {
        let delta = value - before.get(name).copied().unwrap_or(0.0);
        let per = delta / work.max(1) as f64;
        per_unit.insert(
            name.clone(),
            serde_json::json!((per * 1000.0).round() / 1000.0),
        );
        report.num(
            &format!("per_{unit}_{name}"),
            &format!("{name} per {unit}"),
            per,
            3,
            "",
        );
    }
    report.detail(&format!("db_counters_per_{unit}"), per_unit);
}

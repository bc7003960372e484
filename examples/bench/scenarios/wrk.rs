//! `wrk`: the browse crowd of `browse`, offered by wrk and answered by nginx as the Bot API,
//! as an independent check would run it with the cheapest tools there are. The benchmark's
//! own load generator and stand-ins cost about half of what the host costs per update on the
//! same two cores; wrk and nginx cost a fraction of that, so this run shows what the host
//! itself sustains.
//!
//! The stores are created through the API with the benchmark's stand-in as Telegram (which
//! learns each store's webhook secret from its `setWebhook`), then the host is restarted on
//! nginx, which answers every Bot API method with canned JSON and logs each call's path.
//! Replies are counted from that log (messages sent or edited), against wrk's updates
//! answered 200. Only totals can be matched this way, not each chat's replies: `browse` does
//! that.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;
use tokio::process::{Child, Command};

use super::{Cpu, Rig, RssSampler, browse::FIRST_USER};
use crate::{
    host, load,
    report::Report,
    setup::{Catalog, Store},
};

#[derive(Args, Clone, Debug)]
pub struct WrkArgs {
    /// Stores, created through the API.
    #[arg(long, default_value_t = 200)]
    pub stores: usize,
    /// Distinct customers.
    #[arg(long, default_value_t = 20_000)]
    pub users: usize,
    /// Updates offered per second.
    #[arg(long, default_value_t = 5_000.0)]
    pub rate: f64,
    /// Seconds of offering.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// wrk's connections.
    #[arg(long, default_value_t = 256)]
    pub connections: usize,
    /// wrk's threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// How long to wait for replies after the last update, at most.
    #[arg(long, default_value_t = 60.0)]
    pub drain_seconds: f64,
}

/// What `browse.lua`'s `done` writes.
#[derive(Deserialize)]
struct WrkResult {
    requests: u64,
    duration_us: u64,
    connect_errors: u64,
    read_errors: u64,
    write_errors: u64,
    timeouts: u64,
    statuses: std::collections::BTreeMap<u16, u64>,
    latency_us: Latency,
}

#[derive(Deserialize)]
struct Latency {
    p50: u64,
    p90: u64,
    p99: u64,
    max: u64,
}

pub async fn run(rig: &mut Rig, args: &WrkArgs, out: &Path) -> anyhow::Result<Report> {
    let wrk = tool("wrk")?;
    let nginx_bin = tool("nginx")?;
    let started = Instant::now();
    let stores = rig
        .stores("wrk", 0..args.stores, Catalog::Small { stock: 3 })
        .await?;
    let dir = out.join("wrk");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    // nginx reads every path in its configuration relative to its prefix.
    let dir = dir.canonicalize()?;
    let nginx = Nginx::start(&nginx_bin, &dir).await?;
    rig.spec.telegram_url = nginx.url.clone();
    rig.restart().await?;
    println!(
        "wrk: {} stores created through the API in {:.1} s; the host restarted on nginx as Telegram; wrk offers {:.0} updates/s for {} s from {} customers over {} connections",
        stores.len(),
        started.elapsed().as_secs_f64(),
        args.rate,
        args.seconds,
        args.users,
        args.connections
    );
    let stores_file = dir.join("stores.lua");
    std::fs::write(&stores_file, stores_lua(&stores))?;
    let result_file = dir.join("result.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bench/wrk/browse.lua");

    let calls_before = nginx.calls();
    let rss_before = rig.host.rss_kib() as f64 / 1024.0;
    let db_before = rig
        .host
        .metrics(&rig.http, "tokobot_db_")
        .await
        .unwrap_or_default();
    let cpu = Cpu::now(rig);
    let tools_before = nginx.cpu_ticks() + children_ticks();
    let sampler = RssSampler::start(rig.host.pid);
    let status = Command::new(&wrk)
        .arg(format!("-t{}", args.threads))
        .arg(format!("-c{}", args.connections))
        .arg(format!("-d{}s", args.seconds))
        .arg("--timeout=30s")
        .arg("-s")
        .arg(&script)
        .arg(&rig.host.base)
        .arg("--")
        .arg(&stores_file)
        .arg(args.rate.to_string())
        .arg(args.users.to_string())
        .arg(FIRST_USER.to_string())
        .arg(args.threads.to_string())
        .arg(&result_file)
        .arg(args.seconds.to_string())
        .stdout(Stdio::null())
        .status()
        .await
        .context("cannot run wrk")?;
    anyhow::ensure!(status.success(), "wrk failed: {status}");
    let tools_ms = host::ticks_ms(nginx.cpu_ticks() + children_ticks() - tools_before);
    let replies_by_end = nginx.calls().replies - calls_before.replies;
    let result: WrkResult = serde_json::from_str(&std::fs::read_to_string(&result_file)?)
        .context("wrk wrote no result")?;
    let accepted = result.statuses.get(&200).copied().unwrap_or(0);

    // Replies still on their way: until every accepted update has one, or none came for 5 s.
    let drained_in = super::drain(
        accepted,
        Duration::from_secs_f64(args.drain_seconds),
        || nginx.calls().replies - calls_before.replies,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = nginx.calls();
    let replies = calls.replies - calls_before.replies;

    let mut report = Report::new("wrk");
    cpu.report(rig, &mut report, accepted, 1_000, "updates");
    let rss_peak = sampler.stop().await;
    report.num(
        "tools_cpu_ms_per_unit",
        "wrk + nginx CPU per 1000 updates",
        tools_ms * 1_000.0 / accepted.max(1) as f64,
        0,
        "ms",
    );
    let seconds = result.duration_us as f64 / 1e6;
    let refused = result.statuses.get(&503).copied().unwrap_or(0);
    let errors = result.connect_errors + result.read_errors + result.write_errors + result.timeouts;
    let other: u64 = result
        .statuses
        .iter()
        .filter(|(status, _)| !matches!(status, 200 | 503))
        .map(|(_, n)| n)
        .sum::<u64>()
        + errors;
    report.num(
        "offered_per_s",
        "offered (wrk's requests / s)",
        result.requests as f64 / seconds,
        0,
        "updates/s",
    );
    report.add("accepted", "answered 200", accepted, accepted.to_string());
    report.add("refused_503", "answered 503", refused, refused.to_string());
    report.add(
        "other_answers",
        "other answers, errors or timeouts",
        other,
        other.to_string(),
    );
    report.num(
        "answered_per_s",
        "replies/s while offering",
        replies_by_end as f64 / seconds,
        0,
        "updates/s",
    );
    let latency = &result.latency_us;
    for (key, label, micros) in [
        ("answer_p50_ms", "webhook answer p50", latency.p50),
        ("answer_p90_ms", "webhook answer p90", latency.p90),
        ("answer_p99_ms", "webhook answer p99", latency.p99),
        ("answer_max_ms", "webhook answer max", latency.max),
    ] {
        report.num(key, label, micros as f64 / 1000.0, 2, "ms");
    }
    report.num(
        "replies_per_accepted",
        "replies per accepted update",
        replies as f64 / accepted.max(1) as f64,
        2,
        "",
    );
    report.num(
        "drain_s",
        "replies drained after the load in",
        drained_in.as_secs_f64(),
        1,
        "s",
    );
    report.num("rss_before_mib", "host RSS before", rss_before, 0, "MiB");
    report.num("rss_peak_mib", "host RSS peak", rss_peak, 0, "MiB");
    let db_after = rig
        .host
        .metrics(&rig.http, "tokobot_db_")
        .await
        .unwrap_or_default();
    super::db_counters(&mut report, &db_before, &db_after, accepted, "update");
    report.detail("statuses", serde_json::to_value(&result.statuses)?);
    report.detail("bot_api_calls", calls.all - calls_before.all);
    rig.finish(&mut report);
    report.check(
        other == 0,
        format!("{other} updates were answered neither 200 nor 503"),
    );
    report.check(
        replies == accepted,
        format!("{replies} replies to {accepted} accepted updates"),
    );
    Ok(report)
}

/// `name` on the PATH, or what to do without it.
fn tool(name: &str) -> anyhow::Result<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    match found {
        Some(path) => Ok(path),
        None => bail!(
            "`{name}` is missing: `scripts/bench wrk` installs it (Debian's wrk and nginx-light)"
        ),
    }
}

/// The stores as a Lua table: each one's slug, secret and the bodies of the crowd's four
/// steps, with `{U}` for the update id and `{C}` for the chat.
fn stores_lua(stores: &[Store]) -> String {
    const UPDATE: i64 = 987_654_321;
    const CHAT: i64 = 876_543_219_876;
    let mut lua = String::from("return {\n");
    for store in stores {
        let steps: Vec<String> = (0..4)
            .map(|step| {
                let body = load::update(store, CHAT, UPDATE, step)
                    .replace(&CHAT.to_string(), "{C}")
                    .replace(&UPDATE.to_string(), "{U}");
                format!("[==[{body}]==]")
            })
            .collect();
        let _ = writeln!(
            lua,
            "  {{ slug = [==[{}]==], secret = [==[{}]==], steps = {{ {} }} }},",
            store.slug,
            store.secret,
            steps.join(", ")
        );
    }
    lua.push_str("}\n");
    lua
}

/// CPU ticks of the benchmark's children that have exited (wrk, once it has).
fn children_ticks() -> u64 {
    host::stat_ticks(std::process::id()).map_or(0, |(_, children)| children)
}

/// nginx answering every Bot API method with canned JSON, logging each call's path.
struct Nginx {
    child: Child,
    url: String,
    log: PathBuf,
}

/// Calls nginx has logged.
struct Calls {
    all: u64,
    /// Messages sent or edited (`send*` but `sendChatAction`, `edit*`).
    replies: u64,
}

impl Nginx {
    async fn start(bin: &Path, dir: &Path) -> anyhow::Result<Self> {
        let port = host::HostSpec::free_port()?;
        let log = dir.join("calls.log");
        let config = dir.join("nginx.conf");
        std::fs::write(&config, nginx_config(port, dir, &log))?;
        let mut child = Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&config)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start nginx")?;
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "nginx exited with {status}; see {}",
                    dir.join("error.log").display()
                );
            }
            if http.get(format!("{url}/bot1:x/getMe")).send().await.is_ok() {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not answer"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Self { child, url, log })
    }

    fn calls(&self) -> Calls {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut calls = Calls { all: 0, replies: 0 };
        for line in text.lines() {
            calls.all += 1;
            let method = line.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
            if (method.starts_with("send") && method != "sendchataction")
                || method.starts_with("edit")
            {
                calls.replies += 1;
            }
        }
        calls
    }

    /// nginx's CPU ticks.
    fn cpu_ticks(&self) -> u64 {
        self.child
            .id()
            .and_then(host::stat_ticks)
            .map_or(0, |(own, _)| own)
    }
}

/// One process (the host needs the cores more; without a master no worker outlives the
/// benchmark), every answer canned, every call logged.
fn nginx_config(port: u16, dir: &Path, log: &Path) -> String {
    let message = r#"{"ok":true,"result":{"message_id":7,"date":1767225600,"chat":{"id":1,"type":"private","first_name":"Budi"},"from":{"id":1,"is_bot":true,"first_name":"Bench","username":"bench_bot"},"text":"ok"}}"#;
    let photo = r#"{"ok":true,"result":{"message_id":7,"date":1767225600,"chat":{"id":1,"type":"private","first_name":"Budi"},"from":{"id":1,"is_bot":true,"first_name":"Bench","username":"bench_bot"},"photo":[{"file_id":"ph7","file_unique_id":"uph7","width":400,"height":400,"file_size":1000}],"caption":""}}"#;
    let me = r#"{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"Bench","username":"bench_bot","can_join_groups":true,"can_read_all_group_messages":false,"supports_inline_queries":false,"can_connect_to_business":false,"has_main_web_app":false}}"#;
    let webhook = r#"{"ok":true,"result":{"url":"","has_custom_certificate":false,"pending_update_count":0,"max_connections":40}}"#;
    format!(
        r#"master_process off;
daemon off;
pid {dir}/nginx.pid;
events {{ worker_connections 8192; }}
http {{
    log_format calls '$uri';
    access_log {log} calls;
    client_body_buffer_size 256k;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    default_type application/json;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location ~* /sendchataction$ {{ return 200 '{{"ok":true,"result":true}}'; }}
        location ~* /sendphoto$ {{ return 200 '{photo}'; }}
        location ~* /(send[a-z]*|edit[a-z]*)$ {{ return 200 '{message}'; }}
        location ~* /getme$ {{ return 200 '{me}'; }}
        location ~* /getwebhookinfo$ {{ return 200 '{webhook}'; }}
        location / {{ return 200 '{{"ok":true,"result":true}}'; }}
    }}
}}
"#,
        dir = dir.display(),
        log = log.display(),
    )
}

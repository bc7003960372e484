//! The benchmark of SPEC §5, run as `scripts/bench <scenario>` (docs/BENCHMARKS.md).
//!
//! It drives the real host from outside: the `tokobot serve` binary runs as its own process
//! on a PostgreSQL cluster with production's durable settings, and the benchmark posts
//! Telegram updates and Pakasir webhooks to its HTTP routes while serving stand-ins for the
//! Bot API and Pakasir that answer in microseconds and count what each chat received.
//! Every scenario prints a table and writes `target/bench/<scenario>.json`.
//!
//! - `browse`: a crowd of customers, most of them first contacts, browsing hundreds of stores;
//! - `buy`: checkout → QRIS invoice → Pakasir webhook → goods, in many stores at once;
//! - `idle`: memory and restart time with thousands of idle stores;
//! - `import`: a 100,000-line stock list through the catalog import and the stock route;
//! - `overload`: browse at twice the rate `browse` sustained;
//! - `broadcast`: one store broadcasting to 10,000 customers, and 100 stores to 1,000 each,
//!   while others browse;
//! - `wrk`: the browse crowd offered by wrk and answered by nginx as Telegram, the cheapest
//!   tools there are, so the host has the cores to itself as far as can be;
//! - `pgbench`: PostgreSQL alone, the bound under the others;
//! - `smoke`: a seconds-long browse, buy and broadcast that fails on a wrong answer, never on
//!   timing.

mod host;
mod load;
mod report;
mod scenarios;
mod setup;
mod standin;

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Parser, Subcommand};

use scenarios::{
    Rig, broadcast::BroadcastArgs, browse::BrowseArgs, buy::BuyArgs, idle::IdleArgs,
    import::ImportArgs,
};

#[derive(Parser)]
#[command(
    name = "bench",
    about = "Benchmarks the tokobot host from outside its process"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
    /// The host binary (default: `tokobot` next to this benchmark's build directory).
    #[arg(long, global = true)]
    host_bin: Option<PathBuf>,
    /// Where results, logs and the PostgreSQL cluster go.
    #[arg(long, global = true, default_value = "target/bench")]
    out: PathBuf,
}

#[derive(Subcommand)]
enum Scenario {
    /// Browsing customers: updates/s answered, latencies, replies per update, memory, CPU.
    Browse(BrowseArgs),
    /// Purchases: checkout to goods, purchases/s and payment-to-delivery time.
    Buy(BuyArgs),
    /// Idle stores: memory and restart time.
    Idle(IdleArgs),
    /// Large stock lists: catalog import and stock upload time, and whether imports wait.
    Import(ImportArgs),
    /// Browsing at twice the rate `browse` sustained (from its JSON) or at --rate.
    Overload(BrowseArgs),
    /// Broadcasts at once while customers browse: messages/s per bot against the pace,
    /// duplicates, 429s Telegram would have given, replies to the browsing customers.
    Broadcast(BroadcastArgs),
    /// The browse crowd offered by wrk, nginx answering as Telegram: what the host sustains
    /// when the load costs next to nothing (needs Debian's wrk and nginx-light).
    Wrk(scenarios::wrk::WrkArgs),
    /// What PostgreSQL alone does here (pgbench): the bound under the other figures.
    Pgbench(scenarios::pgbench::PgbenchArgs),
    /// A seconds-long browse, buy and broadcast on a few stores; exits 1 on any wrong answer.
    Smoke,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the scenario; `Ok(false)` when the host gave a wrong answer.
async fn run(cli: Cli) -> anyhow::Result<bool> {
    let host_bin = match cli.host_bin {
        Some(bin) => bin,
        None => default_host_bin()?,
    };
    let out = cli.out;
    let (mut rig, reports) = match cli.scenario {
        Scenario::Browse(args) => {
            let mut rig = Rig::start(out.clone(), host_bin, "browse").await?;
            let report = scenarios::browse::run(&mut rig, &args, "browse").await?;
            (rig, vec![report])
        }
        Scenario::Overload(mut args) => {
            if args.rate.is_none() {
                args.rate = Some(2.0 * sustained_rate(&out)?);
            }
            let mut rig = Rig::start(out.clone(), host_bin, "overload").await?;
            let report = scenarios::browse::run(&mut rig, &args, "overload").await?;
            (rig, vec![report])
        }
        Scenario::Buy(args) => {
            let mut rig = Rig::start(out.clone(), host_bin, "buy").await?;
            let report = scenarios::buy::run(&mut rig, &args, "buy").await?;
            (rig, vec![report])
        }
        Scenario::Idle(args) => {
            let mut rig = Rig::start(out.clone(), host_bin, "idle").await?;
            let report = scenarios::idle::run(&mut rig, &args).await?;
            (rig, vec![report])
        }
        Scenario::Import(args) => {
            let mut rig = Rig::start(out.clone(), host_bin, "import").await?;
            let report = scenarios::import::run(&mut rig, &args).await?;
            (rig, vec![report])
        }
        Scenario::Broadcast(args) => {
            let mut rig = Rig::start(out.clone(), host_bin, "broadcast").await?;
            let mut reports = Vec::new();
            for (name, shape) in args.shapes() {
                reports.push(scenarios::broadcast::run(&mut rig, &args, shape, &name).await?);
            }
            (rig, reports)
        }
        Scenario::Wrk(args) => {
            let mut rig = Rig::start(out.clone(), host_bin, "wrk").await?;
            let report = scenarios::wrk::run(&mut rig, &args, &out).await?;
            (rig, vec![report])
        }
        Scenario::Pgbench(args) => {
            // PostgreSQL alone: no host, no stand-ins.
            let (db, report) = scenarios::pgbench::run(&out, &args).await?;
            db.drop_database().await?;
            report.finish(&out)?;
            return Ok(true);
        }
        Scenario::Smoke => {
            let mut rig = Rig::start(out.clone(), host_bin, "smoke").await?;
            let browse = BrowseArgs {
                stores: 3,
                users: 60,
                rate: Some(100.0),
                seconds: 2.0,
                connections: 16,
                drain_seconds: 30.0,
            };
            let buy = BuyArgs {
                stores: 2,
                customers: 3,
                rate: None,
                concurrency: Some(4),
                pay_after_min: 0.2,
                pay_after_max: 0.5,
                seconds: 30.0,
                purchases: Some(6),
                stock: 5,
            };
            let browsed = scenarios::browse::run(&mut rig, &browse, "smoke-browse").await?;
            let bought = scenarios::buy::run(&mut rig, &buy, "smoke-buy").await?;
            let (args, shape) = scenarios::broadcast::smoke();
            let broadcast =
                scenarios::broadcast::run(&mut rig, &args, shape, "smoke-broadcast").await?;
            (rig, vec![browsed, bought, broadcast])
        }
    };
    rig.host.stop().await?;
    rig.db.drop_database().await?;
    let mut right = true;
    for report in &reports {
        report.finish(&out)?;
        right &= report.failures.is_empty();
    }
    Ok(right)
}

/// `target/<profile>/tokobot`, beside `target/<profile>/examples/bench`.
fn default_host_bin() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(|examples| examples.parent())
        .context("the benchmark runs from an unusual place; pass --host-bin")?;
    Ok(profile_dir.join("tokobot"))
}

/// The replies/s of the last `browse` run.
fn sustained_rate(out: &std::path::Path) -> anyhow::Result<f64> {
    let path = out.join("browse.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} is missing: run `browse` first, or give --rate",
            path.display()
        )
    })?;
    let document: serde_json::Value = serde_json::from_str(&text)?;
    document["figures"]["answered_per_s"]
        .as_f64()
        .filter(|rate| *rate > 0.0)
        .with_context(|| format!("{} holds no answered_per_s", path.display()))
}

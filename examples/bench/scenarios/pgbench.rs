//! The bound under every figure: what PostgreSQL itself does on this machine, measured with
//! `pgbench` on the benchmark's own cluster (the same durable settings the host runs on).
//! Small write transactions (`-N`: update an account, read it, insert a history row, commit)
//! bound anything that commits per update; select-only ones bound a read per update.

use std::{path::Path, process::Command};

use anyhow::{Context, bail};
use clap::Args;

use crate::{host::Database, report::Report};

#[derive(Args, Clone, Debug)]
pub struct PgbenchArgs {
    /// Concurrent clients (the host's pool has 16 connections and the money pool 4).
    #[arg(long, default_value_t = 16)]
    pub clients: u32,
    /// Seconds of each run.
    #[arg(long, default_value_t = 15)]
    pub seconds: u32,
}

pub async fn run(out: &Path, args: &PgbenchArgs) -> anyhow::Result<(Database, Report)> {
    let name = format!("bench_pgbench_{}", std::process::id());
    let db = Database::open(&out.join("postgres"), &name).await?;
    let pgbench = tokobot::db::embedded::client_tool("pgbench")
        .context("pgbench was not found beside the PostgreSQL server binaries")?;
    let mut report = Report::new("pgbench");
    report.detail("postgres_version", db.version.clone());
    pg(&pgbench, &["-i", "-q", "-s", "10", &db.url])?;
    let (clients, seconds) = (args.clients.to_string(), args.seconds.to_string());
    let common = ["-c", &clients, "-j", "2", "-T", &seconds, "-n"];
    for (key, label, mode) in [
        ("write_tps", "small write transactions (-N)", "-N"),
        ("read_tps", "single-row reads (-S)", "-S"),
    ] {
        let mut argv = common.to_vec();
        argv.extend([mode, db.url.as_str()]);
        let output = pg(&pgbench, &argv)?;
        let tps = output
            .lines()
            .find_map(|l| l.strip_prefix("tps = "))
            .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
            .with_context(|| format!("pgbench printed no tps:\n{output}"))?;
        report.num(key, &format!("{label}, {clients} clients"), tps, 0, "/s");
    }
    Ok((db, report))
}

fn pg(pgbench: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(pgbench).args(args).output()?;
    if !output.status.success() {
        bail!(
            "pgbench {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

//! Idle: many stores that nobody writes to. What each costs in memory, and what a restart
//! costs: the time from starting the process to `/readyz`, and the Bot API calls it makes
//! (the bots' identities are kept in the registry, so there should be none).

use std::time::{Duration, Instant};

use clap::Args;

use super::Rig;
use crate::{report::Report, setup::Catalog};

#[derive(Args, Clone, Debug)]
pub struct IdleArgs {
    /// Store counts to measure, in increasing order; each adds stores to the previous ones.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub stores: Vec<usize>,
}

pub async fn run(rig: &mut Rig, args: &IdleArgs) -> anyhow::Result<Report> {
    let mut report = Report::new("idle");
    rig.describe(&mut report);
    report.num(
        "empty_rss_mib",
        "host RSS with no store",
        rig.host.rss_kib() as f64 / 1024.0,
        0,
        "MiB",
    );
    let mut created = 0;
    for &count in &args.stores {
        let started = Instant::now();
        rig.stores("idle", created..count.max(created), Catalog::None)
            .await?;
        created = count.max(created);
        let creating = started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss_running = rig.host.rss_kib() as f64 / 1024.0;

        // A restart, as a deployment does it.
        rig.restart().await?;
        let ready = rig.host.ready_after.as_secs_f64();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let rss = rig.host.rss_kib() as f64 / 1024.0;
        let calls = rig.telegram.calls();
        let methods = rig.telegram.methods();

        let key = |name: &str| format!("{name}_{count}");
        report.num(
            &key("create_s"),
            &format!("{count} stores: created through the API in"),
            creating,
            1,
            "s",
        );
        report.num(
            &key("rss_running_mib"),
            &format!("{count} stores: RSS before the restart"),
            rss_running,
            0,
            "MiB",
        );
        report.num(
            &key("ready_s"),
            &format!("{count} stores: restart to /readyz"),
            ready,
            2,
            "s",
        );
        report.num(
            &key("rss_mib"),
            &format!("{count} stores: RSS 3 s after the restart"),
            rss,
            0,
            "MiB",
        );
        report.num(
            &key("kib_per_store"),
            &format!("{count} stores: RSS per store"),
            rss * 1024.0 / count as f64,
            1,
            "KiB",
        );
        report.add(
            &key("restart_bot_api_calls"),
            &format!("{count} stores: Bot API calls at restart"),
            calls,
            format!("{calls} {methods:?}"),
        );
        report.check(
            calls == 0,
            format!("a restart with {count} stores made {calls} Bot API calls: {methods:?}"),
        );
    }
    rig.finish(&mut report);
    Ok(report)
}

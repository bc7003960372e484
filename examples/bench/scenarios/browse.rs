//! Browse (and overload): a crowd of customers browsing hundreds of stores at an offered rate.
//! Every update the host answers 200 must get exactly one reply (a message or an edit);
//! updates it refuses with 503 are Telegram's to deliver again.

use std::time::{Duration, Instant};

use clap::Args;

use super::{Cpu, Rig, RssSampler};
use crate::{
    load::{self, Offer},
    report::Report,
    setup::{self, Catalog},
};

/// Customers' ids start here; a store's owner and admins are far below.
pub const FIRST_USER: i64 = 5_000_000_000;

#[derive(Args, Clone, Debug)]
pub struct BrowseArgs {
    /// Stores, created through the API.
    #[arg(long, default_value_t = 200)]
    pub stores: usize,
    /// Distinct customers.
    #[arg(long, default_value_t = 20_000)]
    pub users: usize,
    /// Updates offered per second (browse: 2,000; overload: twice the replies/s of the last
    /// browse run).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seconds of offering.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Connections to the webhook route at most (Telegram opens up to 40 per bot).
    #[arg(long, default_value_t = 512)]
    pub connections: usize,
    /// How long to wait for replies after the last update, at most.
    #[arg(long, default_value_t = 60.0)]
    pub drain_seconds: f64,
}

/// Creates the stores, offers the crowd's updates, waits for the replies, and reports.
/// The offered rate when `--rate` is not given to `browse`.
pub const DEFAULT_RATE: f64 = 2_000.0;

pub async fn run(rig: &mut Rig, args: &BrowseArgs, name: &str) -> anyhow::Result<Report> {
    let started = Instant::now();
    let stores = rig
        .stores(name, 0..args.stores, Catalog::Small { stock: 3 })
        .await?;
    println!(
        "{name}: {} stores created through the API in {:.1} s; offering {:.0} updates/s for {} s from {} customers",
        stores.len(),
        started.elapsed().as_secs_f64(),
        args.rate.unwrap_or(DEFAULT_RATE),
        args.seconds,
        args.users
    );
    run_on(rig, args, name, &stores).await
}

/// Offers the browse load to stores that exist already.
pub async fn run_on(
    rig: &mut Rig,
    args: &BrowseArgs,
    name: &str,
    stores: &[setup::Store],
) -> anyhow::Result<Report> {
    rig.telegram.reset();
    let rss_before = rig.host.rss_kib() as f64 / 1024.0;
    let db_before = rig
        .host
        .metrics(&rig.http, "tokobot_db_")
        .await
        .unwrap_or_default();
    let cpu = Cpu::now(rig);
    let sampler = RssSampler::start(rig.host.pid);
    let offer = Offer {
        rate: args.rate.unwrap_or(DEFAULT_RATE),
        duration: Duration::from_secs_f64(args.seconds),
        users: args.users,
        first_user: FIRST_USER,
        connections: args.connections,
    };
    let mut outcome = load::browse(offer, stores, &rig.telegram, &rig.http, &rig.host.base).await;
    let accepted = outcome.accepted();

    // Replies still on their way: wait until every accepted update has one, or none has come
    // for five seconds.
    let drained_in = super::drain(
        accepted,
        Duration::from_secs_f64(args.drain_seconds),
        || rig.telegram.replies(),
    )
    .await;
    // A straggler reply beyond one per update would show here.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut report = Report::new(name);
    rig.describe(&mut report);
    cpu.report(rig, &mut report, accepted, 1_000, "updates");
    let rss_peak = sampler.stop().await;
    let db_after = rig
        .host
        .metrics(&rig.http, "tokobot_db_")
        .await
        .unwrap_or_default();

    let (replies, missing, unexpected, answers) =
        rig.telegram
            .fold_chats((0u64, 0u64, 0u64, 0u64), |acc, chat, state| {
                if chat >= FIRST_USER {
                    acc.0 += u64::from(state.replies);
                    acc.1 += state_pending(state);
                    acc.2 += u64::from(state.unexpected);
                    acc.3 += u64::from(state.answers);
                }
            });
    let refused = outcome.statuses.get(&503).copied().unwrap_or(0);
    let other: u64 = outcome
        .statuses
        .iter()
        .filter(|(status, _)| !matches!(status, 200 | 503))
        .map(|(_, n)| n)
        .sum();
    let mut reply_micros = rig.telegram.take_reply_latencies();
    let offered_for = outcome.offered_for.as_secs_f64();

    report.num(
        "offered_per_s",
        "offered",
        outcome.offered as f64 / offered_for,
        0,
        "updates/s",
    );
    report.add(
        "offered",
        "updates offered",
        outcome.offered,
        outcome.offered.to_string(),
    );
    report.add(
        "customers",
        "distinct customers (all first contacts)",
        outcome.users_seen,
        outcome.users_seen.to_string(),
    );
    report.add("accepted", "answered 200", accepted, accepted.to_string());
    report.add("refused_503", "answered 503", refused, refused.to_string());
    report.add(
        "other_answers",
        "other answers or no answer",
        other,
        other.to_string(),
    );
    report.detail("statuses", serde_json::to_value(&outcome.statuses)?);
    report.num(
        "answered_per_s",
        "replies/s while offering",
        outcome.replies_by_end as f64 / offered_for,
        0,
        "updates/s",
    );
    report.percentiles(
        "answer",
        "webhook answer",
        &mut outcome.answer_micros,
        &[50.0, 99.0],
        2,
    );
    report.percentiles(
        "reply",
        "update-to-reply",
        &mut reply_micros,
        &[50.0, 99.0],
        2,
    );
    let per_update = replies as f64 / accepted.max(1) as f64;
    report.num(
        "replies_per_accepted",
        "replies per accepted update",
        per_update,
        2,
        "",
    );
    report.add(
        "missing_replies",
        "accepted updates never replied to",
        missing,
        missing.to_string(),
    );
    report.add(
        "extra_replies",
        "replies nobody waited for",
        unexpected,
        unexpected.to_string(),
    );
    report.detail("button_answers", answers);
    report.num(
        "drain_s",
        "replies drained after the load in",
        drained_in.as_secs_f64(),
        1,
        "s",
    );
    report.num("rss_before_mib", "host RSS before", rss_before, 0, "MiB");
    report.num("rss_peak_mib", "host RSS peak", rss_peak, 0, "MiB");
    report.num(
        "rss_after_mib",
        "host RSS after",
        rig.host.rss_kib() as f64 / 1024.0,
        0,
        "MiB",
    );
    super::db_counters(&mut report, &db_before, &db_after, accepted, "update");
    report.detail(
        "bot_api_calls",
        serde_json::to_value(rig.telegram.methods())?,
    );
    rig.finish(&mut report);

    report.check(
        other == 0,
        format!("{other} updates were answered neither 200 nor 503"),
    );
    report.check(
        missing == 0,
        format!("{missing} accepted updates got no reply"),
    );
    report.check(
        unexpected == 0,
        format!("{unexpected} replies answered no update"),
    );
    report.check(
        replies == accepted,
        format!("{replies} replies to {accepted} accepted updates"),
    );
    Ok(report)
}

fn state_pending(chat: &crate::standin::telegram::Chat) -> u64 {
    chat.pending_len() as u64
}

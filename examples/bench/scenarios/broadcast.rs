//! Broadcast: stores with many customers each send one broadcast at once, started through the
//! API, while other customers of the same stores browse; the Bot API stand-in counts every
//! message per chat and checks it against Telegram's limits (`standin::limits`).
//!
//! The customers are real customers of their store, recorded by the host itself: each opens
//! the store's category page once (a button press, as under a message the store's bot sent
//! before). The host records a customer from any update; a press is answered by an edit and a
//! button answer, which Telegram's limits and the host's pacer do not count, whereas a
//! `/start` would be answered by a paced welcome message: 10,000 of them take the bot's whole
//! budget for 333 s before the broadcast could start, and nothing measured depends on how the
//! customers arrived. The stand-in's counts are reset before the broadcasts start.
//!
//! What is measured: messages a second per bot against the store's `broadcast_per_second`,
//! messages a second in all, duplicates and missing recipients (per chat, at the stand-in),
//! the messages Telegram would have refused with 429, the update-to-reply time of the browsing
//! customers, and the database round trips and CPU per message.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Args;
use futures::{StreamExt, stream};
use reqwest::Method;
use serde_json::{Value, json};
use tokobot::bot::callbacks::Callback;

use super::{Cpu, Rig, RssSampler};
use crate::{
    load::{self, Offer, callback_update, next_update_id},
    report::Report,
    setup::{Catalog, Store},
};

/// Recipient `r` of store `s` is the customer `RECIPIENTS + s * SPAN + r`.
const RECIPIENTS: i64 = 8_000_000_000;
const SPAN: i64 = 1_000_000;
/// The browsing customers' ids start here, above every recipient.
const BROWSERS: i64 = 9_000_000_000;
/// Browsing customers per store (each acts at most every 2 s).
const BROWSERS_PER_STORE: usize = 20;
/// Customers' first presses in flight at once during the setup.
const SETUP_AT_ONCE: usize = 128;
/// The host's default `broadcast_per_second`.
const DEFAULT_PACE: u32 = 25;
const TEXT: &str = "Promo bench: stok baru sudah masuk, cek sekarang!";

#[derive(Args, Clone, Debug)]
pub struct BroadcastArgs {
    /// Stores broadcasting at once. Without --stores and --recipients both shapes of issue 8
    /// run, one after the other: 1 store × 10,000 recipients and 100 stores × 1,000.
    #[arg(long)]
    pub stores: Option<usize>,
    /// Recipients (customers) per store.
    #[arg(long)]
    pub recipients: Option<usize>,
    /// The stores' `broadcast_per_second` (1–25); the host's default when not given.
    #[arg(long)]
    pub pace: Option<u32>,
    /// Updates a second offered by customers browsing the broadcasting stores meanwhile
    /// (default: one a second per store, at least 5).
    #[arg(long)]
    pub browse_rate: Option<f64>,
}

/// One run: how many stores broadcast to how many customers each.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub stores: usize,
    pub recipients: usize,
}

impl BroadcastArgs {
    /// The runs asked for, each with its name.
    pub fn shapes(&self) -> Vec<(String, Shape)> {
        match (self.stores, self.recipients) {
            (None, None) => vec![
                (
                    "broadcast-1x10000".to_owned(),
                    Shape {
                        stores: 1,
                        recipients: 10_000,
                    },
                ),
                (
                    "broadcast-100x1000".to_owned(),
                    Shape {
                        stores: 100,
                        recipients: 1_000,
                    },
                ),
            ],
            (stores, recipients) => {
                let shape = Shape {
                    stores: stores.unwrap_or(1),
                    recipients: recipients.unwrap_or(1_000),
                };
                vec![(
                    format!("broadcast-{}x{}", shape.stores, shape.recipients),
                    shape,
                )]
            }
        }
    }
}

pub async fn run(
    rig: &mut Rig,
    args: &BroadcastArgs,
    shape: Shape,
    name: &str,
) -> anyhow::Result<Report> {
    anyhow::ensure!(
        shape.stores >= 1 && shape.recipients >= 1 && shape.recipients < SPAN as usize,
        "a broadcast needs at least one store and one recipient (below {SPAN})"
    );
    let started = Instant::now();
    let stores = rig
        .stores(name, 0..shape.stores, Catalog::Small { stock: 1 })
        .await?;
    if let Some(pace) = args.pace {
        for store in &stores {
            let path = format!("/api/v1/tenants/{}", store.slug);
            let body = json!({ "settings": { "broadcast_per_second": pace } });
            rig.api.call(Method::PATCH, &path, Some(body)).await?;
        }
    }
    let pace = configured_pace(rig, &stores[0]).await?;
    add_customers(rig, &stores, shape.recipients).await?;
    println!(
        "{name}: {} stores with {} customers each ready in {:.1} s; broadcasting at {pace}/s per store",
        stores.len(),
        shape.recipients,
        started.elapsed().as_secs_f64(),
    );

    rig.telegram.reset();
    let db_before = rig
        .host
        .metrics(&rig.http, "tokobot_db_")
        .await
        .unwrap_or_default();
    let cpu = Cpu::now(rig);
    let sampler = RssSampler::start(rig.host.pid);
    let expected = Duration::from_secs_f64(shape.recipients as f64 / f64::from(pace));
    let broadcast_started = Instant::now();
    let ids = start_broadcasts(rig, &stores, shape.recipients).await?;
    // The browsing customers come after the broadcasts are queued, so they are not among
    // the recipients (a broadcast goes to everyone who wrote to the store before it).
    let browse_rate = args.browse_rate.unwrap_or((shape.stores as f64).max(5.0));
    let browsing = tokio::spawn({
        let offer = Offer {
            rate: browse_rate,
            // Browsing stays inside the broadcast (which takes `expected` at the least).
            duration: expected.mul_f64(0.8).max(Duration::from_secs(1)),
            users: shape.stores * BROWSERS_PER_STORE,
            first_user: BROWSERS,
            connections: 64,
        };
        let (stores, telegram) = (stores.clone(), rig.telegram.clone());
        let (http, base) = (rig.http.clone(), rig.host.base.clone());
        async move { load::browse(offer, &stores, &telegram, &http, &base).await }
    });
    let finished = wait_finished(rig, &ids, expected * 3 + Duration::from_secs(60)).await?;
    let broadcast_took = broadcast_started.elapsed();
    let outcome = browsing.await?;
    let accepted = outcome.accepted();
    drain_replies(rig).await;

    let mut report = Report::new(name);
    rig.describe(&mut report);
    let delivered = Delivered::count(rig, shape);
    cpu.report(rig, &mut report, delivered.messages, 1_000, "messages");
    let rss_peak = sampler.stop().await;
    let db_after = rig
        .host
        .metrics(&rig.http, "tokobot_db_")
        .await
        .unwrap_or_default();
    let violations = rig.telegram.violations();
    let expected_total = (shape.stores * shape.recipients) as u64;

    report.add(
        "stores",
        "stores broadcasting",
        shape.stores,
        shape.stores.to_string(),
    );
    report.add(
        "recipients_per_store",
        "recipients per store",
        shape.recipients,
        shape.recipients.to_string(),
    );
    report.add(
        "pace_per_s",
        "configured pace (broadcast_per_second)",
        pace,
        format!("{pace} messages/s per bot"),
    );
    report.add(
        "messages",
        "broadcast messages received",
        delivered.messages,
        delivered.messages.to_string(),
    );
    report.add(
        "duplicates",
        "duplicates (a second copy in a chat)",
        delivered.duplicates,
        delivered.duplicates.to_string(),
    );
    let missing = expected_total.saturating_sub(delivered.chats);
    report.add(
        "missing",
        "recipients who got nothing",
        missing,
        missing.to_string(),
    );
    let rates = delivered.per_store_rates();
    let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    let (low, high) = rates
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
    report.num(
        "per_bot_mean_per_s",
        "messages/s per bot, mean",
        mean,
        2,
        "/s",
    );
    report.num(
        "per_bot_min_per_s",
        "messages/s per bot, lowest",
        if rates.is_empty() { 0.0 } else { low },
        2,
        "/s",
    );
    report.num(
        "per_bot_max_per_s",
        "messages/s per bot, highest",
        high,
        2,
        "/s",
    );
    report.num(
        "total_per_s",
        "messages/s in all (first to last message)",
        delivered.total_rate(),
        0,
        "/s",
    );
    report.num(
        "broadcast_s",
        "first POST to the last broadcast done (API)",
        broadcast_took.as_secs_f64(),
        1,
        "s",
    );
    report.add(
        "over_bot_limit",
        "429s Telegram would have given: over 30/s per bot",
        violations.per_bot,
        violations.per_bot.to_string(),
    );
    report.add(
        "over_chat_limit",
        "429s Telegram would have given: over 1/s per chat",
        violations.per_chat,
        violations.per_chat.to_string(),
    );

    let mut reply_micros = rig.telegram.take_reply_latencies();
    let mut answer_micros = outcome.answer_micros;
    let pending_replies = browser_replies_missing(rig);
    report.num(
        "browse_offered_per_s",
        "browsing updates offered meanwhile",
        outcome.offered as f64 / outcome.offered_for.as_secs_f64().max(1e-9),
        1,
        "updates/s",
    );
    report.add(
        "browse_accepted",
        "browsing updates answered 200",
        accepted,
        format!("{accepted} of {}", outcome.offered),
    );
    report.percentiles(
        "browse_answer",
        "browsing webhook answer",
        &mut answer_micros,
        &[99.0],
        2,
    );
    report.percentiles(
        "browse_reply",
        "browsing update-to-reply",
        &mut reply_micros,
        &[50.0, 99.0],
        2,
    );
    report.add(
        "browse_missing_replies",
        "browsing updates never replied to",
        pending_replies,
        pending_replies.to_string(),
    );
    let trips = db_after
        .get("tokobot_db_round_trips_total")
        .copied()
        .unwrap_or(0.0)
        - db_before
            .get("tokobot_db_round_trips_total")
            .copied()
            .unwrap_or(0.0);
    report.num(
        "db_round_trips_per_message",
        "database round trips per message (everything the host did)",
        trips / delivered.messages.max(1) as f64,
        2,
        "",
    );
    report.num("rss_peak_mib", "host RSS peak", rss_peak, 0, "MiB");
    report.detail(
        "bot_api_calls",
        serde_json::to_value(rig.telegram.methods())?,
    );
    report.detail("per_store_rates", serde_json::to_value(&rates)?);
    report.detail("api_progress", finished.clone());
    rig.finish(&mut report);

    report.check(
        delivered.duplicates == 0,
        format!("{} duplicate messages", delivered.duplicates),
    );
    report.check(missing == 0, format!("{missing} recipients got nothing"));
    let api_sent: i64 = finished
        .iter()
        .map(|b| b["progress"]["sent"].as_i64().unwrap_or(0))
        .sum();
    report.check(
        api_sent == expected_total as i64 && delivered.messages == expected_total,
        format!(
            "the API counts {api_sent} sent, the stand-in {} messages, of {expected_total}",
            delivered.messages
        ),
    );
    report.check(
        finished.iter().all(|b| b["state"] == "done"),
        "a broadcast did not finish",
    );
    report.check(
        pending_replies == 0,
        format!("{pending_replies} browsing updates were never replied to"),
    );
    Ok(report)
}

/// The store's `broadcast_per_second`, as the API reports it.
async fn configured_pace(rig: &Rig, store: &Store) -> anyhow::Result<u32> {
    let path = format!("/api/v1/tenants/{}", store.slug);
    let tenant = rig.api.call(Method::GET, &path, None).await?;
    Ok(tenant["settings"]["broadcast_per_second"]
        .as_u64()
        .map_or(DEFAULT_PACE, |pace| pace as u32))
}

/// Makes `recipients` customers of every store, each pressing the store's category button
/// once, and waits until the host has recorded them all (its `stats` count them).
async fn add_customers(rig: &Rig, stores: &[Store], recipients: usize) -> anyhow::Result<()> {
    let presses = stores.iter().enumerate().flat_map(|(s, store)| {
        (0..recipients).map(move |r| (store, RECIPIENTS + s as i64 * SPAN + r as i64))
    });
    let results: Vec<anyhow::Result<()>> = stream::iter(presses)
        .map(|(store, chat)| press_category(rig, store, chat))
        .buffer_unordered(SETUP_AT_ONCE)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<()>>()?;
    // First contacts are written in the host's bookkeeping flush, every few seconds.
    let deadline = Instant::now() + Duration::from_secs(120);
    for store in stores {
        let path = format!("/api/v1/tenants/{}/stats", store.slug);
        loop {
            let stats = rig.api.call(Method::GET, &path, None).await?;
            let total = stats["customers"]["total"].as_u64().unwrap_or(0);
            if total >= recipients as u64 {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "{} has {total} customers of {recipients} after two minutes",
                    store.slug
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(())
}

/// One customer's press of the store's category button, delivered as Telegram does: again
/// while the host answers 503.
async fn press_category(rig: &Rig, store: &Store, chat: i64) -> anyhow::Result<()> {
    let data = Callback::Category {
        id: Some(store.category),
        page: 0,
    }
    .to_string();
    let body = callback_update(next_update_id(), chat, &data);
    let url = format!("{}/webhooks/telegram/{}", rig.host.base, store.slug);
    for _ in 0..600 {
        let status = rig
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header("X-Telegram-Bot-Api-Secret-Token", &store.secret)
            .body(body.clone())
            .timeout(Duration::from_secs(30))
            .send()
            .await?
            .status();
        match status.as_u16() {
            200 => return Ok(()),
            503 => tokio::time::sleep(Duration::from_millis(100)).await,
            other => bail!("customer {chat} of {} was answered {other}", store.slug),
        }
    }
    bail!("customer {chat} of {} was refused for a minute", store.slug)
}

/// Starts every store's broadcast through the API, a few at a time; their ids by store.
async fn start_broadcasts(
    rig: &Rig,
    stores: &[Store],
    recipients: usize,
) -> anyhow::Result<Vec<(String, i64)>> {
    let started: Vec<anyhow::Result<(String, i64)>> = stream::iter(stores)
        .map(|store| async move {
            let path = format!("/api/v1/tenants/{}/broadcasts", store.slug);
            let created = rig
                .api
                .call(Method::POST, &path, Some(json!({ "text": TEXT })))
                .await?;
            let total = created["progress"]["total"].as_u64().unwrap_or(0);
            anyhow::ensure!(
                total == recipients as u64,
                "{}'s broadcast has {total} recipients, not {recipients}",
                store.slug
            );
            let id = created["id"].as_i64().context("a broadcast has an id")?;
            Ok((store.slug.clone(), id))
        })
        .buffer_unordered(16)
        .collect()
        .await;
    started.into_iter().collect()
}

/// Polls the API until every broadcast is done or cancelled; their last state.
async fn wait_finished(
    rig: &Rig,
    ids: &[(String, i64)],
    timeout: Duration,
) -> anyhow::Result<Vec<Value>> {
    let deadline = Instant::now() + timeout;
    let mut last: HashMap<i64, Value> = HashMap::new();
    loop {
        for (slug, id) in ids {
            if last
                .get(id)
                .is_some_and(|b| matches!(b["state"].as_str(), Some("done" | "cancelled")))
            {
                continue;
            }
            let path = format!("/api/v1/tenants/{slug}/broadcasts/{id}");
            last.insert(*id, rig.api.call(Method::GET, &path, None).await?);
        }
        let open = last
            .values()
            .filter(|b| !matches!(b["state"].as_str(), Some("done" | "cancelled")))
            .count();
        if open == 0 || Instant::now() > deadline {
            return Ok(ids.iter().filter_map(|(_, id)| last.remove(id)).collect());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until every browsing update has its reply, or none has come for five seconds.
async fn drain_replies(rig: &Rig) {
    let (mut last, mut quiet_since) = (browser_replies_missing(rig), Instant::now());
    while last > 0 && quiet_since.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = browser_replies_missing(rig);
        if now != last {
            (last, quiet_since) = (now, Instant::now());
        }
    }
}

/// Browsing updates accepted and not replied to yet.
fn browser_replies_missing(rig: &Rig) -> u64 {
    rig.telegram.fold_chats(0u64, |missing, chat, state| {
        if chat >= BROWSERS {
            *missing += state.pending_len() as u64;
        }
    })
}

/// What the recipients received, per store.
struct Delivered {
    /// Messages to recipients in all.
    messages: u64,
    /// Recipients who got at least one.
    chats: u64,
    /// Copies beyond the first, in all.
    duplicates: u64,
    /// Per store: messages, the first's and the last's arrival.
    stores: Vec<(u64, Option<Instant>, Option<Instant>)>,
}

impl Delivered {
    fn count(rig: &Rig, shape: Shape) -> Self {
        let empty = Self {
            messages: 0,
            chats: 0,
            duplicates: 0,
            stores: vec![(0, None, None); shape.stores],
        };
        rig.telegram.fold_chats(empty, |acc, chat, state| {
            if !(RECIPIENTS..BROWSERS).contains(&chat) || state.messages == 0 {
                return;
            }
            let store = ((chat - RECIPIENTS) / SPAN) as usize;
            let Some(entry) = acc.stores.get_mut(store) else {
                return;
            };
            let messages = u64::from(state.messages);
            acc.messages += messages;
            acc.chats += 1;
            acc.duplicates += messages - 1;
            entry.0 += messages;
            entry.1 = earliest(entry.1, state.first_message);
            entry.2 = latest(entry.2, state.last_message);
        })
    }

    /// Each store's messages a second, from its first message to its last.
    fn per_store_rates(&self) -> Vec<f64> {
        self.stores
            .iter()
            .filter_map(|(count, first, last)| rate(*count, (*first)?, (*last)?))
            .collect()
    }

    /// Messages a second across all stores, from the first message to the last.
    fn total_rate(&self) -> f64 {
        let first = self.stores.iter().filter_map(|s| s.1).min();
        let last = self.stores.iter().filter_map(|s| s.2).max();
        match (first, last) {
            (Some(first), Some(last)) => rate(self.messages, first, last).unwrap_or(0.0),
            _ => 0.0,
        }
    }
}

/// `count` messages from `first` to `last`: `count - 1` intervals.
fn rate(count: u64, first: Instant, last: Instant) -> Option<f64> {
    let span = last.duration_since(first).as_secs_f64();
    (count > 1 && span > 0.0).then(|| (count - 1) as f64 / span)
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn latest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    a.max(b)
}

/// The smoke run's broadcast: seconds long, two stores.
pub fn smoke() -> (BroadcastArgs, Shape) {
    let args = BroadcastArgs {
        stores: Some(2),
        recipients: Some(30),
        pace: None,
        browse_rate: Some(4.0),
    };
    let shape = Shape {
        stores: 2,
        recipients: 30,
    };
    (args, shape)
}

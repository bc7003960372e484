//! Buy: customers of many stores put a product in the cart, check out, ask for a QRIS invoice,
//! take a few seconds to pay it (as a person scanning a QR code does), and Pakasir's webhook is
//! posted to the host; a purchase is complete when its goods message reaches the customer.
//!
//! Purchases are offered at a rate (open loop, as `browse` offers updates: a purchase is due
//! whether or not the host keeps up) or kept at a number in flight (`--concurrency`). Every
//! store has many customers, each with at most one purchase in flight, so a store has many
//! purchases in flight at once. Before the load, one traced purchase on a quiet host counts the
//! database round trips of each step.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Args;
use tokio::sync::Semaphore;
use tokobot::bot::callbacks::Callback;

use super::{Cpu, Rig, RssSampler};
use crate::{
    load::{callback_update, next_update_id},
    report::Report,
    setup::{Catalog, Store},
    standin::telegram::Chat,
};

/// Buyers' ids start here, apart from the browsing crowd; store `n`'s customers are
/// `FIRST_BUYER + n * 1_000 + k`.
const FIRST_BUYER: i64 = 7_000_000_000;
/// The customer of store 0 who makes the traced purchase, apart from the load's.
const TRACED_BUYER: i64 = FIRST_BUYER + 999;
/// A step that takes longer than this is a failed purchase.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);
/// The database round-trip counter the traced purchase reads.
const ROUND_TRIPS: &str = "tokobot_db_round_trips_total";

#[derive(Args, Clone, Debug)]
pub struct BuyArgs {
    /// Stores.
    #[arg(long, default_value_t = 200)]
    pub stores: usize,
    /// Customers of each store; a customer has at most one purchase in flight.
    #[arg(long, default_value_t = 25)]
    pub customers: usize,
    /// Purchases started a second, open loop (the default is 500, SPEC's target).
    #[arg(long, conflicts_with = "concurrency")]
    pub rate: Option<f64>,
    /// Instead of a rate: keep this many purchases in flight, starting one as another ends.
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Seconds a customer takes at least between seeing the invoice and paying it.
    #[arg(long, default_value_t = 2.0)]
    pub pay_after_min: f64,
    /// Seconds a customer takes at most between seeing the invoice and paying it (the pauses
    /// are spread evenly between the two).
    #[arg(long, default_value_t = 4.0)]
    pub pay_after_max: f64,
    /// Seconds of starting purchases.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Stop starting purchases after this many.
    #[arg(long)]
    pub purchases: Option<u64>,
    /// Stock items of each of a store's six products.
    #[arg(long, default_value_t = 100)]
    pub stock: usize,
}

impl BuyArgs {
    /// The pause before paying of purchase `n`: spread evenly over the range by the golden
    /// ratio's sequence, so runs are reproducible without a random number generator.
    fn pay_after(&self, n: u64) -> Duration {
        let spread = (n as f64 * 0.618_033_988_75).fract();
        let (low, high) = (
            self.pay_after_min.max(0.0),
            self.pay_after_max.max(self.pay_after_min),
        );
        Duration::from_secs_f64(low + (high - low) * spread)
    }
}

/// How purchases are started.
enum Pace {
    /// One every `1 / rate` seconds.
    Rate(f64),
    /// As many as the semaphore has permits.
    InFlight(Arc<Semaphore>),
}

#[derive(Default)]
struct Tally {
    started: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    /// Purchases due when every customer had one in flight already (not started).
    no_customer: AtomicU64,
    /// Payment webhook posted → goods message at the stand-in, in microseconds.
    to_goods: Mutex<Vec<u32>>,
    /// Payment webhook answer times, in microseconds.
    webhook: Mutex<Vec<u32>>,
    /// The first button press to the invoice photo: what a customer waits for before paying.
    to_invoice: Mutex<Vec<u32>>,
    /// The first webhook posted and the last goods received: the window payments settled in.
    first_paid: Mutex<Option<Instant>>,
    last_goods: Mutex<Option<Instant>>,
    errors: Mutex<Vec<String>>,
}

pub async fn run(rig: &mut Rig, args: &BuyArgs, name: &str) -> anyhow::Result<Report> {
    let created = Instant::now();
    let stores = rig
        .stores(name, 0..args.stores, Catalog::Small { stock: args.stock })
        .await?;
    let pace = match (args.rate, args.concurrency) {
        (_, Some(n)) => Pace::InFlight(Arc::new(Semaphore::new(n.max(1)))),
        (rate, None) => Pace::Rate(rate.unwrap_or(500.0).max(0.1)),
    };
    println!(
        "{name}: {} stores created through the API in {:.1} s; {} for {} s, {} customers a store, paying {}–{} s after the invoice",
        stores.len(),
        created.elapsed().as_secs_f64(),
        match &pace {
            Pace::Rate(rate) => format!("{rate:.0} purchases/s offered"),
            Pace::InFlight(_) => format!("{} purchases in flight", args.concurrency.unwrap_or(1)),
        },
        args.seconds,
        args.customers,
        args.pay_after_min,
        args.pay_after_max,
    );
    let shops: Arc<Vec<Shop>> = Arc::new(
        stores
            .into_iter()
            .map(|store| Shop {
                http: rig.http.clone(),
                base: rig.host.base.clone(),
                telegram: rig.telegram.clone(),
                pakasir: rig.pakasir.clone(),
                store,
            })
            .collect(),
    );
    let mut report = Report::new(name);
    rig.describe(&mut report);
    trace_one(rig, &shops[0], &mut report).await?;

    rig.telegram.reset();
    let pakasir_before = rig.pakasir.calls();
    let db_before = rig.host.series(&rig.http, "tokobot_db_").await?;
    let cpu = Cpu::now(rig);
    let sampler = RssSampler::start(rig.host.pid);
    let tally = Arc::new(Tally::default());
    let offering = offer(args, &pace, &shops, &tally).await;

    let completed = tally.completed.load(Ordering::Relaxed);
    let failed = tally.failed.load(Ordering::Relaxed);
    cpu.report(rig, &mut report, completed, 1, "purchase");
    let rss_peak = sampler.stop().await;
    let db_after = rig.host.series(&rig.http, "tokobot_db_").await?;
    let take =
        |m: &Mutex<Vec<u32>>| std::mem::take(&mut *m.lock().unwrap_or_else(|e| e.into_inner()));
    let (mut to_goods, mut webhook, mut to_invoice) = (
        take(&tally.to_goods),
        take(&tally.webhook),
        take(&tally.to_invoice),
    );
    let started = tally.started.load(Ordering::Relaxed);
    let no_customer = tally.no_customer.load(Ordering::Relaxed);
    report.num(
        "offered_per_s",
        "purchases started/s",
        started as f64 / offering.as_secs_f64(),
        1,
        "/s",
    );
    report.add(
        "no_customer",
        "purchases due with every customer busy (not started)",
        no_customer,
        no_customer.to_string(),
    );
    report.add(
        "purchases",
        "purchases completed",
        completed,
        completed.to_string(),
    );
    report.add("failed", "purchases failed", failed, failed.to_string());
    let window = match (*lock(&tally.first_paid), *lock(&tally.last_goods)) {
        (Some(first), Some(last)) => last.saturating_duration_since(first).as_secs_f64(),
        _ => 0.0,
    };
    report.num(
        "purchases_per_s",
        "purchases/s (first payment to last goods)",
        completed as f64 / window.max(1e-3),
        1,
        "/s",
    );
    for (key, label, samples) in [
        ("webhook", "payment webhook answer", &mut webhook),
        ("to_goods", "payment webhook → goods", &mut to_goods),
        ("to_invoice", "first press → invoice", &mut to_invoice),
    ] {
        report.percentiles(key, label, samples, &[50.0, 99.0], 1);
    }
    let pakasir_calls = rig.pakasir.calls() - pakasir_before;
    report.num(
        "pakasir_calls_per_purchase",
        "Pakasir calls per purchase",
        pakasir_calls as f64 / completed.max(1) as f64,
        2,
        "",
    );
    report.num(
        "bot_api_calls_per_purchase",
        "Bot API calls per purchase",
        rig.telegram.calls() as f64 / completed.max(1) as f64,
        2,
        "",
    );
    let sum = |series: &BTreeMap<String, f64>| {
        let mut sums = BTreeMap::new();
        for (name, value) in series {
            let name = name.split('{').next().unwrap_or(name).to_owned();
            *sums.entry(name).or_default() += value;
        }
        sums
    };
    super::db_counters(
        &mut report,
        &sum(&db_before),
        &sum(&db_after),
        completed,
        "purchase",
    );
    pool_waits(&mut report, &db_before, &db_after);
    report.num("rss_peak_mib", "host RSS peak", rss_peak, 0, "MiB");
    report.detail(
        "bot_api_calls",
        serde_json::to_value(rig.telegram.methods())?,
    );
    let errors = take_errors(&tally);
    report.detail("errors", errors.clone());
    rig.finish(&mut report);
    report.check(
        failed == 0,
        format!("{failed} purchases failed: {:?}", errors.first()),
    );
    report.check(completed > 0, "no purchase completed");
    Ok(report)
}

/// Starts purchases as `pace` says for the run's seconds (or until `--purchases`), then waits
/// for all of them; returns how long purchases were started for.
async fn offer(
    args: &BuyArgs,
    pace: &Pace,
    shops: &Arc<Vec<Shop>>,
    tally: &Arc<Tally>,
) -> Duration {
    // Each store's idle customers, longest idle first: a customer who has just bought goes to
    // the back, as a person would not buy again at once (and the anti-spam gate would slow
    // down one who did, which is not what this scenario measures).
    let customers: Arc<Vec<Mutex<VecDeque<i64>>>> = Arc::new(
        (0..shops.len())
            .map(|store| {
                let first = FIRST_BUYER + store as i64 * 1_000;
                Mutex::new((0..args.customers as i64).map(|k| first + k).collect())
            })
            .collect(),
    );
    let limit = args.purchases.unwrap_or(u64::MAX);
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::new();
    let mut n: u64 = 0;
    while n < limit {
        let permit = match pace {
            Pace::Rate(rate) => {
                tokio::time::sleep_until(started + Duration::from_secs_f64(n as f64 / rate)).await;
                None
            }
            Pace::InFlight(slots) => Arc::clone(slots).acquire_owned().await.ok(),
        };
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        // The purchase goes to the next store in turn, or the first after it with a customer
        // who is not buying already.
        let turn = n as usize % shops.len();
        let taken = (0..shops.len())
            .map(|k| (turn + k) % shops.len())
            .find_map(|store| {
                lock(&customers[store])
                    .pop_front()
                    .map(|buyer| (store, buyer))
            });
        let Some((store, buyer)) = taken else {
            tally.no_customer.fetch_add(1, Ordering::Relaxed);
            n += 1;
            continue;
        };
        tally.started.fetch_add(1, Ordering::Relaxed);
        let (shops, customers, tally) =
            (Arc::clone(shops), Arc::clone(&customers), Arc::clone(tally));
        let pause = args.pay_after(n);
        tasks.push(tokio::spawn(async move {
            match shops[store]
                .purchase(buyer, n as usize, pause, &tally)
                .await
            {
                Ok(()) => tally.completed.fetch_add(1, Ordering::Relaxed),
                Err(error) => {
                    lock(&tally.errors).push(format!("{error:#}"));
                    tally.failed.fetch_add(1, Ordering::Relaxed)
                }
            };
            lock(&customers[store]).push_back(buyer);
            drop(permit);
        }));
        n += 1;
    }
    let offered_for = started.elapsed();
    futures::future::join_all(tasks).await;
    offered_for
}

/// One purchase on a quiet host, step by step, reading the host's database round trips after
/// each: what each step costs, before the load blurs it. Background passes (payments, outbox,
/// expiry) may add a trip or two to a step.
async fn trace_one(rig: &Rig, shop: &Shop, report: &mut Report) -> anyhow::Result<()> {
    let trips = || async {
        let series = rig.host.metrics(&rig.http, ROUND_TRIPS).await?;
        Ok::<_, anyhow::Error>((
            series.get(ROUND_TRIPS).copied().unwrap_or(0.0),
            Instant::now(),
        ))
    };
    // The background passes of hundreds of idle stores make round trips too: their rate over a
    // quiet moment is taken off each step.
    let quiet = trips().await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = trips().await?;
    let idle_per_s = (idle.0 - quiet.0) / idle.1.duration_since(quiet.1).as_secs_f64();
    report.num(
        "trace_idle_trips_per_s",
        "traced purchase: background round trips/s (taken off each step)",
        idle_per_s,
        1,
        "/s",
    );
    // Lets a step's work after its answer (a commit, a spawned send) finish.
    let settle = || tokio::time::sleep(Duration::from_millis(500));
    let buyer = TRACED_BUYER;
    let (product, price) = shop.store.products[0];
    let mut steps = serde_json::Map::new();
    let mut note = |report: &mut Report,
                    key: &str,
                    label: &str,
                    before: (f64, Instant),
                    after: (f64, Instant)| {
        let background = idle_per_s * after.1.duration_since(before.1).as_secs_f64();
        let trips = (after.0 - before.0 - background).max(0.0);
        steps.insert(key.to_owned(), serde_json::json!(trips.round()));
        report.num(
            &format!("trace_trips_{key}"),
            &format!("traced purchase: round trips of {label}"),
            trips,
            0,
            "",
        );
    };
    let at = trips().await?;
    shop.press(
        buyer,
        Callback::Add {
            id: product,
            qty: 1,
            price,
        },
    )
    .await?;
    shop.wait(buyer, "the answer to adding to the cart", |c| c.answers > 0)
        .await?;
    settle().await;
    let (before, at) = (at, trips().await?);
    note(report, "add", "adding to the cart", before, at);
    shop.press(buyer, Callback::Checkout).await?;
    shop.wait(buyer, "the checkout with a QRIS button", |c| {
        c.pay_buttons > 0
    })
    .await?;
    settle().await;
    let (before, at) = (at, trips().await?);
    note(report, "checkout", "the checkout", before, at);
    let (order, code) = shop
        .telegram
        .chat(buyer, |c| (c.pay_order, c.order_code.clone()));
    let (order, code) = (order.context("no order")?, code.context("no order code")?);
    shop.press(buyer, Callback::PayQris { order }).await?;
    shop.wait(buyer, "the QRIS invoice", |c| c.photos > 0)
        .await?;
    settle().await;
    let (before, at) = (at, trips().await?);
    note(
        report,
        "invoice",
        "the invoice (Pakasir and the photo)",
        before,
        at,
    );
    let answered = shop.pay(&code).await?;
    anyhow::ensure!(
        answered.1.is_success(),
        "the traced payment was answered {}",
        answered.1
    );
    let (before, at) = (at, trips().await?);
    note(
        report,
        "webhook",
        "the webhook (verify and settle)",
        before,
        at,
    );
    anyhow::ensure!(
        shop.telegram
            .wait_chat(buyer, STEP_TIMEOUT, |_| shop
                .telegram
                .goods_at(&code)
                .is_some())
            .await,
        "the traced purchase's goods did not arrive"
    );
    // The payment notice and the store's notices follow the goods.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (before, at) = (at, trips().await?);
    note(
        report,
        "sends",
        "the goods and notices (outbox)",
        before,
        at,
    );
    report.detail("trace_trips", steps);
    Ok(())
}

/// The mean wait for a connection (and `BEGIN`) of each pool during the load, from the
/// host's `tokobot_db_begin_wait_microseconds_total` and `tokobot_db_begins_total`.
fn pool_waits(report: &mut Report, before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) {
    let delta = |name: &str| {
        after.get(name).copied().unwrap_or(0.0) - before.get(name).copied().unwrap_or(0.0)
    };
    for pool in ["shared", "money"] {
        let begins = delta(&format!("tokobot_db_begins_total{{pool=\"{pool}\"}}"));
        if begins <= 0.0 {
            continue;
        }
        let waited = delta(&format!(
            "tokobot_db_begin_wait_microseconds_total{{pool=\"{pool}\"}}"
        ));
        report.num(
            &format!("{pool}_pool_begin_mean_ms"),
            &format!("{pool} pool: mean wait to begin ({begins:.0} transactions)"),
            waited / begins / 1000.0,
            2,
            "ms",
        );
    }
}

fn take_errors(tally: &Tally) -> Vec<String> {
    let mut errors = lock(&tally.errors).clone();
    errors.truncate(20);
    errors
}

/// One store, driven by its customers and by Pakasir.
struct Shop {
    http: reqwest::Client,
    base: String,
    telegram: crate::standin::Telegram,
    pakasir: crate::standin::Pakasir,
    store: Store,
}

impl Shop {
    async fn purchase(
        &self,
        buyer: i64,
        turn: usize,
        pause: Duration,
        tally: &Tally,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let (product, price) = self.store.products[turn % self.store.products.len()];
        let (answers, buttons, photos) = self
            .telegram
            .chat(buyer, |c| (c.answers, c.pay_buttons, c.photos));

        self.press(
            buyer,
            Callback::Add {
                id: product,
                qty: 1,
                price,
            },
        )
        .await?;
        self.wait(buyer, "the answer to adding to the cart", |c| {
            c.answers > answers
        })
        .await?;
        self.press(buyer, Callback::Checkout).await?;
        self.wait(buyer, "the checkout with a QRIS button", |c| {
            c.pay_buttons > buttons
        })
        .await?;
        let (order, code) = self
            .telegram
            .chat(buyer, |c| (c.pay_order, c.order_code.clone()));
        let (order, code) = (order.context("no order")?, code.context("no order code")?);
        self.press(buyer, Callback::PayQris { order }).await?;
        self.wait(buyer, "the QRIS invoice", |c| c.photos > photos)
            .await?;
        push(&tally.to_invoice, micros(started.elapsed()));

        // The customer opens their banking app and scans the code.
        tokio::time::sleep(pause).await;
        let posted = Instant::now();
        lock(&tally.first_paid).get_or_insert(posted);
        let (answered, status) = self.pay(&code).await?;
        if !status.is_success() {
            bail!("the payment webhook of {code} was answered {status}");
        }
        let delivered = self
            .telegram
            .wait_chat(buyer, STEP_TIMEOUT, |_| {
                self.telegram.goods_at(&code).is_some()
            })
            .await;
        let at = self.telegram.goods_at(&code);
        let (true, Some(at)) = (delivered, at) else {
            bail!("the goods of {code} did not arrive within {STEP_TIMEOUT:?}");
        };
        push(
            &tally.to_goods,
            micros(at.saturating_duration_since(posted)),
        );
        push(&tally.webhook, micros(answered));
        let mut last = lock(&tally.last_goods);
        *last = Some(last.map_or(at, |l| l.max(at)));
        Ok(())
    }

    /// Pays the Pakasir transaction of order `code` at the stand-in and posts Pakasir's
    /// webhook: how long its answer took, and what it was.
    async fn pay(&self, code: &str) -> anyhow::Result<(Duration, reqwest::StatusCode)> {
        let body = self
            .pakasir
            .pay(&self.store.project, code)
            .with_context(|| format!("transaction {code} is not pending at Pakasir"))?;
        let posted = Instant::now();
        let status = self
            .http
            .post(format!(
                "{}/webhooks/pakasir/{}",
                self.base, self.store.slug
            ))
            .json(&body)
            .timeout(STEP_TIMEOUT)
            .send()
            .await?
            .status();
        Ok((posted.elapsed(), status))
    }

    /// Presses a button as `buyer`, as Telegram delivers it: again while the host says 503.
    async fn press(&self, buyer: i64, callback: Callback) -> anyhow::Result<()> {
        let body = callback_update(next_update_id(), buyer, &callback.to_string());
        let url = format!("{}/webhooks/telegram/{}", self.base, self.store.slug);
        for _ in 0..50 {
            let status = self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .header("X-Telegram-Bot-Api-Secret-Token", &self.store.secret)
                .body(body.clone())
                .timeout(STEP_TIMEOUT)
                .send()
                .await?
                .status();
            match status.as_u16() {
                200 => return Ok(()),
                503 => tokio::time::sleep(Duration::from_millis(100)).await,
                other => bail!("pressing {callback:?} was answered {other}"),
            }
        }
        bail!("pressing {callback:?} was refused 50 times")
    }

    async fn wait(
        &self,
        buyer: i64,
        what: &str,
        done: impl Fn(&Chat) -> bool,
    ) -> anyhow::Result<()> {
        if self.telegram.wait_chat(buyer, STEP_TIMEOUT, done).await {
            Ok(())
        } else {
            bail!(
                "customer {buyer} of {} waited in vain for {what}",
                self.store.slug
            )
        }
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

fn push(samples: &Mutex<Vec<u32>>, micros: u32) {
    lock(samples).push(micros);
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

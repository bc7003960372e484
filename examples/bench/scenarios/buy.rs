//! Buy: customers of many stores at once put a product in the cart, check out, ask for a
//! QRIS invoice, pay it at the Pakasir stand-in, and Pakasir's webhook is posted to the host;
//! the purchase is complete when the goods message reaches the customer. Each store has one
//! purchase in flight at a time, so its latest Pakasir transaction is always this purchase's.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Args;
use tokobot::bot::callbacks::Callback;

use super::{Cpu, Rig, RssSampler};
use crate::{
    load::{callback_update, next_update_id, percentile_ms},
    report::Report,
    setup::{self, Catalog, Store},
};

/// Buyers' ids start here, apart from the browsing crowd.
const FIRST_BUYER: i64 = 7_000_000_000;
/// Each store's purchases rotate over this many customers, which keeps each one within the
/// anti-spam limit of one action a second.
const BUYERS_PER_STORE: i64 = 20;
/// A step that takes longer than this is a failed purchase.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Args, Clone, Debug)]
pub struct BuyArgs {
    /// Stores, each with one purchase in flight at a time.
    #[arg(long, default_value_t = 200)]
    pub stores: usize,
    /// Seconds of buying.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Stop after this many purchases in all.
    #[arg(long)]
    pub purchases: Option<u64>,
    /// Stock items of each of a store's six products.
    #[arg(long, default_value_t = 100)]
    pub stock: usize,
}

#[derive(Default)]
struct Tally {
    completed: AtomicU64,
    failed: AtomicU64,
    /// Payment webhook posted → goods message at the stand-in, in microseconds.
    to_goods: Mutex<Vec<u32>>,
    /// Payment webhook answer times, in microseconds.
    webhook: Mutex<Vec<u32>>,
    /// A whole purchase, the first button press to the goods.
    purchase: Mutex<Vec<u32>>,
    errors: Mutex<Vec<String>>,
}

pub async fn run(rig: &mut Rig, args: &BuyArgs, name: &str) -> anyhow::Result<Report> {
    let started = Instant::now();
    let stores = setup::create_stores(
        &rig.api,
        &rig.telegram,
        &format!("{}{name}", rig.prefix),
        0..args.stores,
        Catalog::Small { stock: args.stock },
    )
    .await?;
    println!(
        "{name}: {} stores created through the API in {:.1} s; buying for {} s",
        stores.len(),
        started.elapsed().as_secs_f64(),
        args.seconds
    );
    rig.telegram.reset();
    let pakasir_before = rig.pakasir.calls();
    let cpu = Cpu::now(rig);
    let sampler = RssSampler::start(rig.host.pid);
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let budget = Arc::new(AtomicU64::new(args.purchases.unwrap_or(u64::MAX)));
    let started = Instant::now();
    let workers: Vec<_> = stores
        .into_iter()
        .enumerate()
        .map(|(n, store)| {
            let (rig_http, base) = (rig.http.clone(), rig.host.base.clone());
            let (telegram, pakasir) = (rig.telegram.clone(), rig.pakasir.clone());
            let (tally, budget) = (Arc::clone(&tally), Arc::clone(&budget));
            tokio::spawn(async move {
                let shop = Shop {
                    http: rig_http,
                    base,
                    telegram,
                    pakasir,
                    store,
                };
                let mut turn = 0usize;
                while Instant::now() < deadline
                    && budget
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
                        .is_ok()
                {
                    let buyer = FIRST_BUYER + n as i64 * 1_000 + (turn as i64 % BUYERS_PER_STORE);
                    match shop.purchase(buyer, turn, &tally).await {
                        Ok(()) => tally.completed.fetch_add(1, Ordering::Relaxed),
                        Err(error) => {
                            tally
                                .errors
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(format!("{error:#}"));
                            tally.failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    turn += 1;
                }
            })
        })
        .collect();
    futures::future::join_all(workers).await;
    let window = started.elapsed().as_secs_f64();

    let completed = tally.completed.load(Ordering::Relaxed);
    let failed = tally.failed.load(Ordering::Relaxed);
    let mut report = Report::new(name);
    rig.describe(&mut report);
    cpu.report(rig, &mut report, completed, 1, "purchase");
    let rss_peak = sampler.stop().await;
    let take =
        |m: &Mutex<Vec<u32>>| std::mem::take(&mut *m.lock().unwrap_or_else(|e| e.into_inner()));
    let (mut to_goods, mut webhook, mut purchase) = (
        take(&tally.to_goods),
        take(&tally.webhook),
        take(&tally.purchase),
    );
    report.add(
        "purchases",
        "purchases completed",
        completed,
        completed.to_string(),
    );
    report.add("failed", "purchases failed", failed, failed.to_string());
    report.num(
        "purchases_per_s",
        "purchases/s",
        completed as f64 / window,
        1,
        "/s",
    );
    report.num(
        "to_goods_p50_ms",
        "payment webhook → goods p50",
        percentile_ms(&mut to_goods, 50.0),
        1,
        "ms",
    );
    report.num(
        "to_goods_p99_ms",
        "payment webhook → goods p99",
        percentile_ms(&mut to_goods, 99.0),
        1,
        "ms",
    );
    report.num(
        "webhook_p99_ms",
        "payment webhook answer p99",
        percentile_ms(&mut webhook, 99.0),
        1,
        "ms",
    );
    report.num(
        "purchase_p50_ms",
        "whole purchase p50 (4 round trips)",
        percentile_ms(&mut purchase, 50.0),
        1,
        "ms",
    );
    report.num(
        "purchase_p99_ms",
        "whole purchase p99",
        percentile_ms(&mut purchase, 99.0),
        1,
        "ms",
    );
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

fn take_errors(tally: &Tally) -> Vec<String> {
    let mut errors = tally
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
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
    async fn purchase(&self, buyer: i64, turn: usize, tally: &Tally) -> anyhow::Result<()> {
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
        let order = self
            .telegram
            .chat(buyer, |c| c.pay_order)
            .context("no order")?;
        self.press(buyer, Callback::PayQris { order }).await?;
        self.wait(buyer, "the QRIS invoice", |c| c.photos > photos)
            .await?;

        let (code, _) = self
            .pakasir
            .latest(&self.store.project)
            .context("the invoice was sent without a Pakasir transaction")?;
        let body = self
            .pakasir
            .pay(&self.store.project, &code)
            .with_context(|| format!("transaction {code} is not pending"))?;
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
        let answered = posted.elapsed();
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
        let micros = |d: Duration| d.as_micros().min(u32::MAX as u128) as u32;
        push(
            &tally.to_goods,
            micros(at.saturating_duration_since(posted)),
        );
        push(&tally.webhook, micros(answered));
        push(
            &tally.purchase,
            micros(at.saturating_duration_since(started)),
        );
        Ok(())
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
        done: impl Fn(&crate::standin::telegram::Chat) -> bool,
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

fn push(samples: &Mutex<Vec<u32>>, micros: u32) {
    samples
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(micros);
}

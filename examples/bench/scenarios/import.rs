//! Import: a large stock list stored at once, as an owner moving a store over does it. For each
//! size, a fresh store imports a catalog document whose one product carries that many stock
//! lines (`PUT .../catalog`, the whole document in one transaction), then uploads as many new
//! lines to the same product through the stock route (`POST .../stock`). Each is timed from
//! sending the request to its answer, with the host's and PostgreSQL's CPU over it.
//!
//! Then whether an import holds up others: the same store's import started twice, the second
//! 100 ms after the first (it waits for the first's row locks, as it must: one catalog replaces
//! the other), and another store's import started alongside (which must not wait).

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Cpu, Rig};
use crate::{
    report::Report,
    setup::{self, Api, Catalog},
};

#[derive(Args, Clone, Debug)]
pub struct ImportArgs {
    /// Stock lines per import (100,000 is the most one document or upload may carry).
    #[arg(long, value_delimiter = ',', default_value = "32768,100000")]
    pub lines: Vec<usize>,
}

pub async fn run(rig: &mut Rig, args: &ImportArgs) -> anyhow::Result<Report> {
    let mut report = Report::new("import");
    rig.describe(&mut report);
    let largest = args.lines.iter().copied().max().unwrap_or(0);
    // Stores 0.. measure one size each; the last two are the contention run's.
    let stores = rig
        .stores("imp", 0..args.lines.len() + 2, Catalog::None)
        .await?;

    for (store, &lines) in stores.iter().zip(&args.lines) {
        let document = catalog(&store.slug, "catalog", lines);
        let (seconds, answer) = timed(rig, &mut report, &format!("catalog_{lines}"), lines, {
            let (api, slug) = (rig.api.clone(), store.slug.clone());
            async move { import(&api, &slug, &document).await }
        })
        .await?;
        report.check(
            answer["stock_items"].as_u64() == Some(lines as u64),
            format!(
                "the import of {lines} lines stored {}",
                answer["stock_items"]
            ),
        );
        report.num(
            &format!("catalog_{lines}_lines_per_s"),
            &format!("PUT catalog, {lines} lines: lines/s"),
            lines as f64 / seconds,
            0,
            "lines/s",
        );

        let upload = json!({ "product": "P0", "items": stock_lines(&store.slug, "upload", lines) });
        let (seconds, answer) = timed(rig, &mut report, &format!("stock_{lines}"), lines, {
            let (api, slug) = (rig.api.clone(), store.slug.clone());
            async move {
                let path = format!("/api/v1/tenants/{slug}/stock");
                api.call(Method::POST, &path, Some(upload)).await
            }
        })
        .await?;
        report.check(
            answer["added"].as_u64() == Some(lines as u64),
            format!("the upload of {lines} lines added {}", answer["added"]),
        );
        report.num(
            &format!("stock_{lines}_lines_per_s"),
            &format!("POST stock, {lines} lines: lines/s"),
            lines as f64 / seconds,
            0,
            "lines/s",
        );
    }

    contention(rig, &mut report, &stores[args.lines.len()..], largest).await?;
    rig.finish(&mut report);
    Ok(report)
}

/// Runs `work` (one request of `lines` stock lines), and reports its seconds and the host's and
/// PostgreSQL's CPU per 1,000 lines under `key`.
async fn timed<F>(
    rig: &Rig,
    report: &mut Report,
    key: &str,
    lines: usize,
    work: F,
) -> anyhow::Result<(f64, Value)>
where
    F: Future<Output = anyhow::Result<Value>>,
{
    let cpu = Cpu::now(rig);
    let started = Instant::now();
    let answer = work.await?;
    let seconds = started.elapsed().as_secs_f64();
    let (host_ms, postgres_ms) = cpu.spent(rig);
    let label = key.replace('_', ", ") + " lines";
    report.num(
        &format!("{key}_s"),
        &format!("{label}: answered in"),
        seconds,
        2,
        "s",
    );
    let per_thousand = 1_000.0 / lines.max(1) as f64;
    report.num(
        &format!("{key}_host_cpu_ms_per_1000"),
        &format!("{label}: host CPU per 1,000 lines"),
        host_ms * per_thousand,
        1,
        "ms",
    );
    if let Some(postgres_ms) = postgres_ms {
        report.num(
            &format!("{key}_postgres_cpu_ms_per_1000"),
            &format!("{label}: PostgreSQL CPU per 1,000 lines"),
            postgres_ms * per_thousand,
            1,
            "ms",
        );
    }
    Ok((seconds, answer))
}

/// Two imports of one store 100 ms apart, and one of another store alongside: how long each
/// took, and whether the second of the same store waited for the first.
async fn contention(
    rig: &Rig,
    report: &mut Report,
    stores: &[setup::Store],
    lines: usize,
) -> anyhow::Result<()> {
    let [same, other] = stores else {
        anyhow::bail!("the contention run needs two stores");
    };
    let started = Instant::now();
    let run = |slug: &str, round: &str| {
        let (api, slug) = (rig.api.clone(), slug.to_owned());
        let document = catalog(&slug, round, lines);
        tokio::spawn(async move {
            let answer = import(&api, &slug, &document).await;
            (started.elapsed().as_secs_f64(), answer)
        })
    };
    let first = run(&same.slug, "first");
    let alongside = run(&other.slug, "alongside");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = run(&same.slug, "second");
    let (first_done, first_answer) = first.await?;
    let (second_done, second_answer) = second.await?;
    let (other_done, other_answer) = alongside.await?;
    for (what, answer) in [
        ("first", first_answer),
        ("second", second_answer),
        ("alongside", other_answer),
    ] {
        let answer = answer.with_context(|| format!("the {what} import"))?;
        report.check(
            answer["stock_items"].as_u64() == Some(lines as u64),
            format!("the {what} import stored {}", answer["stock_items"]),
        );
    }
    report.num(
        "same_store_first_s",
        &format!("same store, first import of {lines}: done after"),
        first_done,
        2,
        "s",
    );
    report.num(
        "same_store_second_s",
        "same store, second import (started at 0.1 s): done after",
        second_done,
        2,
        "s",
    );
    let waited = second_done > first_done;
    report.add(
        "same_store_second_waited",
        "same store, second import waited for the first",
        waited,
        if waited { "yes" } else { "no" }.to_owned(),
    );
    report.num(
        "other_store_s",
        &format!("another store's import of {lines} alongside: done after"),
        other_done,
        2,
        "s",
    );
    Ok(())
}

async fn import(api: &Api, slug: &str, document: &Value) -> anyhow::Result<Value> {
    let path = format!("/api/v1/tenants/{slug}/catalog");
    api.call(Method::PUT, &path, Some(document.clone())).await
}

/// A catalog of one product carrying `lines` stock lines, unique to the store and `round`.
fn catalog(slug: &str, round: &str, lines: usize) -> Value {
    json!({
        "version": 1,
        "categories": [{ "name": "Voucher", "sort": 1, "active": true }],
        "products": [{
            "code": "P0", "name": "Voucher", "description": "Kode voucher.", "price": 10_000,
            "category": "Voucher", "active": true, "sort": 0,
            "stock": stock_lines(slug, round, lines),
        }],
    })
}

/// Lines like a voucher list: a code and a PIN, about 40 characters each.
fn stock_lines(slug: &str, round: &str, lines: usize) -> Vec<String> {
    (0..lines)
        .map(|i| {
            format!(
                "{slug}-{round}-{i:06} | PIN {:08}",
                (i * 7_919) % 100_000_000
            )
        })
        .collect()
}

//! A scenario's figures: printed as a table and written as JSON with the commit and the
//! machine they were measured on.

use std::{fs, path::Path, process::Command};

use serde_json::{Map, Value, json};

pub struct Report {
    scenario: String,
    rows: Vec<(String, String)>,
    figures: Map<String, Value>,
    /// Correctness failures: the smoke run fails on any of these, never on timing.
    pub failures: Vec<String>,
}

impl Report {
    pub fn new(scenario: &str) -> Self {
        Self {
            scenario: scenario.to_owned(),
            rows: Vec::new(),
            figures: Map::new(),
            failures: Vec::new(),
        }
    }

    /// A figure: `key` in the JSON, `label` and `shown` in the table.
    pub fn add(&mut self, key: &str, label: &str, value: impl Into<Value>, shown: String) {
        self.figures.insert(key.to_owned(), value.into());
        self.rows.push((label.to_owned(), shown));
    }

    /// A number shown with `decimals` decimals and a unit.
    pub fn num(&mut self, key: &str, label: &str, value: f64, decimals: usize, unit: &str) {
        let rounded = (value * 10f64.powi(decimals as i32)).round() / 10f64.powi(decimals as i32);
        self.add(
            key,
            label,
            rounded,
            format!("{value:.decimals$} {unit}").trim_end().to_owned(),
        );
    }

    /// The `ps` percentiles of `samples` (microseconds) in milliseconds, as `<key>_p<p>_ms` in
    /// the JSON and `<label> p<p>` in the table; sorts the samples.
    pub fn percentiles(
        &mut self,
        key: &str,
        label: &str,
        samples: &mut [u32],
        ps: &[f64],
        decimals: usize,
    ) {
        for &p in ps {
            self.num(
                &format!("{key}_p{p:.0}_ms"),
                &format!("{label} p{p:.0}"),
                crate::load::percentile_ms(samples, p),
                decimals,
                "ms",
            );
        }
    }

    /// A JSON-only detail.
    pub fn detail(&mut self, key: &str, value: impl Into<Value>) {
        self.figures.insert(key.to_owned(), value.into());
    }

    /// Fails the run (the smoke test) unless `ok`.
    pub fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.failures.push(what.into());
        }
    }

    /// Prints the table and writes `<out>/<scenario>.json`.
    pub fn finish(&self, out: &Path) -> anyhow::Result<()> {
        let width = self
            .rows
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        println!("\n== {} ==", self.scenario);
        for (label, shown) in &self.rows {
            let pad = width - label.chars().count();
            println!("  {label}{}  {shown}", " ".repeat(pad));
        }
        for failure in &self.failures {
            println!("  WRONG: {failure}");
        }
        fs::create_dir_all(out)?;
        let document = json!({
            "scenario": self.scenario,
            "commit": commit(),
            "machine": machine(),
            "figures": self.figures,
            "failures": self.failures,
        });
        let path = out.join(format!("{}.json", self.scenario));
        fs::write(&path, serde_json::to_string_pretty(&document)? + "\n")?;
        println!("  (written to {})", path.display());
        Ok(())
    }
}

/// The commit measured, marked `-dirty` when the worktree has changes.
pub fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty { format!("{head}-dirty") } else { head }
}

/// The machine: CPUs, CPU model, memory, and its load average when the figures were written.
pub fn machine() -> Value {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|m| m.trim().to_owned())
        .unwrap_or_default();
    let memory_kib: u64 = fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    json!({
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu_model": model,
        "memory_gib": (memory_kib as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        "load_average": load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    })
}

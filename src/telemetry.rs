//! Logs (tracing) and metrics (Prometheus).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

/// Installs the log subscriber; `RUST_LOG` filters (default `info`, with sqlx's echo of
/// PostgreSQL notices such as "relation already exists, skipping" kept out).
///
/// Logs go to standard error, so commands that print a result (tokens, `tenants apply`)
/// keep standard output for it.
pub fn init_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    // Installing twice (tests start many hosts in one process) is harmless: the first one wins.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// The process-wide Prometheus recorder; installed on first use.
pub fn metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("tokobot_update_duration_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ],
                )
                // Only a malformed bucket list fails here, and the list above is fixed.
                .expect("valid histogram buckets")
                .install_recorder()
                .expect("the metrics recorder is installed once per process")
        })
        .clone()
}

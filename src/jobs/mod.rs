//! Background work of the host, each loop ending when the stop signal fires.
//!
//! - tenant changes: LISTEN for stores changed by another process and sync them;
//! - reconcile: a periodic pass over every store, catching lost notifications and retrying
//!   stores whose start failed on a network error;
//! - bookkeeping: coalesced last-seen writes, anti-spam memory, the admission gauges and the
//!   metrics upkeep;
//! - store work (`store.rs`): the outbox sender and the expiry of unpaid orders;
//! - broadcasts (`broadcast.rs`): one sender per store with a broadcast, at the store's pace;
//! - payments (`payments.rs`): reconciliation and expiry of pending Pakasir invoices, SNK
//!   retention;
//! - lanes (`lanes.rs`): one lane per store, a bounded number at once, for work that must be
//!   fair across stores (the payments pass).

pub mod broadcast;
mod lanes;
pub mod payments;
pub mod store;

use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::{host::Host, tenants::repo::CHANGED_CHANNEL};

const RECONCILE_EVERY: Duration = Duration::from_secs(60);
const BOOKKEEPING_EVERY: Duration = Duration::from_secs(5);

/// Follows store changes announced with NOTIFY, reconnecting when the database comes back.
pub async fn tenant_changes(host: Host, mut stop: watch::Receiver<bool>) {
    loop {
        // LISTEN holds its connection for as long as it listens: it has a pool of its own,
        // rather than keeping one of the connections that updates need.
        let mut listener = match PgListener::connect_with(host.db().notifications()).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for store changes; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        if let Err(error) = listener.listen(CHANGED_CHANNEL).await {
            tracing::warn!(%error, "cannot listen for store changes; retrying");
            continue;
        }
        loop {
            tokio::select! {
                notification = listener.try_recv() => match notification {
                    Ok(Some(notification)) => {
                        let host = host.clone();
                        let slug = notification.payload().to_owned();
                        tokio::spawn(async move {
                            if let Err(error) = host.sync(&slug).await {
                                tracing::warn!(store = %slug, error = format!("{error:#}"), "could not sync a changed store");
                            }
                        });
                    }
                    // The connection dropped: notifications may have been missed, so look at everything.
                    Ok(None) => {
                        let _ = host.sync_all().await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "lost the store-change listener; reconnecting");
                        break;
                    }
                },
                _ = stop.changed() => return,
            }
        }
    }
}

/// The periodic pass over every store.
pub async fn reconcile(host: Host, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(error) = host.sync_all().await {
                    tracing::warn!(error = format!("{error:#}"), "the periodic store pass failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Coalesced writes and metrics upkeep; flushes once more on the way out.
pub async fn bookkeeping(host: Host, metrics: PrometheusHandle, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(BOOKKEEPING_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                host.customers().flush_seen(host.db()).await;
                host.shared().antispam.forget_quiet();
                // How close the host is to answering 503: updates held against its places.
                let places = host.config().capacity.host_updates;
                metrics::gauge!("tokobot_updates_held")
                    .set(places.saturating_sub(host.budget().available()) as f64);
                metrics::gauge!("tokobot_updates_places").set(places as f64);
                metrics::gauge!("tokobot_updates_limit").set(host.budget().limit() as f64);
                metrics.run_upkeep();
            }
            _ = stop.changed() => {
                host.customers().flush_seen(host.db()).await;
                return;
            }
        }
    }
}

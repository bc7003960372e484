//! Building the host from its configuration and running it until it is stopped.
//!
//! [`start`] is used by `tokobot serve` and by the test suite alike: it connects (starting the
//! embedded cluster when no `DATABASE_URL` is set), migrates, opens the runtime pool, builds
//! the host, serves HTTP, starts every store and the background jobs, and returns a handle
//! whose [`AppHandle::shutdown`] stops it all in order.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::{
    config::Config,
    crypto::Sealer,
    db::{self, DatabaseServer, Db, PoolLimits},
    host::{Host, telegram::BotFactory},
    http::{self, AppState, api::auth::JwtKeys},
    jobs, ops, telemetry,
    tenants::service::Provisioner,
};

/// A running host.
pub struct AppHandle {
    /// The address the HTTP server listens on (useful with port 0).
    pub addr: SocketAddr,
    /// The private metrics address, when `TOKOBOT_METRICS_BIND` asks for one.
    pub metrics_addr: Option<SocketAddr>,
    pub host: Host,
    /// What the start's stock fingerprint pass did (`ops::fingerprints`).
    pub fingerprints: ops::fingerprints::Pass,
    stop: watch::Sender<bool>,
    server: http::ingress::Ingress,
    jobs: Vec<JoinHandle<()>>,
    /// Dropped last: stops the embedded cluster when this process started it.
    database: DatabaseServer,
}

/// The database, migrated, and the runtime pool on it.
pub async fn connect(config: &Config) -> anyhow::Result<(DatabaseServer, Db)> {
    let server = DatabaseServer::open(config).await?;
    db::migrate(&server.owner).await?;
    let limits = PoolLimits {
        shared: config.capacity.pool,
        money: config.capacity.money_pool,
        acquire_timeout: config.capacity.acquire_timeout,
    };
    let db = Db::connect(server.runtime_options(config)?, limits).await?;
    Ok((server, db))
}

/// The sealer: the configured master keys and the host's fingerprint key from the database.
pub async fn sealer(config: &Config, db: &Db) -> anyhow::Result<Sealer> {
    let fingerprint = ops::keys::load_fingerprint_key(db.registry(), &config.master_keys).await?;
    Sealer::new(config.master_keys.clone(), fingerprint)
}

/// The services both the host and the CLI's provisioning commands need.
pub async fn provisioning(
    config: &Config,
    db: Db,
) -> anyhow::Result<(Sealer, BotFactory, Provisioner)> {
    let sealer = sealer(config, &db).await?;
    let client = teloxide::net::default_reqwest_settings()
        .build()
        .context("cannot build the HTTP client")?;
    let bots = BotFactory::new(client, &config.telegram_api_url)?;
    let provisioner = Provisioner::new(db, sealer.clone(), bots.clone());
    Ok((sealer, bots, provisioner))
}

/// Serves `/metrics` alone on `bind` until the stop signal.
async fn serve_metrics(
    bind: SocketAddr,
    state: http::AppState,
    mut stopped: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} (TOKOBOT_METRICS_BIND)"))?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, http::ops::metrics_router(state))
            .with_graceful_shutdown(async move {
                let _ = stopped.changed().await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the metrics server failed");
        }
    });
    tracing::info!(%addr, "metrics are served on their own address");
    Ok((addr, task))
}

/// Starts the host and returns once HTTP is being served; stores start in the background.
pub async fn start(config: Config) -> anyhow::Result<AppHandle> {
    let config = Arc::new(config);
    // How long each step of the start took, logged when the host listens: a restart's time
    // goes mostly here, before the stores start.
    let began = std::time::Instant::now();
    let (database, db) = connect(&config).await?;
    let connected = began.elapsed();
    let (sealer, bots, provisioner) = provisioning(&config, db.clone()).await?;
    let provisioned = began.elapsed();
    // Before any update is taken: duplicates are judged by the store-wide fingerprints.
    let fingerprints = ops::fingerprints::recompute(&db, &sealer).await?;
    let fingerprinted = began.elapsed();
    let host = Host::new(Arc::clone(&config), db.clone(), sealer, bots);
    let metrics = telemetry::metrics();
    let state = AppState {
        host: host.clone(),
        provisioner,
        jwt: JwtKeys::new(config.jwt_secret.expose(), config.access.token_max_ttl),
        metrics: metrics.clone(),
        verify_limit: Default::default(),
    };

    let listener = std::net::TcpListener::bind(config.bind)
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let metrics_server = match config.access.metrics_bind {
        Some(bind) => Some(serve_metrics(bind, state.clone(), stopped.clone()).await?),
        None => None,
    };
    let router = http::router(state, tokio::runtime::Handle::current());
    let server = http::ingress::serve(listener, router, stopped.clone())?;
    tracing::info!(
        %addr,
        mode = ?config.update_mode,
        database_ms = connected.as_millis(),
        keys_ms = (provisioned - connected).as_millis(),
        fingerprints_ms = (fingerprinted - provisioned).as_millis(),
        fingerprint_stores = fingerprints.stores,
        "tokobot is listening"
    );

    let mut jobs = vec![
        tokio::spawn({
            let host = host.clone();
            async move {
                if let Err(error) = host.sync_all().await {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "could not start the stores; the periodic pass retries"
                    );
                }
            }
        }),
        tokio::spawn({
            let (db, stopped) = (db.clone(), stopped.clone());
            async move { db.watch_health(stopped).await }
        }),
        tokio::spawn(jobs::tenant_changes(host.clone(), stopped.clone())),
        tokio::spawn(jobs::reconcile(host.clone(), stopped.clone())),
        tokio::spawn(jobs::store::outbox(host.clone(), stopped.clone())),
        tokio::spawn(jobs::store::expiry(host.clone(), stopped.clone())),
        tokio::spawn(jobs::payments::run(host.clone(), stopped.clone())),
        tokio::spawn(ops::backup::schedule(
            Arc::clone(&config),
            database.owner.clone(),
            stopped.clone(),
        )),
        tokio::spawn(jobs::broadcast::run(host.clone(), stopped.clone())),
        tokio::spawn(jobs::bookkeeping(host.clone(), metrics, stopped.clone())),
    ];
    let alerts = ops::alerts::Alerts::new(&config.alerts, &config.telegram_api_url);
    if let Some(alerts) = alerts.clone() {
        jobs.push(tokio::spawn(ops::alerts::watch_database(
            alerts,
            db.clone(),
            stopped.clone(),
        )));
    }
    jobs.push(tokio::spawn(ops::alerts::monitor::run(
        host.clone(),
        alerts.clone(),
        stopped.clone(),
    )));
    jobs.push(tokio::spawn(crate::host::supervisor::run(
        host.clone(),
        alerts,
        stopped.clone(),
    )));
    let metrics_addr = metrics_server.map(|(addr, task)| {
        jobs.push(task);
        addr
    });
    Ok(AppHandle {
        addr,
        metrics_addr,
        host,
        fingerprints,
        stop,
        server,
        jobs,
        database,
    })
}

impl AppHandle {
    /// Stops HTTP, the jobs, every store (each finishing what it accepted) and the database.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.server.finished().await {
            tracing::error!(%error, "the HTTP server failed");
        }
        for job in self.jobs {
            let _ = job.await;
        }
        self.host.shutdown().await;
        self.host.db().close().await;
        drop(self.database);
        tracing::info!("tokobot stopped");
    }
}

/// `tokobot serve`: runs until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let app = start(config).await?;
    wait_for_signal().await;
    tracing::info!("stopping");
    app.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

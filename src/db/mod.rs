//! Database access: connecting, migrating, and the tenant-scoped transaction.
//!
//! Two kinds of connection exist. The *owner* (from `DATABASE_URL`, or the embedded cluster's
//! superuser) applies migrations and creates the runtime role. The *runtime pools* ([`Db`]) are
//! what the host uses for everything else: they run as [`APP_ROLE`], which is neither superuser
//! nor BYPASSRLS, so row-level security holds even if a query forgets its tenant.
//!
//! Store code reaches data only through [`Db::tenant`], a transaction that has set
//! `app.tenant_id`. The tenant registry (src/host/tenants.rs) is the one named cross-tenant
//! path and uses [`Db::registry`].

pub mod embedded;
mod migrate;
mod trips;

use std::{
    ops::{Deref, DerefMut},
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sqlx::{
    Executor, PgConnection, PgPool, Postgres, Transaction,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use uuid::Uuid;

pub use migrate::{migrate, newest_schema, schema_of};
pub use trips::on_update_path;

use crate::{
    config::Config,
    db::embedded::{EmbeddedPostgres, Lifetime},
};

/// The role the host runs its queries as.
pub const APP_ROLE: &str = "tokobot_app";

/// The database the embedded cluster keeps the product's data in.
const EMBEDDED_DATABASE: &str = "tokobot";

/// The tables with a `tenant_id` that deliberately have no row-level security: the registry's
/// secrets and the id-only work queues that background workers read across stores (each worker
/// then opens the row in its store's own transaction), the host watch's record of refused bot
/// tokens (ids and times) and the stores queued for the start's stock fingerprint pass (ids).
/// Every other such table forces RLS; `tokobot doctor` and the isolation test check
/// exactly this list.
pub const CROSS_TENANT_TABLES: [&str; 7] = [
    "tenant_secrets",
    "outbox_queue",
    "payment_queue",
    "broadcast_queue",
    "order_expiry_queue",
    "token_rejections",
    "stock_fingerprint_queue",
];

/// A store's id, the key of every store-owned row.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct TenantId(pub Uuid);

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where the owner connection goes, and the embedded cluster when we run one.
pub struct DatabaseServer {
    pub owner: PgConnectOptions,
    /// Kept alive for the life of the host: dropping it stops the cluster we started.
    pub embedded: Option<EmbeddedPostgres>,
}

impl DatabaseServer {
    /// Uses `DATABASE_URL`, or starts (or adopts) the embedded cluster under the data dir.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        if let Some(url) = &config.database_url {
            let owner = PgConnectOptions::from_str(url.expose())
                .context("DATABASE_URL is not a PostgreSQL URL")?;
            return Ok(Self {
                owner,
                embedded: None,
            });
        }
        let dir = config.data_dir.join("postgres");
        let embedded = EmbeddedPostgres::start(&dir, Lifetime::StopOnDrop).await?;
        embedded.ensure_database(EMBEDDED_DATABASE).await?;
        Ok(Self {
            owner: embedded.connect_options(EMBEDDED_DATABASE),
            embedded: Some(embedded),
        })
    }

    /// Options for the runtime role: its own URL when configured, else the owner plus `SET ROLE`.
    pub fn runtime_options(&self, config: &Config) -> anyhow::Result<RuntimeConnect> {
        Ok(match &config.app_database_url {
            Some(url) => RuntimeConnect {
                options: PgConnectOptions::from_str(url.expose())
                    .context("TOKOBOT_APP_DATABASE_URL is not a PostgreSQL URL")?,
                set_role: false,
            },
            None => RuntimeConnect {
                options: self.owner.clone(),
                set_role: true,
            },
        })
    }
}

/// How the runtime pool connects.
#[derive(Clone, Debug)]
pub struct RuntimeConnect {
    pub options: PgConnectOptions,
    /// Switch every new connection to [`APP_ROLE`] before first use.
    pub set_role: bool,
}

/// How many connections each of the runtime pools may open, and how long a query waits for
/// one before it fails with "pool timed out".
#[derive(Clone, Copy, Debug)]
pub struct PoolLimits {
    /// Updates, the API, the registry and bookkeeping.
    pub shared: u32,
    /// Background work that moves money or stock; see [`Db::money`].
    pub money: u32,
    pub acquire_timeout: Duration,
}

/// The host's handle on the runtime pools.
///
/// There are three, so that one kind of work can never starve another of connections:
/// - the *shared* pool, for updates, the API, the registry and bookkeeping;
/// - the *money* pool, a few connections reserved for the background work that moves money
///   or stock (payment reconciliation and expiry, the outbox, order expiry) and for the
///   Pakasir webhook: a flood of browsing can exhaust the shared pool, never this one;
/// - one connection for `LISTEN`, which holds its connection for as long as it listens.
///
/// A handle hands out transactions from one of them: [`Db::money`] is the same handle on the
/// money pool, so code written against `Db` runs unchanged on either.
#[derive(Clone, Debug)]
pub struct Db {
    /// Where this handle's transactions come from: the shared pool or the money pool.
    pool: PgPool,
    money: PgPool,
    listen: PgPool,
    /// Which of the pools `pool` is, for the metrics: `shared` or `money`.
    pool_name: &'static str,
    /// Kept current by [`Db::watch_health`]; the webhook route reads it on every delivery.
    healthy: Arc<AtomicBool>,
    /// Where the health probe connects: its own connection, so a busy pool never reads as a
    /// database that is down.
    probe: PgConnectOptions,
}

impl Db {
    /// Opens the runtime pools and refuses a role that could bypass row-level security.
    ///
    /// The pools connect lazily (the shared one opens its first connection to check the
    /// role), so a host whose database is briefly down recovers by itself.
    pub async fn connect(connect: RuntimeConnect, limits: PoolLimits) -> anyhow::Result<Self> {
        let probe = connect.options.clone();
        let pool = pool_options(&connect, limits.shared, limits.acquire_timeout)
            .connect_with(connect.options.clone())
            .await
            .context("cannot connect to the database")?;
        let money = pool_options(&connect, limits.money, limits.acquire_timeout)
            .connect_lazy_with(connect.options.clone());
        let listen =
            pool_options(&connect, 1, limits.acquire_timeout).connect_lazy_with(connect.options);
        let db = Self {
            pool,
            money,
            listen,
            pool_name: "shared",
            healthy: Arc::new(AtomicBool::new(true)),
            probe,
        };
        db.check_runtime_role().await?;
        Ok(db)
    }

    /// The same handle on the money pool: every transaction it begins (through
    /// [`Db::tenant`] or [`Db::registry`]) uses one of the reserved connections.
    pub fn money(&self) -> Db {
        Db {
            pool: self.money.clone(),
            pool_name: "money",
            ..self.clone()
        }
    }

    /// The pool of the one connection that `LISTEN`s for store changes.
    pub fn notifications(&self) -> &PgPool {
        &self.listen
    }

    /// The host must not run as a role that ignores row-level security (SPEC §4).
    async fn check_runtime_role(&self) -> anyhow::Result<()> {
        let (user, superuser, bypass): (String, bool, bool) = sqlx::query_as(
            "select current_user::text, rolsuper, rolbypassrls from pg_roles where rolname = current_user",
        )
        .fetch_one(&self.pool)
        .await
        .context("cannot read the runtime role")?;
        if superuser || bypass {
            bail!(
                "the runtime database role `{user}` can bypass row-level security; \
                 run as a role without SUPERUSER and BYPASSRLS (`tokobot migrate` creates `{APP_ROLE}`)"
            );
        }
        Ok(())
    }

    /// Begins a transaction scoped to `tenant`: row-level security shows it only that store's rows.
    pub async fn tenant(&self, tenant: TenantId) -> sqlx::Result<TenantTx> {
        self.begin_scoped(tenant, "begin", "").await
    }

    /// A read-only tenant-scoped transaction whose reads all see one snapshot, for reading a
    /// store whole (a store backup) while it keeps changing.
    pub async fn tenant_snapshot(&self, tenant: TenantId) -> sqlx::Result<TenantTx> {
        self.begin_scoped(
            tenant,
            "begin isolation level repeatable read, read only",
            "",
        )
        .await
    }

    /// A tenant-scoped transaction for bookkeeping (who wrote to the bot, when they were last
    /// seen) whose commit does not wait for the WAL to reach the disk. A crash may lose the
    /// last fraction of a second of such rows, never money or stock: those always use
    /// [`Db::tenant`].
    pub async fn tenant_bookkeeping(&self, tenant: TenantId) -> sqlx::Result<TenantTx> {
        self.begin_scoped(tenant, "begin", "; set local synchronous_commit = off")
            .await
    }

    async fn begin_scoped(
        &self,
        tenant: TenantId,
        begin: &str,
        extra: &str,
    ) -> sqlx::Result<TenantTx> {
        // `BEGIN` and the settings travel in one round trip. Inlining the id is safe: a `Uuid`
        // prints only hex digits and dashes.
        let begin = format!(
            "{begin}; select set_config('app.tenant_id', '{}', true){extra}",
            tenant.0
        );
        // The begin and the commit (or the rollback of a dropped transaction) are counted
        // here together: every transaction costs both.
        trips::note(2);
        let asked = std::time::Instant::now();
        let tx = self
            .pool
            .begin_with(begin)
            .await
            .inspect_err(|e| self.note_failure(e))?;
        // The time to get a connection and begin, summed per pool: divided by the count it is
        // the mean wait, which shows a pool that has become the queue.
        metrics::counter!("tokobot_db_begins_total", "pool" => self.pool_name).increment(1);
        metrics::counter!("tokobot_db_begin_wait_microseconds_total", "pool" => self.pool_name)
            .increment(asked.elapsed().as_micros() as u64);
        Ok(TenantTx { tx, tenant })
    }

    /// The cross-tenant pool, for the tenant registry and the id-only work queues only.
    ///
    /// Each use is counted as one database round trip: callers run one statement on it, or a
    /// few in a row, never a long conversation.
    pub fn registry(&self) -> &PgPool {
        trips::note(1);
        &self.pool
    }

    /// A connection that could not be had means the database is away: say so at once rather
    /// than at the next probe, so webhooks start answering 503 (and Telegram keeps the updates).
    fn note_failure(&self, error: &sqlx::Error) {
        // A pool that is merely busy times out too; only a failed connection means "down".
        if matches!(error, sqlx::Error::Io(_)) {
            self.healthy.store(false, Ordering::Relaxed);
        }
    }

    /// Whether the last health probe reached the database.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Probes the database every second until `stop` fires, so the hot paths can read the
    /// answer from memory instead of each waiting for a connection timeout.
    pub async fn watch_health(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut conn: Option<PgConnection> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            let up = self.probe_once(&mut conn).await;
            if up != self.healthy.swap(up, Ordering::Relaxed) {
                if up {
                    tracing::info!("the database is reachable again");
                } else {
                    tracing::error!("the database is not reachable");
                }
            }
        }
    }

    /// One probe on the probe's own connection, opened (again) when needed.
    async fn probe_once(&self, conn: &mut Option<PgConnection>) -> bool {
        let limit = Duration::from_secs(2);
        if conn.is_none() {
            use sqlx::Connection;
            match tokio::time::timeout(limit, PgConnection::connect_with(&self.probe)).await {
                Ok(Ok(opened)) => *conn = Some(opened),
                _ => return false,
            }
        }
        let Some(open) = conn.as_mut() else {
            return false;
        };
        let ok = matches!(
            tokio::time::timeout(limit, sqlx::query("select 1").execute(&mut *open)).await,
            Ok(Ok(_))
        );
        if !ok {
            *conn = None;
        }
        ok
    }

    /// Closes every pool, waiting for the connections in use to come back.
    pub async fn close(&self) {
        tokio::join!(self.pool.close(), self.money.close(), self.listen.close());
    }
}

/// A pool of the runtime role, `size` connections at most, opened on demand.
fn pool_options(connect: &RuntimeConnect, size: u32, acquire_timeout: Duration) -> PgPoolOptions {
    let set_role = connect.set_role;
    PgPoolOptions::new()
        .max_connections(size)
        .min_connections(0)
        .acquire_timeout(acquire_timeout)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if set_role {
                    conn.execute(format!("set role {APP_ROLE}").as_str())
                        .await?;
                }
                Ok(())
            })
        })
}

/// A transaction that has set `app.tenant_id`; it rolls back when dropped uncommitted.
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    tenant: TenantId,
}

impl TenantTx {
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}

impl Deref for TenantTx {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for TenantTx {
    /// Statements run through `&mut *tx`, so each such use is counted as a round trip. A
    /// helper handed the connection once and running several statements counts once: the
    /// count is a floor, exact for the begin and the commit.
    fn deref_mut(&mut self) -> &mut PgConnection {
        trips::note(1);
        &mut self.tx
    }
}

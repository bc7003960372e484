//! The host's runtime: which stores run, and making that match the tenant registry.
//!
//! The database is the desired state; [`Host::sync`] makes one store's bot match it (start,
//! reconfigure, stop, set or delete the webhook). Everything that changes a store ends in a
//! sync: the API calls it before answering, other host processes and `tokobot tenants apply`
//! reach it through PostgreSQL NOTIFY, and a periodic pass catches anything missed (a
//! notification lost while the database was away, a store whose start failed on a network
//! error). Syncs of one store are serialised; different stores never wait for each other.
//!
//! - `telegram.rs`: the bot factory (one shared HTTP client) and token checks.
//! - `pace/`: each bot's one sending budget, shared by its replies and its broadcast.
//! - `runtime.rs`: one running store (dispatcher task, inbox, duplicate filter).
//! - `listener.rs`: the update listeners (the webhook route's channel, admitted polling).
//! - `dispatch.rs`: a store's dispatcher, updates through the shared handler tree.
//! - `admission.rs`: the bounded places of the updates between the webhook's 200 and the end
//!   of their handling.
//! - `payments.rs`: a store as the payment service needs it, running here or not.

mod admission;
mod dispatch;
mod listener;
pub mod pace;
mod payments;
mod runtime;
pub mod supervisor;
pub mod telegram;

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, RwLock, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use anyhow::Context;
use futures::StreamExt;
use teloxide::{adaptors::CacheMe, dispatching::UpdateHandler, prelude::*, types::Me};
use time::OffsetDateTime;

pub use admission::{Admission, Budget};
pub use runtime::Accepted;
use runtime::Launch;
pub use runtime::Running;
use telegram::{ALLOWED_UPDATES, BotFactory, REJECTED_TOKEN, TokenCheckError};

use crate::{
    bot::{GatewayKeys, Shared, StoreCtx, antispam::AntiSpam, dialogue::DialogueStore},
    config::{Config, UpdateMode},
    crypto::Sealer,
    db::{Db, TenantId},
    pakasir::PakasirClient,
    secret::Secret,
    store::{catalog::CatalogCache, customers::CustomerBook},
    tenants::{
        model::{Tenant, TenantSecrets, TenantStatus},
        repo::{self, SealedSecrets},
        service::Provisioner,
    },
};

/// How many stores start at once; the rest wait, so a host with many stores starts staggered.
const START_CONCURRENCY: usize = 32;

/// Lets a running store report that Telegram refused its token, without keeping the host
/// alive: the handlers hold it, the host holds the handlers.
#[derive(Clone)]
pub struct TokenWatch {
    host: Weak<Inner>,
    slug: String,
    /// The runtime the handlers belong to (its `generation`), so that a refusal of an old
    /// token never stops the runtime that replaced it.
    generation: OffsetDateTime,
}

impl TokenWatch {
    /// Records the refusal and stops the store, in the background: the store's own handler
    /// reports it, and stopping waits for that handler to finish.
    pub fn rejected(&self) {
        let Some(inner) = self.host.upgrade() else {
            return;
        };
        let host = Host { inner };
        let (slug, generation) = (self.slug.clone(), self.generation);
        tokio::spawn(async move { host.token_rejected(&slug, generation).await });
    }
}

/// Where the webhook route should send an update for a slug.
pub enum Route {
    /// No such store, or it is suspended or deleted.
    Unknown,
    /// The store exists but its bot is (re)starting or could not start; Telegram should retry.
    Unavailable,
    Running(Arc<Running>),
}

#[derive(Default)]
enum SlotState {
    #[default]
    Stopped,
    Starting,
    Running(Arc<Running>),
}

/// One store's place in the host. Slots are never removed, so a sync waiting on a slot's lock
/// always acts on the slot the routing table holds.
#[derive(Default)]
struct Slot {
    sync: tokio::sync::Mutex<()>,
    state: RwLock<SlotState>,
    /// When a sync last read the store's row, under `sync`: a start from an older listing
    /// gives way to it.
    read_at: std::sync::Mutex<Option<Instant>>,
}

impl Slot {
    fn note_read(&self) {
        *self.read_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    fn read_since(&self, when: Instant) -> bool {
        self.read_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|read| read > when)
    }

    fn running(&self) -> Option<Arc<Running>> {
        match &*self.state.read().unwrap_or_else(|p| p.into_inner()) {
            SlotState::Running(running) => Some(Arc::clone(running)),
            _ => None,
        }
    }

    fn set(&self, state: SlotState) {
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = state;
    }
}

/// The host: shared services and the table of stores.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<Config>,
    db: Db,
    sealer: Sealer,
    bots: BotFactory,
    handler: UpdateHandler<anyhow::Error>,
    shared: Shared,
    /// The same services on the money pool, for background work on money and stock.
    money: Shared,
    /// The host's places for accepted updates, shared by its stores.
    budget: Budget,
    dialogues: Arc<DialogueStore>,
    slots: RwLock<HashMap<String, Arc<Slot>>>,
    /// Set once the first pass over the registry has finished, for `/readyz`.
    started: AtomicBool,
}

impl Host {
    pub fn new(config: Arc<Config>, db: Db, sealer: Sealer, bots: BotFactory) -> Self {
        let dialogues = DialogueStore::new(db.clone());
        let pakasir = PakasirClient::new(bots.client().clone(), &config.pakasir_api_url);
        let antispam = Arc::new(AntiSpam::new(config.antispam));
        let gated_on_arrival = config.update_mode == UpdateMode::Webhook;
        let shared = Shared {
            db: db.clone(),
            sealer: sealer.clone(),
            customers: Arc::new(CustomerBook::new()),
            catalog: Arc::new(CatalogCache::new()),
            antispam,
            gated_on_arrival,
            pakasir,
            provisioner: Provisioner::new(db.clone(), sealer.clone(), bots.clone()),
        };
        let money = Shared {
            db: db.money(),
            ..shared.clone()
        };
        let budget = Budget::new(config.capacity.host_updates);
        Self {
            inner: Arc::new(Inner {
                config,
                db: db.clone(),
                sealer: sealer.clone(),
                bots,
                handler: crate::bot::handler_tree(),
                shared,
                money,
                budget,
                dialogues,
                slots: RwLock::new(HashMap::new()),
                started: AtomicBool::new(false),
            }),
        }
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The sealer for secrets and goods at rest.
    pub fn sealer(&self) -> &Sealer {
        &self.inner.sealer
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn customers(&self) -> &Arc<CustomerBook> {
        &self.inner.shared.customers
    }

    /// The services every store's handlers share.
    pub fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The shared services on the money pool ([`Db::money`]): background work that moves
    /// money or stock uses these, so that browsing can never starve it of connections.
    pub fn money(&self) -> &Shared {
        &self.inner.money
    }

    /// The host's places for accepted updates.
    pub fn budget(&self) -> &Budget {
        &self.inner.budget
    }

    /// Tells the host that a store's catalog changed, so cached catalog pages are rebuilt.
    pub fn catalog_changed(&self, tenant: TenantId) {
        self.inner.shared.catalog.invalidate(tenant);
    }

    /// Whether the first start of every store has been attempted.
    pub fn is_started(&self) -> bool {
        self.inner.started.load(Ordering::Acquire)
    }

    /// The route for a webhook delivery; this is on the hot path and takes no lock but two reads.
    pub fn route(&self, slug: &str) -> Route {
        let slot = self
            .inner
            .slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(slug)
            .cloned();
        let Some(slot) = slot else {
            return Route::Unknown;
        };
        match &*slot.state.read().unwrap_or_else(|p| p.into_inner()) {
            SlotState::Running(running) => Route::Running(Arc::clone(running)),
            SlotState::Starting => Route::Unavailable,
            SlotState::Stopped => Route::Unknown,
        }
    }

    /// The stores running in this process.
    pub fn running_stores(&self) -> Vec<Arc<Running>> {
        let slots = self.inner.slots.read().unwrap_or_else(|p| p.into_inner());
        slots.values().filter_map(|slot| slot.running()).collect()
    }

    /// Syncs every store in the registry, a bounded number at a time.
    pub async fn sync_all(&self) -> anyhow::Result<()> {
        let listed_at = Instant::now();
        let tenants = repo::all_for_host(self.inner.db.registry())
            .await
            .context("cannot list the stores")?;
        let listed: HashSet<String> = tenants.iter().map(|t| t.slug.clone()).collect();
        // A store already running from the row just listed has nothing to do, and costs no
        // query: the periodic pass over a host of idle stores is the one listing. A change
        // made after the listing is the notification's to apply, or the next pass's.
        let changed: Vec<Tenant> = tenants
            .into_iter()
            .filter(|tenant| !self.runs_as_listed(tenant))
            .collect();
        // Active stores that do not run yet (all of them, at a start) start from the listed row
        // and secrets read for all of them in one query, rather than two queries per store.
        let starting: Vec<TenantId> = changed
            .iter()
            .filter(|t| t.status == TenantStatus::Active && self.running(&t.slug).is_none())
            .map(|t| t.id)
            .collect();
        let mut sealed = if starting.is_empty() {
            HashMap::new()
        } else {
            repo::sealed_secrets(self.inner.db.registry(), &starting)
                .await
                .context("cannot read the stores' secrets")?
        };
        let mut work: Vec<(String, Option<(Tenant, SealedSecrets)>)> = changed
            .into_iter()
            .map(|tenant| match sealed.remove(&tenant.id) {
                Some(secrets) => (tenant.slug.clone(), Some((tenant, secrets))),
                None => (tenant.slug, None),
            })
            .collect();
        // Stores that run here but vanished from the list (purged while we were not listening).
        for slug in self
            .inner
            .slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
        {
            if !listed.contains(slug) {
                work.push((slug.clone(), None));
            }
        }
        futures::stream::iter(work)
            .for_each_concurrent(START_CONCURRENCY, |(slug, start)| async move {
                let synced = match start {
                    Some((tenant, sealed)) => self.start_listed(tenant, &sealed, listed_at).await,
                    None => self.sync(&slug).await,
                };
                if let Err(error) = synced {
                    tracing::warn!(store = %slug, error = format!("{error:#}"), "could not sync the store; will retry");
                }
            })
            .await;
        self.inner.started.store(true, Ordering::Release);
        Ok(())
    }

    /// Whether `tenant` is active and its store runs here from exactly that row.
    fn runs_as_listed(&self, tenant: &Tenant) -> bool {
        tenant.status == TenantStatus::Active
            && self
                .running(&tenant.slug)
                .is_some_and(|running| running.generation == tenant.updated_at)
    }

    /// The store `slug`'s runtime, if it runs here.
    fn running(&self, slug: &str) -> Option<Arc<Running>> {
        self.inner
            .slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(slug)
            .and_then(|slot| slot.running())
    }

    /// Makes the store `slug` run exactly as the registry says.
    pub async fn sync(&self, slug: &str) -> anyhow::Result<()> {
        let slot = self.slot(slug);
        let _serialised = slot.sync.lock().await;
        slot.note_read();
        let tenant = repo::by_slug(self.inner.db.registry(), slug).await?;
        match tenant {
            Some(tenant) if tenant.status == TenantStatus::Active => {
                self.ensure_running(&slot, tenant, None).await
            }
            other => self.ensure_stopped(&slot, other).await,
        }
    }

    /// Restarts the store `slug` from the registry when its dispatcher has ended although the
    /// store should run; returns whether it did. See [`supervisor`].
    pub async fn revive(&self, slug: &str) -> anyhow::Result<bool> {
        let slot = self.slot(slug);
        {
            let _serialised = slot.sync.lock().await;
            let Some(running) = slot.running().filter(|r| r.has_ended()) else {
                return Ok(false);
            };
            slot.set(SlotState::Stopped);
            // Gives back the places of the updates the dead dispatcher never finished.
            running.stop().await;
        }
        self.sync(slug).await?;
        Ok(true)
    }

    /// Starts a store from the row and secrets `sync_all` read at `listed_at`, unless a sync
    /// read the registry since then (it knows better) or the store runs meanwhile, in which
    /// case the store is synced the usual way.
    async fn start_listed(
        &self,
        tenant: Tenant,
        sealed: &SealedSecrets,
        listed_at: Instant,
    ) -> anyhow::Result<()> {
        let slot = self.slot(&tenant.slug);
        let serialised = slot.sync.lock().await;
        if slot.read_since(listed_at) {
            return Ok(());
        }
        if slot.running().is_some() {
            drop(serialised);
            return self.sync(&tenant.slug).await;
        }
        let secrets = repo::open_secrets(&self.inner.sealer, tenant.id, sealed)?;
        self.ensure_running(&slot, tenant, Some(secrets)).await
    }

    /// Stops every store, letting each finish the updates it already accepted.
    pub async fn shutdown(&self) {
        let slots: Vec<Arc<Slot>> = self
            .inner
            .slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        futures::future::join_all(slots.iter().map(|slot| async move {
            if let Some(running) = slot.running() {
                slot.set(SlotState::Stopped);
                running.stop().await;
            }
        }))
        .await;
    }

    fn slot(&self, slug: &str) -> Arc<Slot> {
        if let Some(slot) = self
            .inner
            .slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(slug)
        {
            return Arc::clone(slot);
        }
        let mut slots = self.inner.slots.write().unwrap_or_else(|p| p.into_inner());
        Arc::clone(slots.entry(slug.to_owned()).or_default())
    }

    /// Runs the store as `tenant` says, with its `secrets` when the caller read them already.
    async fn ensure_running(
        &self,
        slot: &Slot,
        tenant: Tenant,
        secrets: Option<TenantSecrets>,
    ) -> anyhow::Result<()> {
        let current = slot.running();
        if let Some(running) = &current
            && running.generation == tenant.updated_at
        {
            return Ok(());
        }
        let secrets = match secrets {
            Some(secrets) => secrets,
            None => repo::secrets(self.inner.db.registry(), &self.inner.sealer, tenant.id).await?,
        };
        let webhook_current = match self.inner.config.update_mode {
            UpdateMode::Webhook => {
                tenant.webhook_url == self.inner.config.telegram_webhook_url(&tenant.slug)
            }
            UpdateMode::Polling => tenant.webhook_url.is_none(),
        };
        if let Some(running) = &current {
            // Only the profile changed: swap it in place, the bot keeps running.
            if running.bot_token == secrets.bot_token
                && running.webhook_secret == secrets.webhook_secret
                && webhook_current
            {
                running.ctx.replace_tenant(Arc::new(tenant));
                running.ctx.replace_gateway(GatewayKeys::of(&secrets));
                return Ok(());
            }
            slot.set(SlotState::Starting);
            running.stop().await;
            if running.bot_token != secrets.bot_token
                && self.inner.config.update_mode == UpdateMode::Webhook
            {
                // The store moved to another bot: the old one must stop sending here. Best
                // effort, since a token revoked in BotFactory cannot be used any more.
                running.bot.delete_webhook().await.ok();
            }
        }
        slot.set(SlotState::Starting);
        match self.start(tenant, secrets, webhook_current).await {
            Ok(Some(running)) => {
                slot.set(SlotState::Running(Arc::new(running)));
                Ok(())
            }
            Ok(None) => {
                slot.set(SlotState::Stopped);
                Ok(())
            }
            Err(error) => {
                slot.set(SlotState::Stopped);
                Err(error)
            }
        }
    }

    /// Starts a store's bot; `None` when Telegram rejects its token (recorded, not fatal).
    async fn start(
        &self,
        tenant: Tenant,
        secrets: crate::tenants::model::TenantSecrets,
        webhook_current: bool,
    ) -> anyhow::Result<Option<Running>> {
        let registry = self.inner.db.registry();
        let Some((bot, me)) = self.identify(&tenant, &secrets.bot_token).await? else {
            return Ok(None);
        };
        let username = me.username().to_owned();
        let launch = Launch {
            dialogues: self.inner.dialogues.for_tenant(tenant.id),
            ctx: Arc::new(StoreCtx::new(
                Arc::new(tenant.clone()),
                GatewayKeys::of(&secrets),
                &self.inner.shared,
            )),
            bot: self.inner.bots.paced(bot.clone()),
            bot_token: secrets.bot_token,
            webhook_secret: secrets.webhook_secret.clone(),
            generation: tenant.updated_at,
            handler: self.inner.handler.clone(),
            me,
            token_watch: TokenWatch {
                host: Arc::downgrade(&self.inner),
                slug: tenant.slug.clone(),
                generation: tenant.updated_at,
            },
            admission: Arc::new(Admission::new(
                self.inner.config.capacity.store_updates,
                &self.inner.budget,
            )),
        };
        let running = match self.inner.config.update_mode {
            UpdateMode::Webhook => {
                if !webhook_current {
                    let url = self
                        .inner
                        .config
                        .telegram_webhook_url(&tenant.slug)
                        .context("webhook mode needs a public URL")?;
                    // Never drop_pending_updates: pending updates may be payments in progress.
                    bot.set_webhook(reqwest::Url::parse(&url)?)
                        .secret_token(secrets.webhook_secret.expose().clone())
                        .allowed_updates(ALLOWED_UPDATES.to_vec())
                        .await
                        .context("setWebhook failed")?;
                    repo::record_webhook(registry, tenant.id, Some(&url)).await?;
                }
                Running::start_webhook(launch)
            }
            UpdateMode::Polling => {
                let running = Running::start_polling(launch).await;
                if tenant.webhook_url.is_some() {
                    repo::record_webhook(registry, tenant.id, None).await?;
                }
                running
            }
        };
        tracing::info!(store = %tenant.slug, bot = %username, "store started");
        Ok(Some(running))
    }

    /// The store's bot and its identity: the registry's record when it stands for the token
    /// (no call to Telegram), else `getMe`, whose answer is recorded. `None` when Telegram
    /// rejects the token, which is recorded too.
    async fn identify(
        &self,
        tenant: &Tenant,
        token: &Secret,
    ) -> anyhow::Result<Option<(CacheMe<Bot>, Me)>> {
        if let Some(me) = telegram::recorded_identity(tenant, token) {
            return Ok(Some((self.inner.bots.bot(token), me)));
        }
        let registry = self.inner.db.registry();
        match self.inner.bots.check(token).await {
            Ok((bot, me)) => {
                let (id, username) = (me.id.0 as i64, me.username());
                if tenant.bot_id != Some(id)
                    || tenant.bot_username.as_deref() != Some(username)
                    || tenant.bot_error.is_some()
                {
                    repo::record_bot(registry, tenant.id, Some((id, username)), None).await?;
                }
                Ok(Some((bot, me)))
            }
            Err(TokenCheckError::Rejected) => {
                tracing::warn!(store = %tenant.slug, "Telegram rejected the store's bot token; the store is skipped");
                repo::record_bot(registry, tenant.id, None, Some(REJECTED_TOKEN)).await?;
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Telegram refused the token of the store's runtime `generation` at its first use
    /// (revoked since the host started it from the registry's record): the refusal is recorded
    /// in `bot_error`, as a check at start would, and the store stops. The periodic pass checks
    /// the token again. A runtime that replaced that one (a rotated token) is left alone.
    pub async fn token_rejected(&self, slug: &str, generation: OffsetDateTime) {
        let slot = self.slot(slug);
        let _serialised = slot.sync.lock().await;
        let Some(running) = slot.running().filter(|r| r.generation == generation) else {
            return;
        };
        tracing::warn!(store = %slug, "Telegram rejected the store's bot token; the store stops");
        let tenant = running.ctx.tenant_id();
        if let Err(error) =
            repo::record_bot(self.inner.db.registry(), tenant, None, Some(REJECTED_TOKEN)).await
        {
            tracing::warn!(store = %slug, %error, "could not record the rejected token");
        }
        slot.set(SlotState::Stopped);
        running.stop().await;
    }

    async fn ensure_stopped(&self, slot: &Slot, tenant: Option<Tenant>) -> anyhow::Result<()> {
        let running = slot.running();
        slot.set(SlotState::Stopped);
        if let Some(running) = &running {
            running.stop().await;
            tracing::info!(store = %running.ctx.tenant().slug, "store stopped");
        }
        let Some(tenant) = tenant else {
            // Purged: the token is gone with the row, so only a bot we still hold can unregister.
            if let Some(running) = running {
                running.bot.delete_webhook().await.ok();
            }
            return Ok(());
        };
        if tenant.webhook_url.is_some() {
            let bot = match running {
                Some(running) => running.bot.inner().clone(),
                None => {
                    let secrets =
                        repo::secrets(self.inner.db.registry(), &self.inner.sealer, tenant.id)
                            .await?;
                    self.inner.bots.bot(&secrets.bot_token)
                }
            };
            if let Err(error) = bot.delete_webhook().await {
                // A revoked token cannot have a webhook any more; anything else is retried.
                if !matches!(error, teloxide::RequestError::Api(_)) {
                    return Err(error).context("deleteWebhook failed");
                }
            }
            repo::record_webhook(self.inner.db.registry(), tenant.id, None).await?;
        }
        Ok(())
    }
}

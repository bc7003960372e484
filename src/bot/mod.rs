//! The store bot: one teloxide handler tree shared by every store.
//!
//! The tree is built once ([`handler_tree`]) and cloned (cheaply, it is reference-counted)
//! into each store's dispatcher. A store's dispatcher differs only in its bot, its
//! [`StoreCtx`] and its dialogue storage, which reach handlers through `dptree` dependencies.
//!
//! - `tree.rs`: the tree, the middleware that times, counts and traces every update, and the
//!   anti-spam gate (`antispam.rs`).
//! - `nodes.rs`: the tree's filters, which look at an update in place (dptree's clone it).
//! - `customer/`: what customers do: start and menu, browse, cart, checkout and orders, deposits.
//! - `callbacks.rs`: inline-button data; `ui.rs`: send and edit helpers.
//! - `delivery.rs`: sending outbox messages and the goods of paid orders; `notices.rs`: the
//!   staff's notices of the outbox (a paid order, low stock); `store_notices.rs`: telling a
//!   customer what the store did to their order or balance; `events.rs`: the store's own
//!   texts (templates) at their events.
//! - `texts/`: the message catalogue, one file per language.
//! - `dialogue.rs`: dialogue state in PostgreSQL, keyed by (store, chat).
//! - `admin/`: the admin menu, one file per area, and the dialogue mechanism they share.
//! - `split.rs`: data-sized text cut into messages Telegram accepts.
//! - `retry.rs`: running an update again after a transient database fault.
//! - `payments/`: QRIS invoices, the customer's payment buttons, payment messages; confirming
//!   and ending payments is `service::payments`, which this calls.
//! - `snk.rs`: customers fulfil products' terms (SNK); admins review the submissions.
//! - `broadcast_photo.rs`: a broadcast's photo checked with Telegram before it is queued.

pub mod admin;
pub mod antispam;
pub mod broadcast_photo;
pub mod callbacks;
pub mod customer;
pub mod delivery;
pub mod dialogue;
pub mod events;
mod nodes;
pub mod notices;
pub mod payments;
mod retry;
pub mod snk;
pub mod split;
pub mod store_notices;
pub mod texts;
mod tree;
pub mod ui;

use std::sync::{
    Arc, RwLock,
    atomic::{AtomicBool, Ordering},
};

use teloxide::{Bot, adaptors::CacheMe, dispatching::dialogue::Dialogue};

pub use tree::handler_tree;

use crate::{
    crypto::Sealer,
    db::{Db, TenantId},
    host::pace::Paced,
    pakasir::{Credentials, PakasirClient},
    secret::Secret,
    store::{catalog::CatalogCache, customers::CustomerBook},
    tenants::{
        model::{Locale, Tenant, TenantSecrets},
        service::Provisioner,
    },
};

/// The bot type every store uses. `Paced` sends every message through the bot's one sending
/// budget (`host::pace`: one message a second per chat, thirty a second per bot, shared with
/// the store's broadcast, replies first) and, on a 429, pauses the bot for the `retry_after`
/// Telegram asks for and sends again. `CacheMe` answers the dispatcher's own getMe from the
/// check the host made when it started the store.
pub type StoreBot = Paced<CacheMe<Bot>>;

/// What every handler returns; errors are logged and counted per store by the middleware.
pub type HandlerResult = anyhow::Result<()>;

pub type CustomerDialogue = Dialogue<dialogue::State, dialogue::TenantDialogues>;

/// The services shared by every store, handed to each store's context.
#[derive(Clone)]
pub struct Shared {
    pub db: Db,
    pub sealer: Sealer,
    pub customers: Arc<CustomerBook>,
    pub catalog: Arc<CatalogCache>,
    pub antispam: Arc<antispam::AntiSpam>,
    /// Whether updates pass the anti-spam gate on arrival (webhook mode) rather than in the tree.
    pub gated_on_arrival: bool,
    /// One Pakasir client (on the host's one HTTP client) for every store.
    pub pakasir: PakasirClient,
    /// Changes a store's profile (settings, admins) the way the API does, so the admin menu and
    /// `PATCH` share one validated path into the registry.
    pub provisioner: Provisioner,
}

/// A store's Pakasir project and API key. Both are secrets: never logged.
#[derive(Debug)]
pub struct GatewayKeys {
    pub project: Secret,
    pub api_key: Secret,
}

impl GatewayKeys {
    pub fn of(secrets: &TenantSecrets) -> Self {
        Self {
            project: secrets.pakasir_project.clone(),
            api_key: secrets.pakasir_api_key.clone(),
        }
    }

    /// The credentials a Pakasir call takes.
    pub fn credentials(&self) -> Credentials<'_> {
        Credentials {
            project: self.project.expose(),
            api_key: &self.api_key,
        }
    }
}

/// Everything a handler knows about the store it serves: its profile and, through `Deref`,
/// the shared services.
pub struct StoreCtx {
    /// Swapped in place when the store's profile changes, so a branding edit needs no restart.
    tenant: RwLock<Arc<Tenant>>,
    shared: Shared,
    /// The store's Pakasir project and key, opened; swapped when the owner rotates them.
    gateway: RwLock<Arc<GatewayKeys>>,
    /// Whether the last Pakasir call failed (or none was made yet), so a success only writes
    /// to the failure streak when there may be one to end.
    gateway_failing: AtomicBool,
    /// Update handler errors since this store's bot started, for the store's stats.
    handler_errors: std::sync::atomic::AtomicU64,
}

impl std::ops::Deref for StoreCtx {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl StoreCtx {
    pub fn new(tenant: Arc<Tenant>, gateway: GatewayKeys, shared: &Shared) -> Self {
        Self {
            tenant: RwLock::new(tenant),
            shared: shared.clone(),
            gateway: RwLock::new(Arc::new(gateway)),
            gateway_failing: AtomicBool::new(true),
            handler_errors: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Counts a failed update for the store's stats.
    pub fn note_handler_error(&self) {
        self.handler_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn handler_errors(&self) -> u64 {
        self.handler_errors.load(Ordering::Relaxed)
    }

    pub fn gateway_was_failing(&self) -> bool {
        self.gateway_failing.load(Ordering::Relaxed)
    }

    pub fn set_gateway_failing(&self, failing: bool) {
        self.gateway_failing.store(failing, Ordering::Relaxed);
    }

    /// The store's Pakasir project and key.
    pub fn gateway(&self) -> Arc<GatewayKeys> {
        Arc::clone(&self.gateway.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn replace_gateway(&self, gateway: GatewayKeys) {
        *self.gateway.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(gateway);
    }

    /// The language to write to a customer in: their choice if known, else the store's.
    pub fn locale_of(&self, customer: i64) -> Locale {
        let tenant = self.tenant();
        self.customers
            .cached(tenant.id, customer)
            .and_then(|c| c.language)
            .unwrap_or(tenant.locale)
    }

    /// The store's current profile.
    pub fn tenant(&self) -> Arc<Tenant> {
        Arc::clone(&self.tenant.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn tenant_id(&self) -> TenantId {
        self.tenant().id
    }

    pub fn replace_tenant(&self, tenant: Arc<Tenant>) {
        *self.tenant.write().unwrap_or_else(|p| p.into_inner()) = tenant;
    }

    /// The same store over other shared services: background money work takes the running
    /// store's context onto the money pool this way (see `Host::money`).
    pub fn with_services(&self, shared: &Shared) -> Self {
        Self {
            tenant: RwLock::new(self.tenant()),
            shared: shared.clone(),
            gateway: RwLock::new(self.gateway()),
            gateway_failing: AtomicBool::new(self.gateway_was_failing()),
            handler_errors: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

//! The store bot: one teloxide handler tree shared by every store.
//!
//! The tree is built once ([`handler_tree`]) and cloned (cheaply, it is reference-counted)
//! into each store's dispatcher. A store's dispatcher differs only in its bot, its
//! [`StoreCtx`] and its dialogue storage, which reach handlers through `dptree` dependencies.
//!
//! - `tree.rs`: the tree, and the middleware that times, counts and traces every update.
//! - `customer.rs`: what customers do (`/start`, language choice).
//! - `texts.rs`: the message catalogue, one per language.
//! - `dialogue.rs`: dialogue state in PostgreSQL, keyed by (store, chat).

pub mod customer;
pub mod dialogue;
pub mod texts;
mod tree;

use std::sync::{Arc, RwLock};

use teloxide::{
    Bot,
    adaptors::{CacheMe, Throttle},
    dispatching::dialogue::Dialogue,
};

pub use tree::handler_tree;

use crate::{
    db::{Db, TenantId},
    store::customers::CustomerBook,
    tenants::model::Tenant,
};

/// The bot type every store uses. `Throttle` keeps each bot within Telegram's limits (about
/// one message a second per chat and thirty a second per bot) and, on a 429, waits the
/// `retry_after` Telegram asks for and sends again. `CacheMe` answers the dispatcher's own
/// getMe from the check the host made when it started the store.
pub type StoreBot = Throttle<CacheMe<Bot>>;

/// What every handler returns; errors are logged and counted per store by the middleware.
pub type HandlerResult = anyhow::Result<()>;

pub type CustomerDialogue = Dialogue<dialogue::State, dialogue::TenantDialogues>;

/// Everything a handler knows about the store it serves.
pub struct StoreCtx {
    /// Swapped in place when the store's profile changes, so a branding edit needs no restart.
    tenant: RwLock<Arc<Tenant>>,
    pub db: Db,
    pub customers: Arc<CustomerBook>,
}

impl StoreCtx {
    pub fn new(tenant: Arc<Tenant>, db: Db, customers: Arc<CustomerBook>) -> Self {
        Self {
            tenant: RwLock::new(tenant),
            db,
            customers,
        }
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
}

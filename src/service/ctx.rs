//! A running store's context: its profile, its Pakasir keys and the services every store
//! shares. The bot's handlers, the payment service, the host and the jobs all take it, so it
//! belongs to none of the adapters; it holds no Telegram or HTTP types.

use std::sync::{
    Arc, RwLock,
    atomic::{AtomicBool, Ordering},
};

use crate::{
    antispam::AntiSpam,
    crypto::Sealer,
    db::{Db, TenantId},
    pakasir::{Credentials, PakasirClient},
    secret::Secret,
    store::{catalog::CatalogCache, customers::CustomerBook},
    tenants::{
        model::{Locale, Tenant, TenantSecrets},
        service::Provisioner,
    },
};

/// The services shared by every store, handed to each store's context.
#[derive(Clone)]
pub struct Shared {
    pub db: Db,
    pub sealer: Sealer,
    pub customers: Arc<CustomerBook>,
    pub catalog: Arc<CatalogCache>,
    pub antispam: Arc<AntiSpam>,
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

//! Stores as payment work that does not come from their bot sees them (the Pakasir webhook, the
//! reconciliation job, the API): the running store's context and bot when it runs in this
//! process, else a context opened from the registry whose messages wait in the outbox. Either
//! works on the money pool, so that no amount of browsing can hold payments up.

use std::{collections::HashMap, sync::Arc};

use super::{Host, Route, Running};
use crate::{
    bot::{GatewayKeys, StoreCtx, delivery::BotCourier},
    db::TenantId,
    service::payments::PayStore,
    tenants::{model::Tenant, repo},
};

impl Host {
    /// The store `slug`, running or not; `None` when no such store exists.
    pub async fn pay_store(&self, slug: &str) -> anyhow::Result<Option<PayStore>> {
        if let Route::Running(running) = self.route(slug) {
            return Ok(Some(self.running_pay_store(&running)));
        }
        match repo::by_slug(self.money().db.registry(), slug).await? {
            Some(tenant) => self.offline_pay_store(tenant).await.map(Some),
            None => Ok(None),
        }
    }

    /// The store with id `tenant`, looked up among `running` first.
    pub async fn pay_store_by_id(
        &self,
        running: &HashMap<TenantId, PayStore>,
        tenant: TenantId,
    ) -> anyhow::Result<Option<PayStore>> {
        if let Some(store) = running.get(&tenant) {
            return Ok(Some(store.clone()));
        }
        match repo::by_id(self.money().db.registry(), tenant).await? {
            Some(tenant) => self.offline_pay_store(tenant).await.map(Some),
            None => Ok(None),
        }
    }

    /// The stores running in this process, by id.
    pub fn running_pay_stores(&self) -> HashMap<TenantId, PayStore> {
        self.running_stores()
            .into_iter()
            .map(|running| (running.ctx.tenant_id(), self.running_pay_store(&running)))
            .collect()
    }

    /// A running store, its context taken onto the money pool, its bot the courier.
    fn running_pay_store(&self, running: &Running) -> PayStore {
        let ctx = running.ctx.with_services(self.money());
        let courier = BotCourier(running.bot.clone());
        PayStore::new(Arc::new(ctx), Some(Arc::new(courier)))
    }

    /// A context for a store whose bot does not run here: no courier.
    async fn offline_pay_store(&self, tenant: Tenant) -> anyhow::Result<PayStore> {
        let secrets = repo::secrets(self.money().db.registry(), self.sealer(), tenant.id).await?;
        let ctx = StoreCtx::new(Arc::new(tenant), GatewayKeys::of(&secrets), self.money());
        Ok(PayStore::new(Arc::new(ctx), None))
    }
}

//! Stores as payment work that does not come from their bot sees them (the Pakasir webhook, the
//! reconciliation job): the running store's context and bot when it runs in this process, else
//! a context opened from the registry whose messages wait in the outbox.

use std::{collections::HashMap, sync::Arc};

use super::{Host, Route, Running};
use crate::{
    bot::{GatewayKeys, StoreCtx, delivery::BotCourier},
    db::TenantId,
    service::payments::PayStore,
    tenants::{model::Tenant, repo},
};

impl Running {
    /// This store with its bot as the courier of its messages.
    pub fn pay_store(&self) -> PayStore {
        PayStore::new(
            Arc::clone(&self.ctx),
            Some(Arc::new(BotCourier(self.bot.clone()))),
        )
    }
}

impl Host {
    /// The store `slug`, running or not; `None` when no such store exists.
    pub async fn pay_store(&self, slug: &str) -> anyhow::Result<Option<PayStore>> {
        if let Route::Running(running) = self.route(slug) {
            return Ok(Some(running.pay_store()));
        }
        match repo::by_slug(self.db().registry(), slug).await? {
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
        match repo::by_id(self.db().registry(), tenant).await? {
            Some(tenant) => self.offline_pay_store(tenant).await.map(Some),
            None => Ok(None),
        }
    }

    /// The stores running in this process, by id.
    pub fn running_pay_stores(&self) -> HashMap<TenantId, PayStore> {
        self.running_stores()
            .into_iter()
            .map(|running| (running.ctx.tenant_id(), running.pay_store()))
            .collect()
    }

    /// A context for a store whose bot does not run here: no courier.
    async fn offline_pay_store(&self, tenant: Tenant) -> anyhow::Result<PayStore> {
        let secrets = repo::secrets(self.db().registry(), self.sealer(), tenant.id).await?;
        let ctx = StoreCtx::new(Arc::new(tenant), GatewayKeys::of(&secrets), self.shared());
        Ok(PayStore::new(Arc::new(ctx), None))
    }
}

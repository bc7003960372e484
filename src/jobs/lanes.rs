//! Work across stores, concurrent but fair: one lane per store, a bounded number of lanes at
//! once.
//!
//! A lane does one store's items one after another, so a store whose gateway answers slowly
//! holds one place and never more, and every other store's lane runs beside it. A pass does not
//! wait for the lanes it started: the next pass leaves out the stores whose lane still works
//! ([`Lanes::busy`]) and serves the others, so a slow store delays nobody's next turn.

use std::{
    collections::HashSet,
    future::Future,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::{sync::Semaphore, task::JoinSet};

use crate::db::TenantId;

/// The lanes of one background job.
pub struct Lanes {
    /// Stores whose lane has started and not finished (waiting for a place, or working).
    busy: Arc<Mutex<HashSet<TenantId>>>,
    /// Places for lanes that work at once.
    places: Arc<Semaphore>,
}

impl Lanes {
    /// Lanes of which at most `at_once` work at a time.
    pub fn new(at_once: usize) -> Self {
        Self {
            busy: Arc::default(),
            places: Arc::new(Semaphore::new(at_once.max(1))),
        }
    }

    /// The stores whose lane still works, to be left out of the next claim.
    pub fn busy(&self) -> Vec<TenantId> {
        self.busy_set().iter().copied().collect()
    }

    /// Starts a lane in `tasks` for every store in `work`, which holds items with their store
    /// in the order they should be done (a store's lane keeps the order of its items; lanes
    /// start in the order their store first appears). `lane` makes a store's work from its items.
    pub fn start<T, R, Fut>(
        &self,
        tasks: &mut JoinSet<R>,
        work: Vec<(T, TenantId)>,
        lane: impl Fn(TenantId, Vec<T>) -> Fut,
    ) where
        Fut: Future<Output = R> + Send + 'static,
        R: Send + 'static,
    {
        let mut stores: Vec<(TenantId, Vec<T>)> = Vec::new();
        for (item, tenant) in work {
            match stores.iter_mut().find(|(t, _)| *t == tenant) {
                Some((_, items)) => items.push(item),
                None => stores.push((tenant, vec![item])),
            }
        }
        for (tenant, items) in stores {
            self.busy_set().insert(tenant);
            let busy = Busy {
                stores: Arc::clone(&self.busy),
                tenant,
            };
            let places = Arc::clone(&self.places);
            let work = lane(tenant, items);
            tasks.spawn(async move {
                // Dropped when the lane ends, even by a panic or an abort: the store is free.
                let _busy = busy;
                let _place = places.acquire_owned().await;
                work.await
            });
        }
    }

    fn busy_set(&self) -> std::sync::MutexGuard<'_, HashSet<TenantId>> {
        self.busy.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A store's lane in progress; dropping it frees the store for the next claim.
struct Busy {
    stores: Arc<Mutex<HashSet<TenantId>>>,
    tenant: TenantId,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.tenant);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn store() -> TenantId {
        TenantId(uuid::Uuid::new_v4())
    }

    #[tokio::test]
    async fn a_slow_store_holds_one_place_and_its_store_stays_busy_until_done() {
        let lanes = Lanes::new(2);
        let (slow, quick) = (store(), store());
        let mut tasks = JoinSet::new();
        let work = vec![(1, slow), (2, quick), (3, slow), (4, quick)];
        lanes.start(&mut tasks, work, move |tenant, items| async move {
            if tenant == slow {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            (tenant, items)
        });
        let (first, items) = tasks.join_next().await.unwrap().unwrap();
        assert_eq!((first, items), (quick, vec![2, 4]));
        assert_eq!(lanes.busy(), vec![slow]);
        let (second, items) = tasks.join_next().await.unwrap().unwrap();
        assert_eq!((second, items), (slow, vec![1, 3]));
        assert!(lanes.busy().is_empty());
    }
}

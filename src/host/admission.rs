//! Admission: how many updates the host holds between the webhook's answer and the end of their
//! handling.
//!
//! Telegram redelivers an update only when the webhook did not answer 2xx, so a 200 is a promise
//! to handle the update. The webhook therefore answers 200 only for an update it has a *place*
//! for, in the store's share and in the host's; otherwise it answers 503 and Telegram keeps the
//! update for later. A place is held from the webhook's answer until the handler tree is done
//! with the update (retries included), wherever the update waits meanwhile: in the store's
//! inbox, in the dispatcher's per-chat queues or in a handler waiting for a connection. So the
//! memory and the database work behind the webhook are bounded however many customers write at
//! once, and one flooded store cannot take the places of the others.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use teloxide::types::UpdateId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The host's places, shared by every store.
#[derive(Clone, Debug)]
pub struct Budget {
    places: Arc<Semaphore>,
}

impl Budget {
    pub fn new(places: usize) -> Self {
        Self {
            places: Arc::new(Semaphore::new(places)),
        }
    }

    /// Places free right now, for the metrics.
    pub fn available(&self) -> usize {
        self.places.available_permits()
    }
}

/// One store's places and the updates holding them.
#[derive(Debug)]
pub struct Admission {
    capacity: usize,
    store: Arc<Semaphore>,
    host: Budget,
    held: Mutex<HashMap<UpdateId, Place>>,
}

/// A place in the store's share and in the host's; given back when dropped.
#[derive(Debug)]
pub struct Place {
    _store: OwnedSemaphorePermit,
    _host: OwnedSemaphorePermit,
}

impl Admission {
    pub fn new(capacity: usize, host: &Budget) -> Self {
        Self {
            capacity,
            store: Arc::new(Semaphore::new(capacity)),
            host: host.clone(),
            held: Mutex::new(HashMap::new()),
        }
    }

    /// The store's share: how many updates it may hold at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// A place for one more update, or `None` when the store or the host is full.
    pub fn reserve(&self) -> Option<Place> {
        let store = Arc::clone(&self.store).try_acquire_owned().ok()?;
        let host = Arc::clone(&self.host.places).try_acquire_owned().ok()?;
        Some(Place {
            _store: store,
            _host: host,
        })
    }

    /// A place for one more update, once one is free (polling mode: Telegram keeps the
    /// updates the host does not fetch yet).
    pub async fn wait(&self) -> Place {
        // Neither semaphore is ever closed, so acquiring can only wait, never fail.
        let store = Arc::clone(&self.store)
            .acquire_owned()
            .await
            .expect("the store's places are never closed");
        let host = Arc::clone(&self.host.places)
            .acquire_owned()
            .await
            .expect("the host's places are never closed");
        Place {
            _store: store,
            _host: host,
        }
    }

    /// Keeps `place` until the handling of update `id` is [`finished`](Self::finished).
    pub fn hold(&self, id: UpdateId, place: Place) {
        self.held().insert(id, place);
    }

    /// The handler tree is done with update `id`: its place is free again.
    pub fn finished(&self, id: UpdateId) {
        self.held().remove(&id);
    }

    /// Updates of this store accepted and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.held().len()
    }

    /// Gives back every place, once the store's dispatcher has stopped: an update it dropped
    /// unhandled (a dispatcher aborted after its grace period) must not keep its place forever.
    pub fn release_all(&self) {
        self.held().clear();
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<UpdateId, Place>> {
        // The map holds plain data that stays consistent even if a holder panicked.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use teloxide::types::UpdateId;

    use super::{Admission, Budget};

    #[test]
    fn a_store_and_the_host_each_bound_the_updates_held() {
        let host = Budget::new(3);
        let small = Admission::new(2, &host);
        let other = Admission::new(10, &host);

        let first = small.reserve().expect("a place");
        small.hold(UpdateId(1), first);
        let second = small.reserve().expect("a place");
        assert!(small.reserve().is_none(), "the store's share is full");
        drop(second);
        small.hold(UpdateId(2), small.reserve().expect("a place again"));

        other.hold(UpdateId(7), other.reserve().expect("a place"));
        assert!(other.reserve().is_none(), "the host's places are all taken");
        assert_eq!(host.available(), 0);

        small.finished(UpdateId(1));
        assert!(
            other.reserve().is_some(),
            "a finished update frees its place"
        );
        assert_eq!(small.in_flight(), 1);
        small.release_all();
        other.release_all();
        assert_eq!(host.available(), 3);
    }
}

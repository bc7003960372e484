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
//!
//! The host's places are a hard bound; below it the host admits only about a second of work
//! (`Capacity::backlog`): the updates it finished in the last second, times the backlog. An
//! update accepted behind many seconds of work is answered late, and while the CPU is saturated
//! by that work the webhook itself answers late too, so Telegram's delivery connections become
//! the queue (docs/ARCHITECTURE.md, "Overload"). A floor keeps a host that has not measured
//! its rate yet (just started, or quiet) from refusing a store's ordinary burst.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use teloxide::types::UpdateId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How often the service rate is measured; the limit follows it one window late.
const WINDOW: Duration = Duration::from_secs(1);

/// The host's places, shared by every store.
#[derive(Clone, Debug)]
pub struct Budget {
    places: Arc<Semaphore>,
    capacity: usize,
    rate: Arc<ServiceRate>,
}

/// How much work the host takes on at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Updates held at most, whatever the rate.
    pub places: usize,
    /// The work held, in time at the measured service rate.
    pub backlog: Duration,
    /// Updates the host admits even before it knows its rate.
    pub floor: usize,
}

/// Updates finished per [`WINDOW`], and the limit on updates held that follows from it.
#[derive(Debug)]
struct ServiceRate {
    backlog: Duration,
    floor: usize,
    capacity: usize,
    /// When the window being counted began, in milliseconds since `epoch`.
    epoch: Instant,
    window_start: AtomicU64,
    finished: AtomicU64,
    /// Updates held at most right now: the measured rate times the backlog, within
    /// `floor..=capacity`.
    limit: AtomicUsize,
}

impl ServiceRate {
    fn new(bounds: Bounds) -> Self {
        let floor = bounds.floor.clamp(1, bounds.places);
        Self {
            backlog: bounds.backlog,
            floor,
            capacity: bounds.places,
            epoch: Instant::now(),
            window_start: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            limit: AtomicUsize::new(floor),
        }
    }

    fn finished(&self) {
        self.finished.fetch_add(1, Ordering::Relaxed);
    }

    /// The limit, after closing the window if it is over.
    fn limit(&self) -> usize {
        self.limit_at(self.epoch.elapsed())
    }

    /// The limit at `now` (since `epoch`). Of the callers that find the window over, one
    /// closes it; the others use the limit as it was, a window late at most.
    fn limit_at(&self, now: Duration) -> usize {
        let now = now.as_millis() as u64;
        let start = self.window_start.load(Ordering::Relaxed);
        let elapsed = now.saturating_sub(start);
        if elapsed >= WINDOW.as_millis() as u64
            && self
                .window_start
                .compare_exchange(start, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            let finished = self.finished.swap(0, Ordering::AcqRel);
            // Updates a second, times the backlog in seconds; a window stretched by a quiet
            // spell counts as the slow rate it was.
            let held = finished as u128 * self.backlog.as_millis() / u128::from(elapsed);
            let limit = (held as usize).clamp(self.floor, self.capacity);
            self.limit.store(limit, Ordering::Relaxed);
            return limit;
        }
        self.limit.load(Ordering::Relaxed)
    }
}

impl Budget {
    pub fn new(bounds: Bounds) -> Self {
        Self {
            places: Arc::new(Semaphore::new(bounds.places)),
            capacity: bounds.places,
            rate: Arc::new(ServiceRate::new(bounds)),
        }
    }

    /// Places free right now, for the metrics.
    pub fn available(&self) -> usize {
        self.places.available_permits()
    }

    /// Updates held right now.
    pub fn held(&self) -> usize {
        self.capacity - self.available()
    }

    /// Updates the host admits at most right now: about `backlog` of work at the rate it has
    /// been finishing them.
    pub fn limit(&self) -> usize {
        self.rate.limit()
    }

    /// Whether the host takes one more update on: below its rate-sized limit (checked before
    /// its places, which stay the hard bound).
    fn admits(&self) -> bool {
        self.held() < self.limit()
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

    /// Whether [`reserve`](Self::reserve) would find a place now: a cheap look taken before
    /// the body is parsed, so that refusing costs the host next to nothing when it is busiest.
    pub fn has_room(&self) -> bool {
        self.store.available_permits() > 0 && self.host.admits()
    }

    /// A place for one more update, or `None` when the store or the host is full.
    pub fn reserve(&self) -> Option<Place> {
        if !self.host.admits() {
            return None;
        }
        let store = Arc::clone(&self.store).try_acquire_owned().ok()?;
        let host = Arc::clone(&self.host.places).try_acquire_owned().ok()?;
        Some(Place {
            _store: store,
            _host: host,
        })
    }

    /// A place for one more update, once one is free (polling mode: Telegram keeps the
    /// updates the host does not fetch yet, and the fetching itself paces them).
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

    /// The handler tree is done with update `id`: its place is free again, and it counts
    /// towards the host's service rate.
    pub fn finished(&self, id: UpdateId) {
        if self.held().remove(&id).is_some() {
            self.host.rate.finished();
        }
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
    use std::time::Duration;

    use teloxide::types::UpdateId;

    use super::{Admission, Bounds, Budget};

    fn budget(places: usize, floor: usize) -> Budget {
        let budget = Budget::new(Bounds {
            places,
            backlog: Duration::from_secs(1),
            floor,
        });
        // The tests' clock starts far past the real one, which then never closes a window.
        at(&budget, 1000.0);
        budget
    }

    /// Closes the window at `seconds` on the tests' clock; the limit it leaves.
    fn at(budget: &Budget, seconds: f64) -> usize {
        budget.rate.limit_at(Duration::from_secs_f64(seconds))
    }

    #[test]
    fn a_store_and_the_host_each_bound_the_updates_held() {
        let host = budget(3, 3);
        let small = Admission::new(2, &host);
        let other = Admission::new(10, &host);

        let first = small.reserve().expect("a place");
        small.hold(UpdateId(1), first);
        let second = small.reserve().expect("a place");
        assert!(small.reserve().is_none(), "the store's share is full");
        assert!(!small.has_room());
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

    #[test]
    fn the_host_holds_about_a_second_of_the_work_it_finishes() {
        // 100 places, but before any rate is known only the floor of 4 is admitted.
        let host = budget(100, 4);
        let store = Admission::new(100, &host);
        for id in 0..4 {
            store.hold(UpdateId(id), store.reserve().expect("within the floor"));
        }
        assert!(!store.has_room(), "the floor is reached, not the places");
        assert!(store.reserve().is_none());

        // Eight updates finished within the second: a second's backlog is eight.
        for id in 0..4 {
            store.finished(UpdateId(id));
        }
        for id in 4..10 {
            store.hold(UpdateId(id), store.reserve().expect("below the floor"));
            if id < 8 {
                store.finished(UpdateId(id));
            }
        }
        assert_eq!(host.held(), 2);
        assert_eq!(at(&host, 1000.5), 4, "the window is not over yet");
        assert_eq!(at(&host, 1001.0), 8, "8 finished in one second");
        for id in 10..16 {
            store.hold(UpdateId(id), store.reserve().expect("below the limit"));
        }
        assert!(store.reserve().is_none(), "8 held: a second of work");
        assert_eq!(host.held(), 8);

        // A quiet spell brings the limit back to the floor, never below it.
        assert_eq!(at(&host, 1006.0), 4);
        store.release_all();

        // Nor above the places, however fast the host was.
        let fast = budget(10, 2);
        let busy = Admission::new(10, &fast);
        for id in 0..50 {
            busy.hold(UpdateId(id), busy.reserve().expect("a place"));
            busy.finished(UpdateId(id));
        }
        assert_eq!(at(&fast, 1001.0), 10);
    }
}

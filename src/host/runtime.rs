//! One running store: its bot, its dispatcher task and, in webhook mode, its inbox.

use std::{
    collections::{HashSet, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use teloxide::{
    dispatching::UpdateHandler,
    prelude::*,
    stop::StopToken,
    types::{Me, Update, UpdateId},
    update_listeners::{Polling, UpdateListener},
};
use time::OffsetDateTime;
use tokio::{runtime::Handle, sync::mpsc, task::JoinHandle};
use tracing::Instrument;

use super::{TokenWatch, admission::Admission, dispatch::Dispatch, listener};
use crate::{
    bot::{StoreBot, StoreCtx, dialogue::TenantDialogues},
    secret::Secret,
};

/// How long a store may take to finish the updates it already accepted when it stops.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// What the webhook route did with an update.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    Queued,
    /// The same `update_id` was accepted before; Telegram retried a delivery.
    Duplicate,
    /// The customer is over the anti-spam limit; the update is dropped on purpose.
    Throttled,
    /// The store or the host holds all the updates it may; or the store is stopping.
    /// Nothing was recorded, so Telegram's retry is handled as new.
    Busy,
}

pub struct Running {
    pub ctx: Arc<StoreCtx>,
    pub bot: StoreBot,
    pub bot_token: Secret,
    pub webhook_secret: Secret,
    /// The tenant row's `updated_at` this runtime was built from.
    pub generation: OffsetDateTime,
    /// Present in webhook mode: where the webhook route pushes updates.
    inbox: Option<mpsc::Sender<Update>>,
    /// The places of the updates accepted and not yet handled.
    admission: Arc<Admission>,
    /// Recently accepted update ids, so a redelivered update is processed once.
    seen: Mutex<RecentIds>,
    stop: StopToken,
    task: Mutex<Option<JoinHandle<()>>>,
    /// The runtime the dispatcher runs on; `accept` runs on the HTTP thread and spawns here.
    runtime: Handle,
}

/// What a dispatcher needs besides its listener.
pub struct Launch {
    pub ctx: Arc<StoreCtx>,
    pub bot: StoreBot,
    pub bot_token: Secret,
    pub webhook_secret: Secret,
    pub generation: OffsetDateTime,
    pub dialogues: Arc<TenantDialogues>,
    pub handler: UpdateHandler<anyhow::Error>,
    /// The bot's identity, which commands addressed `/start@username` are checked against.
    pub me: Me,
    /// Where handlers report that Telegram refused the bot's token.
    pub token_watch: TokenWatch,
    /// The store's share of places; its capacity is also the size of the store's inbox.
    pub admission: Arc<Admission>,
}

impl Running {
    /// Starts a dispatcher fed by the webhook route.
    pub fn start_webhook(launch: Launch) -> Self {
        let (tx, listener, stop) = listener::channel(launch.admission.capacity());
        Self::start(launch, listener, stop, Some(tx))
    }

    /// Starts a dispatcher that long-polls `getUpdates` (which first deletes any webhook).
    pub async fn start_polling(launch: Launch) -> Self {
        let mut polling = Polling::builder(launch.bot.clone())
            .timeout(Duration::from_secs(10))
            .allowed_updates(super::telegram::ALLOWED_UPDATES.to_vec())
            .delete_webhook()
            .await
            .build();
        let stop = polling.stop_token();
        let listener = listener::admitted(polling, Arc::clone(&launch.admission));
        Self::start(launch, listener, stop, None)
    }

    fn start<L>(
        launch: Launch,
        listener: L,
        stop: StopToken,
        inbox: Option<mpsc::Sender<Update>>,
    ) -> Self
    where
        L: UpdateListener + Send + 'static,
        L::Err: std::fmt::Debug + Send,
    {
        let slug = launch.ctx.tenant().slug.clone();
        let dispatch = Dispatch::new(
            launch.handler,
            dptree::deps![
                launch.bot.clone(),
                launch.me,
                launch.token_watch,
                Arc::clone(&launch.ctx),
                launch.dialogues,
                Arc::clone(&launch.admission)
            ],
        );
        let span = tracing::info_span!("store", store = %slug);
        let task = tokio::spawn(dispatch.run(listener).instrument(span));
        Self {
            ctx: launch.ctx,
            bot: launch.bot,
            bot_token: launch.bot_token,
            webhook_secret: launch.webhook_secret,
            generation: launch.generation,
            inbox,
            admission: launch.admission,
            seen: Mutex::new(RecentIds::default()),
            stop,
            task: Mutex::new(Some(task)),
            runtime: Handle::current(),
        }
    }

    /// Hands a webhook update to the dispatcher, once per `update_id`, if the store and the
    /// host have a place for it; the place is held until the handler tree is done with it.
    pub fn accept(&self, update: Update) -> Accepted {
        let Some(inbox) = &self.inbox else {
            return Accepted::Busy;
        };
        let id = update.id;
        if self.seen().contains(id) {
            return Accepted::Duplicate;
        }
        // Full: answer 503 *before* recording anything, so Telegram's redelivery is new to us.
        let Some(place) = self.admission.reserve() else {
            return Accepted::Busy;
        };
        // `insert` is atomic: of two concurrent deliveries of one update, one sees it fresh
        // (the other's place goes back as it is dropped).
        if !self.seen().insert(id) {
            return Accepted::Duplicate;
        }
        if !crate::bot::antispam::gate(&self.ctx, &self.bot, &update, &self.runtime) {
            return Accepted::Throttled;
        }
        self.admission.hold(id, place);
        // The inbox is as large as the store's share, so only a closing store refuses here.
        match inbox.try_send(update) {
            Ok(()) => Accepted::Queued,
            Err(_) => {
                self.admission.finished(id);
                self.seen().remove(id);
                Accepted::Busy
            }
        }
    }

    /// Whether the store and the host have a place for an update now; the webhook asks before
    /// parsing the body, so a refusal costs next to nothing. `accept` still decides.
    pub fn has_room(&self) -> bool {
        self.inbox.is_some() && self.admission.has_room()
    }

    /// Updates of this store accepted and not yet handled.
    pub fn in_flight(&self) -> usize {
        self.admission.in_flight()
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, RecentIds> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the dispatcher is gone: it ended (a panic outside the handlers, a listener that
    /// gave up) or was stopped. A store in this state takes no update until it is restarted.
    pub fn has_ended(&self) -> bool {
        self.task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_none_or(JoinHandle::is_finished)
    }

    /// Stops the dispatcher after it has finished the updates it already accepted.
    pub async fn stop(&self) {
        self.stop.stop();
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(STOP_GRACE, task).await.is_err() {
                tracing::warn!(store = %self.ctx.tenant().slug, "the dispatcher did not stop in time; aborting it");
                abort.abort();
            }
        }
        self.admission.release_all();
    }
}

/// The update ids a store accepted lately, to process a redelivered update once.
///
/// Telegram redelivers only what was not answered 2xx, soon after, and the ids of one bot only
/// grow, so the last couple of thousand ids suffice. It costs nothing until updates arrive,
/// which matters for a host with a thousand mostly idle stores.
#[derive(Default)]
struct RecentIds {
    order: VecDeque<UpdateId>,
    set: HashSet<UpdateId>,
}

impl RecentIds {
    const KEEP: usize = 2048;

    fn contains(&self, id: UpdateId) -> bool {
        self.set.contains(&id)
    }

    /// Remembers `id`; `false` when it was already there.
    fn insert(&mut self, id: UpdateId) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > Self::KEEP
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        true
    }

    fn remove(&mut self, id: UpdateId) {
        if self.set.remove(&id) {
            self.order.retain(|x| *x != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use teloxide::types::UpdateId;

    use super::RecentIds;

    #[test]
    fn recent_ids_remember_a_bounded_window() {
        let mut ids = RecentIds::default();
        assert!(ids.insert(UpdateId(1)));
        assert!(!ids.insert(UpdateId(1)));
        assert!(ids.contains(UpdateId(1)));
        ids.remove(UpdateId(1));
        assert!(ids.insert(UpdateId(1)));
        for id in 2..=(RecentIds::KEEP as u32 + 1) {
            assert!(ids.insert(UpdateId(id)));
        }
        assert!(ids.insert(UpdateId(1)), "the oldest id was forgotten");
        assert_eq!(ids.order.len(), RecentIds::KEEP);
    }
}

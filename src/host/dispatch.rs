//! One store's dispatcher: updates from its listener through the shared handler tree.
//!
//! teloxide's `Dispatcher` asks Telegram `getMe` whenever it starts (a thousand calls when a
//! host with a thousand stores restarts), keeps a task per chat that ever wrote until it decides
//! to sweep them, stops dispatching for the whole store while one chat's queue is full, and
//! panics when a handler panicked. This one takes the bot's identity from the host (which keeps
//! it in the registry), runs each chat's updates in order and different chats at once, keeps
//! nothing for a chat with nothing queued, and leaves its bounds to the admission places: an
//! update reaches it only holding one.

use std::{
    collections::{HashMap, VecDeque},
    panic::AssertUnwindSafe,
    sync::{Arc, Mutex},
};

use futures::{FutureExt, StreamExt};
use teloxide::{
    dispatching::UpdateHandler,
    dptree::{self, Type, di::DependencyMap},
    types::{ChatId, Update},
    update_listeners::UpdateListener,
};
use tokio::sync::mpsc;

pub struct Dispatch {
    tree: UpdateHandler<anyhow::Error>,
    /// What every update's handlers get besides the update: the bot, its identity (`Me`), the
    /// store's context, dialogues and admission.
    deps: DependencyMap,
    /// The updates waiting behind the one being handled, per chat with one in progress.
    chats: Mutex<HashMap<ChatId, VecDeque<Update>>>,
}

impl Dispatch {
    /// A dispatcher running `tree` with `deps`.
    ///
    /// # Panics
    /// When `deps` lack something the tree needs: a programming error that every test of the
    /// bot would show.
    pub fn new(tree: UpdateHandler<anyhow::Error>, deps: DependencyMap) -> Arc<Self> {
        dptree::type_check(tree.sig(), &deps, &[Type::of::<Update>()]);
        Arc::new(Self {
            tree,
            deps,
            chats: Mutex::new(HashMap::new()),
        })
    }

    /// Dispatches until the listener's stream ends (its stop token fired and what it had
    /// accepted was taken), then waits for the updates in progress.
    pub async fn run<L>(self: Arc<Self>, mut listener: L)
    where
        L: UpdateListener,
        L::Err: std::fmt::Debug,
    {
        // Every task holds a clone of `alive`; once the last is gone, `all_done` ends. Tasks
        // keep nothing behind when they finish, which a set of join handles would.
        let (alive, mut all_done) = mpsc::channel::<()>(1);
        {
            let mut updates = std::pin::pin!(listener.as_stream());
            while let Some(next) = updates.next().await {
                match next {
                    Ok(update) => self.dispatch(update, &alive),
                    Err(error) => tracing::warn!(?error, "the update listener failed"),
                }
            }
        }
        drop(alive);
        let _ = all_done.recv().await;
    }

    /// Starts `update`, or queues it behind its chat's update in progress.
    fn dispatch(self: &Arc<Self>, update: Update, alive: &mpsc::Sender<()>) {
        let this = Arc::clone(self);
        let alive = alive.clone();
        let Some(chat) = update.chat().map(|chat| chat.id) else {
            tokio::spawn(async move {
                this.handle(update).await;
                drop(alive);
            });
            return;
        };
        {
            let mut chats = self.chats();
            if let Some(waiting) = chats.get_mut(&chat) {
                waiting.push_back(update);
                return;
            }
            chats.insert(chat, VecDeque::new());
        }
        tokio::spawn(async move {
            this.serve_chat(chat, update).await;
            drop(alive);
        });
    }

    /// Handles a chat's updates one after another until none is waiting.
    async fn serve_chat(&self, chat: ChatId, first: Update) {
        let mut next = Some(first);
        while let Some(update) = next {
            self.handle(update).await;
            let mut chats = self.chats();
            next = chats.get_mut(&chat).and_then(VecDeque::pop_front);
            if next.is_none() {
                chats.remove(&chat);
            }
        }
    }

    async fn handle(&self, update: Update) {
        let mut deps = self.deps.clone();
        deps.insert(update);
        // The tree's middleware logs and counts failures; an update that no branch takes
        // (an edited message, say) is left alone. A panicking handler fails its update only.
        if AssertUnwindSafe(self.tree.dispatch(deps))
            .catch_unwind()
            .await
            .is_err()
        {
            tracing::error!("an update handler panicked");
        }
    }

    fn chats(&self) -> std::sync::MutexGuard<'_, HashMap<ChatId, VecDeque<Update>>> {
        // The map holds plain data that stays consistent even if a holder panicked.
        self.chats.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{Arc, Mutex},
        time::Duration,
    };

    use teloxide::{
        dispatching::UpdateHandler,
        dptree,
        types::{Update, UpdateId},
    };

    use super::Dispatch;
    use crate::host::listener;

    type Log = Arc<Mutex<Vec<u32>>>;

    fn update(id: u32, chat: i64) -> Update {
        let json = format!(
            r#"{{"update_id":{id},"message":{{"message_id":{id},"date":1764720000,
                "chat":{{"id":{chat},"type":"private","first_name":"C"}},
                "from":{{"id":{chat},"is_bot":false,"first_name":"C"}},"text":"hi"}}}}"#
        );
        serde_json::from_str(&json).expect("a valid update")
    }

    #[tokio::test]
    async fn a_chat_is_served_in_order_and_never_holds_up_another() {
        // Update 1 is slow; 2 and 3 are of the same chat, 4 of another.
        let tree: UpdateHandler<anyhow::Error> =
            dptree::entry().endpoint(|update: Update, log: Log| async move {
                if update.id == UpdateId(1) {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                log.lock().unwrap().push(update.id.0);
                Ok(())
            });
        let log: Log = Arc::default();
        let dispatch = Dispatch::new(tree, dptree::deps![Arc::clone(&log)]);
        let (inbox, listener, stop) = listener::channel(8);
        for (id, chat) in [(1, 10), (2, 10), (3, 10), (4, 20)] {
            inbox.try_send(update(id, chat)).unwrap();
        }
        stop.stop();

        dispatch.run(listener).await;

        // Everything accepted was handled before `run` returned.
        assert_eq!(*log.lock().unwrap(), vec![4, 1, 2, 3]);
    }

    #[tokio::test]
    async fn a_panicking_handler_fails_its_own_update_only() {
        // Update 1 panics; 2 is of the same chat (queued behind it), 3 of another chat.
        let tree: UpdateHandler<anyhow::Error> =
            dptree::entry().endpoint(|update: Update, log: Log| async move {
                assert_ne!(update.id, UpdateId(1), "a handler bug");
                log.lock().unwrap().push(update.id.0);
                Ok(())
            });
        let log: Log = Arc::default();
        let dispatch = Dispatch::new(tree, dptree::deps![Arc::clone(&log)]);
        let (inbox, listener, stop) = listener::channel(8);
        for (id, chat) in [(1, 10), (2, 10), (3, 20)] {
            inbox.try_send(update(id, chat)).unwrap();
        }
        stop.stop();

        dispatch.run(listener).await;

        // The dispatcher lived on, and served the panicking update's chat after it.
        let mut served = log.lock().unwrap().clone();
        served.sort_unstable();
        assert_eq!(served, vec![2, 3]);
    }
}

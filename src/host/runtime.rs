//! One running store: its bot, its dispatcher task and, in webhook mode, its inbox.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use moka::sync::Cache;
use teloxide::{
    dispatching::{Dispatcher, UpdateHandler},
    error_handlers::{IgnoringErrorHandler, LoggingErrorHandler},
    prelude::*,
    stop::StopToken,
    types::Update,
    update_listeners::{Polling, UpdateListener},
};
use time::OffsetDateTime;
use tokio::{sync::mpsc, task::JoinHandle};
use tracing::Instrument;

use super::listener;
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
    /// The store's inbox is full or closing; Telegram should retry later.
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
    /// Recently accepted update ids, so a redelivered update is processed once.
    seen: Cache<i32, ()>,
    stop: StopToken,
    task: Mutex<Option<JoinHandle<()>>>,
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
}

impl Running {
    /// Starts a dispatcher fed by the webhook route.
    pub fn start_webhook(launch: Launch) -> Self {
        let (tx, listener, stop) = listener::channel();
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
        Self::start(launch, polling, stop, None)
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
        let mut dispatcher = Dispatcher::builder(launch.bot.clone(), launch.handler)
            .dependencies(dptree::deps![Arc::clone(&launch.ctx), launch.dialogues])
            // Handler errors are logged and counted by the tree's middleware, with the store's span.
            .error_handler(Arc::new(IgnoringErrorHandler))
            .default_handler(|_| async {})
            .build();
        let span = tracing::info_span!("store", store = %slug);
        let task = tokio::spawn(
            async move {
                let listener_errors =
                    LoggingErrorHandler::with_custom_text("the update listener failed");
                if let Err(error) = dispatcher
                    .try_dispatch_with_listener(listener, listener_errors)
                    .await
                {
                    tracing::error!(%error, "the dispatcher stopped with an error");
                }
            }
            .instrument(span),
        );
        Self {
            ctx: launch.ctx,
            bot: launch.bot,
            bot_token: launch.bot_token,
            webhook_secret: launch.webhook_secret,
            generation: launch.generation,
            inbox,
            seen: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(24 * 3600))
                .build(),
            stop,
            task: Mutex::new(Some(task)),
        }
    }

    /// Hands a webhook update to the dispatcher, once per `update_id`.
    pub fn accept(&self, update: Update) -> Accepted {
        let Some(inbox) = &self.inbox else {
            return Accepted::Busy;
        };
        let id = update.id.0 as i32;
        // `or_insert` is atomic: of two concurrent deliveries of one update, one sees it fresh.
        if !self.seen.entry(id).or_insert(()).is_fresh() {
            return Accepted::Duplicate;
        }
        if !crate::bot::antispam::gate(&self.ctx, &self.bot, &update) {
            return Accepted::Throttled;
        }
        match inbox.try_send(update) {
            Ok(()) => Accepted::Queued,
            Err(_) => {
                // Not processed: let Telegram's retry through.
                self.seen.invalidate(&id);
                Accepted::Busy
            }
        }
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
    }
}

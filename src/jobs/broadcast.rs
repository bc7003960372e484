//! Sends broadcasts: one sender task per store with a broadcast to send, at the store's pace.
//!
//! A scan every second looks at the host-wide `broadcast_queue` for the stores running here
//! and starts a sender for each one that has work and none yet. A sender sends one message at
//! a time: claim a recipient (committed), wait for its turn, send, record the outcome
//! (`store::broadcast::claims` explains why at most that one message can end `unknown`).
//! The outcome of a message that went its normal way (sent, blocked, refused) is recorded in
//! the transaction that claims the next recipient, which commits before the next send: one
//! transaction per message rather than two, and still at most one message sent and not
//! recorded. An outcome that makes the sender wait (a 429, a refused connection) is recorded
//! at once, and so is the last one when the sender ends.
//!
//! Replies keep priority over broadcasts, and both draw on the bot's one budget
//! (`host::pace`: about 30 messages a second per bot, one a second per chat). The sender
//! waits for the store's own pace (`broadcast_per_second`, at most 25), then for a broadcast
//! slot of the bot's pacer, which it gets only when no reply is waiting, then for the
//! recipient's chat slot, and sends on the bot without the pacer's reply path. It waits after
//! the claim, so the pace spaces the sends themselves rather than the claims (whose commit
//! time varies); if the host stops meanwhile, the recipient goes back to pending unsent.
//!
//! Faults: a 429 (on a reply or on a broadcast message) pauses the bot's pacer for
//! `retry_after`, so replies and the broadcast both wait; the recipient goes back to pending
//! without using up an attempt, and a recipient claimed while the bot is paused goes back
//! unsent. A 403 marks the recipient blocked and the customer inactive; a database outage
//! pauses the sender, which keeps an outcome it could not record and records it when the
//! database is back, so nothing is sent twice. A suspended or deleted store's sender ends with
//! the store's runtime; the broadcast stays queued and a resumed store continues it.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use teloxide::{
    ApiError, RequestError,
    adaptors::CacheMe,
    prelude::*,
    types::{FileId, InputFile},
};
use tokio::{sync::watch, task::JoinHandle, time::MissedTickBehavior};

use crate::{
    bot::broadcast_photo,
    db::{Db, TenantId},
    host::{Host, Route, Running},
    service::ctx::StoreCtx,
    store::broadcast::{
        self, Broadcast,
        claims::{self, Claim, Outcome},
    },
};

const SCAN_EVERY: Duration = Duration::from_secs(1);
/// How long a sender waits when its broadcast has recipients in flight or waiting to retry.
const IDLE_WAIT: Duration = Duration::from_millis(500);
/// The first wait after a database fault, doubled up to `MAX_BACKOFF`.
const BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How often the admin's progress message is edited at most.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Starts a sender for every store running here that has a broadcast to send; on the way out
/// waits for the senders to record the message each has in flight.
pub async fn run(host: Host, mut stop: watch::Receiver<bool>) {
    let mut senders: HashMap<TenantId, JoinHandle<()>> = HashMap::new();
    let mut tick = tokio::time::interval(SCAN_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        senders.retain(|_, task| !task.is_finished());
        let running: HashMap<TenantId, String> = host
            .running_stores()
            .into_iter()
            .map(|r| (r.ctx.tenant_id(), r.ctx.tenant().slug.clone()))
            .collect();
        if running.is_empty() {
            continue;
        }
        let stores: Vec<TenantId> = running.keys().copied().collect();
        let with_work = match claims::stores_with_work(host.db().registry(), &stores).await {
            Ok(with_work) => with_work,
            Err(error) => {
                tracing::warn!(%error, "cannot look for broadcasts; retrying");
                continue;
            }
        };
        for tenant in with_work {
            if senders.contains_key(&tenant) {
                continue;
            }
            let Some(slug) = running.get(&tenant).cloned() else {
                continue;
            };
            let sender = Sender::new(host.clone(), tenant, slug, stop.clone());
            senders.insert(tenant, tokio::spawn(sender.run()));
        }
    }
    for task in senders.into_values() {
        let _ = task.await;
    }
}

/// One store's sender.
struct Sender {
    host: Host,
    tenant: TenantId,
    slug: String,
    stop: watch::Receiver<bool>,
    pace: Option<(u32, tokio::time::Interval)>,
    /// The broadcast being sent.
    current: Option<Broadcast>,
    /// When each broadcast's progress message was last edited.
    shown: HashMap<i64, Instant>,
    /// The last send's outcome, recorded with the next claim.
    unrecorded: Option<Unrecorded>,
}

/// A send whose outcome is not recorded yet.
struct Unrecorded {
    claim: Claim,
    outcome: Outcome,
    /// The photo's file id, when this send uploaded it.
    file_id: Option<String>,
}

/// What the claim phase of a step found.
enum Claimed {
    /// A recipient to send `broadcast` to.
    Recipient(Claim, Box<Broadcast>),
    /// Nothing to send now.
    Nothing(Step),
}

/// What one step of a sender did.
enum Step {
    /// A message was sent (or tried); go on.
    Sent,
    /// Nothing is due yet; look again after this long.
    Wait(Duration),
    /// The store has no broadcast that may send now.
    Idle,
}

impl Sender {
    fn new(host: Host, tenant: TenantId, slug: String, stop: watch::Receiver<bool>) -> Self {
        Self {
            host,
            tenant,
            slug,
            stop,
            pace: None,
            current: None,
            shown: HashMap::new(),
            unrecorded: None,
        }
    }

    async fn run(mut self) {
        self.send_all().await;
        if let Some(last) = self.unrecorded.take()
            && let Err(error) = self
                .record(&last.claim, &last.outcome, last.file_id.as_deref())
                .await
        {
            tracing::warn!(store = %self.slug, error = format!("{error:#}"), "the broadcast sender ended without recording its last send");
        }
    }

    /// Sends until the store has nothing to send, stops running here, or the host stops.
    async fn send_all(&mut self) {
        let mut backoff = BACKOFF;
        loop {
            if *self.stop.borrow() {
                return;
            }
            // A store that stopped running here (suspended, deleted, restarting) ends its
            // sender; the scan starts a new one when it runs again.
            let Route::Running(store) = self.host.route(&self.slug) else {
                return;
            };
            if store.ctx.tenant_id() != self.tenant {
                return;
            }
            let wait = match self.step(&store).await {
                Ok(Step::Sent) => {
                    backoff = BACKOFF;
                    continue;
                }
                Ok(Step::Idle) => return,
                Ok(Step::Wait(wait)) => {
                    backoff = BACKOFF;
                    wait
                }
                Err(error) => {
                    tracing::warn!(store = %self.slug, error = format!("{error:#}"), "the broadcast sender paused on an error");
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    backoff
                }
            };
            if !self.sleep(wait).await {
                return;
            }
        }
    }

    /// Sleeps unless the host stops first; `false` when it does.
    async fn sleep(&mut self, wait: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(wait) => true,
            _ = self.stop.changed() => false,
        }
    }

    async fn step(&mut self, store: &Running) -> anyhow::Result<Step> {
        // The last send's outcome goes with the next claim; if that transaction fails, it is
        // kept for the next try.
        let unrecorded = self.unrecorded.take();
        let claimed = match self.claim(store, unrecorded.as_ref()).await {
            Ok(claimed) => claimed,
            Err(error) => {
                self.unrecorded = unrecorded;
                return Err(error);
            }
        };
        match claimed {
            Claimed::Recipient(claim, current) => self.send_claimed(store, claim, current).await,
            Claimed::Nothing(step) => Ok(step),
        }
    }

    /// Records `unrecorded` and claims the next recipient, in one committed transaction.
    async fn claim(
        &mut self,
        store: &Running,
        unrecorded: Option<&Unrecorded>,
    ) -> anyhow::Result<Claimed> {
        let ctx = &store.ctx;
        let mut tx = ctx.db.tenant(self.tenant).await?;
        if let Some(last) = unrecorded {
            record_in(&mut tx, self.tenant, last).await?;
        }
        // The broadcast being sent is kept between steps; the claim itself checks that it
        // still runs, so a pause or a cancel takes effect at the next message.
        let mut claim = match &self.current {
            Some(current) => claims::claim(&mut tx, current.id).await?,
            None => None,
        };
        if claim.is_none() {
            let previous = self.current.take();
            self.current = claims::next(&mut tx).await?;
            if let Some(stopped) =
                previous.filter(|p| self.current.as_ref().is_none_or(|b| b.id != p.id))
            {
                // Paused or cancelled: the admin's message shows where it stopped.
                tx.commit().await?;
                self.show_progress(store, &stopped, true).await;
                return Ok(Claimed::Nothing(Step::Sent));
            }
            let Some(current) = &self.current else {
                tx.commit().await?;
                return Ok(Claimed::Nothing(Step::Idle));
            };
            claim = claims::claim(&mut tx, current.id).await?;
        }
        let Some(current) = self.current.clone() else {
            tx.commit().await?;
            return Ok(Claimed::Nothing(Step::Idle));
        };
        let done = match claim {
            Some(_) => false,
            None => claims::finish_if_done(&mut tx, current.id).await?,
        };
        tx.commit().await?;
        let Some(claim) = claim else {
            self.show_progress(store, &current, done).await;
            if done {
                self.current = None;
                return Ok(Claimed::Nothing(Step::Sent));
            }
            return Ok(Claimed::Nothing(Step::Wait(IDLE_WAIT)));
        };
        Ok(Claimed::Recipient(claim, Box::new(current)))
    }

    /// Waits for the turn of a claimed recipient and sends; the outcome is recorded now when
    /// the sender must wait, and otherwise with the next claim.
    async fn send_claimed(
        &mut self,
        store: &Running,
        claim: Claim,
        current: Box<Broadcast>,
    ) -> anyhow::Result<Step> {
        if !self.wait_turn(store).await {
            // The host stops: nothing was sent, so the recipient goes back as it was.
            let unsent = Outcome::Paced { after_secs: 0.0 };
            self.record(&claim, &unsent, None).await?;
            return Ok(Step::Idle);
        }
        let pacer = store.bot.pacer();
        let (outcome, file_id) = match pacer.paused_for() {
            // Telegram paused the bot after this sender's turn came: the recipient waits too.
            Some(left) => (
                Outcome::Paced {
                    after_secs: left.as_secs_f64(),
                },
                None,
            ),
            None => {
                pacer.chat_slot(claim.chat_id).await;
                send(store.bot.inner(), &current, claim.chat_id).await
            }
        };
        if let Outcome::Paced { after_secs } = &outcome {
            pacer.pause(Duration::from_secs_f64(*after_secs));
        }
        let paused = match &outcome {
            Outcome::Paced { after_secs } => Some(Duration::from_secs_f64(*after_secs)),
            Outcome::Retry { .. } => Some(IDLE_WAIT),
            _ => None,
        };
        if matches!(&outcome, Outcome::Retry { error, .. } if error == REJECTED) {
            self.host.token_rejected(&self.slug, store.generation).await;
        }
        if let (Some(file_id), Some(current)) = (&file_id, &mut self.current) {
            // Every later recipient gets the photo Telegram already has.
            current.photo_file_id.get_or_insert(file_id.clone());
        }
        match paused {
            // The sender waits before its next claim: the outcome is recorded now.
            Some(wait) => {
                self.record(&claim, &outcome, file_id.as_deref()).await?;
                self.show_progress(store, &current, false).await;
                Ok(Step::Wait(wait))
            }
            None => {
                self.unrecorded = Some(Unrecorded {
                    claim,
                    outcome,
                    file_id,
                });
                self.show_progress(store, &current, false).await;
                Ok(Step::Sent)
            }
        }
    }

    /// Waits for the store's pace and then for a broadcast slot of the bot's budget; `false`
    /// when the host stops first.
    async fn wait_turn(&mut self, store: &Running) -> bool {
        let pacer = store.bot.pacer().clone();
        let mut stop = self.stop.clone();
        tokio::select! {
            _ = async {
                self.pace(&store.ctx).await;
                pacer.broadcast_slot().await;
            } => true,
            _ = stop.changed() => false,
        }
    }

    /// Waits for the store's pace, following a change of the setting.
    async fn pace(&mut self, ctx: &StoreCtx) {
        let per_second = ctx.tenant().settings.broadcast_per_second.clamp(1, 25);
        if self
            .pace
            .as_ref()
            .is_none_or(|(rate, _)| *rate != per_second)
        {
            let period = Duration::from_secs(1) / per_second;
            // The first send waits a whole period too: a sender that starts (after a restart,
            // or a change of the setting) cannot know when the one before it last sent, and
            // must not add a send to that second. After a pause the sender goes on at its
            // pace, never in a burst.
            let mut interval =
                tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            self.pace = Some((per_second, interval));
        }
        if let Some((_, interval)) = &mut self.pace {
            interval.tick().await;
        }
    }

    /// Records an outcome, retrying while the database is away: the message went out (or
    /// not) whatever the database says, and only the record tells the next claim so.
    async fn record(
        &mut self,
        claim: &Claim,
        outcome: &Outcome,
        file_id: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut backoff = BACKOFF;
        loop {
            match try_record(self.host.db(), self.tenant, claim, outcome, file_id).await {
                Ok(()) => return Ok(()),
                Err(error) => {
                    tracing::warn!(store = %self.slug, %error, "cannot record a broadcast send; retrying");
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    if !self.sleep(backoff).await {
                        // The lease runs out and the recipient becomes `unknown`: never re-sent.
                        anyhow::bail!("stopped before the send could be recorded");
                    }
                }
            }
        }
    }

    /// Edits the admin's progress message, at most every `PROGRESS_EVERY` unless `last`. A
    /// broadcast started through the API has no such message, and its counts (a query over
    /// every recipient) are not read for it.
    async fn show_progress(&mut self, store: &Running, broadcast: &Broadcast, last: bool) {
        if broadcast.progress_message.is_none() {
            return;
        }
        let broadcast = broadcast.id;
        let due = self
            .shown
            .get(&broadcast)
            .is_none_or(|at| at.elapsed() >= PROGRESS_EVERY);
        if !(due || last) {
            return;
        }
        self.shown.insert(broadcast, Instant::now());
        if let Err(error) = show(store, broadcast).await {
            tracing::debug!(store = %self.slug, error = format!("{error:#}"), "could not show a broadcast's progress");
        }
    }
}

async fn show(store: &Running, broadcast: i64) -> anyhow::Result<()> {
    let mut tx = store.ctx.db.tenant(store.ctx.tenant_id()).await?;
    let current = broadcast::get(&mut tx, broadcast).await?;
    tx.commit().await?;
    match current {
        Some(current) => {
            crate::bot::admin::broadcast::show_progress(&store.bot, &store.ctx, &current).await
        }
        None => Ok(()),
    }
}

async fn try_record(
    db: &Db,
    tenant: TenantId,
    claim: &Claim,
    outcome: &Outcome,
    file_id: Option<&str>,
) -> sqlx::Result<()> {
    let mut tx = db.tenant(tenant).await?;
    claims::mark(&mut tx, tenant, claim, outcome).await?;
    if let Some(file_id) = file_id {
        claims::set_photo_file_id(&mut tx, claim.broadcast_id, file_id).await?;
    }
    tx.commit().await
}

/// Records a deferred outcome in the caller's transaction.
async fn record_in(
    conn: &mut sqlx::PgConnection,
    tenant: TenantId,
    last: &Unrecorded,
) -> sqlx::Result<()> {
    claims::mark(conn, tenant, &last.claim, &last.outcome).await?;
    if let Some(file_id) = &last.file_id {
        claims::set_photo_file_id(conn, last.claim.broadcast_id, file_id).await?;
    }
    Ok(())
}

/// What `Outcome::Failed` says when Telegram refused the bot's token.
const REJECTED: &str = "Telegram rejected the bot token";

/// Sends the broadcast to one chat; with the photo's file id when this send uploaded it.
async fn send(bot: &CacheMe<Bot>, broadcast: &Broadcast, chat: i64) -> (Outcome, Option<String>) {
    let chat = ChatId(chat);
    // The text goes as written: an owner's "<" must not make every send fail to parse.
    let result = match (&broadcast.photo_file_id, &broadcast.photo) {
        (Some(file_id), _) => bot
            .send_photo(chat, InputFile::file_id(FileId(file_id.clone())))
            .caption(broadcast.text.clone())
            .await
            .map(|_| None),
        (None, Some(photo)) => bot
            .send_photo(chat, broadcast_photo::input(photo))
            .caption(broadcast.text.clone())
            .await
            .map(|message| {
                message
                    .photo()
                    .and_then(|sizes| sizes.last())
                    .map(|size| size.file.id.0.clone())
            }),
        (None, None) => bot
            .send_message(chat, broadcast.text.clone())
            .await
            .map(|_| None),
    };
    match result {
        Ok(file_id) => (Outcome::Sent, file_id),
        Err(error) => (classify(&error), None),
    }
}

/// What a failed send means for the recipient.
fn classify(error: &RequestError) -> Outcome {
    match error {
        RequestError::RetryAfter(after) => Outcome::Paced {
            after_secs: after.duration().as_secs_f64().max(1.0),
        },
        RequestError::Api(
            ApiError::BotBlocked | ApiError::UserDeactivated | ApiError::CantInitiateConversation,
        ) => Outcome::Blocked,
        RequestError::Api(ApiError::Unknown(description))
            if description.starts_with("Forbidden") =>
        {
            Outcome::Blocked
        }
        RequestError::Api(ApiError::InvalidToken) => Outcome::Retry {
            after_secs: 60.0,
            error: REJECTED.to_owned(),
        },
        RequestError::Api(other) => Outcome::Failed(other.to_string()),
        RequestError::MigrateToChatId(_) => Outcome::Failed(error.to_string()),
        // The connection was never made, so Telegram has not seen the message.
        RequestError::Network(network) if network.is_connect() => Outcome::Retry {
            after_secs: 2.0,
            error: error.to_string(),
        },
        // Sent, maybe; the answer was lost: sending again could be a duplicate.
        RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. } => {
            Outcome::Unknown(error.to_string())
        }
    }
}

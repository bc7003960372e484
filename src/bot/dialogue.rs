//! Dialogue state in PostgreSQL, keyed by (store, chat).
//!
//! teloxide's own `PostgresStorage` keys dialogues by chat alone, so two stores talking to the
//! same customer would overwrite each other's state. [`TenantDialogues`] is the per-store
//! `Storage` that teloxide's `Dialogue` uses; behind it, one [`DialogueStore`] shared by all
//! stores keeps every store's dialogues in memory and writes through to the `dialogues` table
//! on every change, so a restart loses no conversation.
//!
//! The browse path reads the state on every update, and most customers have none. So a store's
//! whole table is read once, on its first update, and from then on its map in memory is the
//! answer: a chat missing from it has no dialogue, without asking the database. Every write
//! goes to the table first and then to the map, and a state that did not change (or a
//! dialogue ended that was never started) writes nothing.
//!
//! [`enter`] puts the customer's dialogue and state into the handler tree in place of
//! teloxide's `enter_dialogue`, which drops an update whose state cannot be read (logging
//! through `log`, which this host does not collect) and writes a row for every customer it
//! meets for the first time.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    ops::ControlFlow,
    sync::{Arc, RwLock},
    time::Duration,
};

use futures::future::BoxFuture;
use moka::sync::Cache;
use serde::{Deserialize, Serialize};
use teloxide::dptree::{self, HandlerDescription, HandlerSignature, Type};
use teloxide::{
    dispatching::{
        DpHandlerDescription, UpdateHandler,
        dialogue::{GetChatId, Storage},
    },
    types::ChatId,
};

use super::CustomerDialogue;
use crate::db::{Db, TenantId};

/// Where a customer is in a multi-step conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// No conversation in progress: buttons and commands.
    #[default]
    Idle,
    /// The bot asked the customer to pick a language.
    ChoosingLanguage,
    /// The bot asked for a coupon code.
    EnteringCoupon,
    /// The bot asked how much to top up, with this prompt (a state written before prompts
    /// were told apart reads as prompt 0).
    EnteringDepositAmount {
        #[serde(default)]
        prompt: DepositPrompt,
    },
    /// The bot asked for what fulfils a product's terms (text and/or a screenshot).
    SubmittingSnk { order_id: i64, product_id: i64 },
    /// An admin is in one of the admin menu's dialogues (`bot::admin`).
    Admin(crate::bot::admin::AdminStep),
}

/// One asking of `💰 Deposit` for an amount. Each asking is a new one, so what an answer to an
/// earlier one started (an invoice made off the update path) can tell, when it is done, whether
/// the customer is still in the prompt it answered or was asked again meanwhile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DepositPrompt(u64);

impl DepositPrompt {
    pub fn new() -> Self {
        Self(rand::random())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DialogueError {
    #[error("dialogue storage failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("dialogue state could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Enters the dialogue of the chat behind an `Upd` (a message or a button press): the rest of
/// the tree gets the [`CustomerDialogue`] and the current [`State`] (`Idle` when none is
/// stored). A state that cannot be read fails the update, so it is retried and counted like
/// any other failure instead of vanishing; "no state" is answered without writing one.
#[track_caller]
pub fn enter<Upd>() -> UpdateHandler<anyhow::Error>
where
    Upd: GetChatId + Clone + Send + Sync + 'static,
{
    let location = std::panic::Location::caller();
    let signature = HandlerSignature::Other {
        obligations: BTreeMap::from([
            (Type::of::<Arc<TenantDialogues>>(), location),
            (Type::of::<Upd>(), location),
        ]),
        guaranteed_outcomes: BTreeSet::from([Type::of::<CustomerDialogue>(), Type::of::<State>()]),
        conditional_outcomes: BTreeSet::new(),
        continues: true,
    };
    dptree::from_fn_with_description(
        DpHandlerDescription::user_defined(),
        |mut deps: dptree::di::DependencyMap, cont| async move {
            let storage = Arc::clone(&*deps.get::<Arc<TenantDialogues>>());
            // Nothing to enter for an update without a chat: the next branch may take it.
            let Some(chat) = deps.get::<Upd>().chat_id() else {
                return ControlFlow::Continue(deps);
            };
            let dialogue = CustomerDialogue::new(storage, chat);
            match dialogue.get().await {
                Ok(state) => {
                    deps.insert(dialogue);
                    deps.insert(state.unwrap_or_default());
                    cont(deps).await
                }
                Err(error) => ControlFlow::Break(Err(anyhow::Error::new(error)
                    .context("could not read the customer's dialogue state"))),
            }
        },
        signature,
    )
}

/// The memory and table behind every store's dialogues.
pub struct DialogueStore {
    db: Db,
    /// Idle stores give their map back; the next update reads the table again.
    stores: Cache<TenantId, Arc<StoreDialogues>>,
}

/// One store's dialogues: every chat with a state, once loaded.
#[derive(Default)]
struct StoreDialogues {
    /// `None` until the store's table was read.
    states: RwLock<Option<HashMap<i64, State>>>,
    /// Held while the table is read and while a write that has committed goes into the map:
    /// a read of the table that started before that commit then finishes first and is
    /// corrected, and one that starts after it sees the write.
    loading: tokio::sync::Mutex<()>,
}

impl StoreDialogues {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<HashMap<i64, State>>> {
        // Plain data that stays consistent even if a holder panicked.
        self.states.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Option<HashMap<i64, State>>> {
        self.states.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The chat's state when the store's map is loaded: `Some(None)` is "no dialogue".
    fn known(&self, chat: i64) -> Option<Option<State>> {
        self.read()
            .as_ref()
            .map(|states| states.get(&chat).cloned())
    }
}

impl DialogueStore {
    pub fn new(db: Db) -> Arc<Self> {
        Arc::new(Self {
            db,
            stores: Cache::builder()
                .time_to_idle(Duration::from_secs(3600))
                .build(),
        })
    }

    /// The storage one store's dispatcher uses.
    pub fn for_tenant(self: &Arc<Self>, tenant: TenantId) -> Arc<TenantDialogues> {
        Arc::new(TenantDialogues {
            tenant,
            store: Arc::clone(self),
        })
    }

    async fn get(&self, tenant: TenantId, chat: i64) -> Result<Option<State>, DialogueError> {
        let store = self.stores.get_with(tenant, Default::default);
        if let Some(state) = store.known(chat) {
            return Ok(state);
        }
        let _loading = store.loading.lock().await;
        if store.read().is_none() {
            let loaded = self.load(tenant).await?;
            *store.write() = Some(loaded);
        }
        Ok(store.known(chat).flatten())
    }

    /// Every dialogue of a store.
    async fn load(&self, tenant: TenantId) -> Result<HashMap<i64, State>, DialogueError> {
        let mut tx = self.db.tenant(tenant).await?;
        let rows: Vec<(i64, serde_json::Value)> =
            sqlx::query_as("select chat_id, state from dialogues where tenant_id = $1")
                .bind(tenant)
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        // A state written by an older version that no longer parses starts the customer afresh
        // rather than locking them out of the bot.
        Ok(rows
            .into_iter()
            .filter_map(|(chat, value)| match serde_json::from_value(value) {
                Ok(state) => Some((chat, state)),
                Err(error) => {
                    tracing::warn!(%tenant, chat, %error, "dropping a dialogue state that no longer parses");
                    None
                }
            })
            .collect())
    }

    async fn put(&self, tenant: TenantId, chat: i64, state: State) -> Result<(), DialogueError> {
        if self.unchanged(tenant, chat, Some(&state)) {
            return Ok(());
        }
        let value = serde_json::to_value(&state)?;
        let mut tx = self.db.tenant(tenant).await?;
        sqlx::query(
            "insert into dialogues (tenant_id, chat_id, state) values ($1, $2, $3) \
             on conflict (tenant_id, chat_id) do update set state = excluded.state, updated_at = now()",
        )
        .bind(tenant)
        .bind(chat)
        .bind(value)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.committed(tenant, chat, Some(state)).await;
        Ok(())
    }

    async fn remove(&self, tenant: TenantId, chat: i64) -> Result<(), DialogueError> {
        if self.unchanged(tenant, chat, None) {
            return Ok(());
        }
        let mut tx = self.db.tenant(tenant).await?;
        sqlx::query("delete from dialogues where tenant_id = $1 and chat_id = $2")
            .bind(tenant)
            .bind(chat)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.committed(tenant, chat, None).await;
        Ok(())
    }

    /// Ends the chat's dialogue if it is still `expected`; returns whether it did. The table
    /// decides (the row is deleted only if it holds `expected`), and the map drops the chat
    /// only if it still holds `expected` too, so a state written meanwhile by the chat's own
    /// updates survives in both, whichever write reaches the map first.
    async fn remove_if(
        &self,
        tenant: TenantId,
        chat: i64,
        expected: &State,
    ) -> Result<bool, DialogueError> {
        let value = serde_json::to_value(expected)?;
        let mut tx = self.db.tenant(tenant).await?;
        let removed = sqlx::query(
            "delete from dialogues where tenant_id = $1 and chat_id = $2 and state = $3",
        )
        .bind(tenant)
        .bind(chat)
        .bind(value)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        tx.commit().await?;
        if removed {
            let store = self.stores.get_with(tenant, Default::default);
            let _loading = store.loading.lock().await;
            if let Some(states) = &mut *store.write()
                && states.get(&chat) == Some(expected)
            {
                states.remove(&chat);
            }
        }
        Ok(removed)
    }

    /// Whether the chat is known to be in `state` already (`None`: no dialogue).
    fn unchanged(&self, tenant: TenantId, chat: i64, state: Option<&State>) -> bool {
        self.stores
            .get(&tenant)
            .and_then(|store| store.known(chat))
            .is_some_and(|known| known.as_ref() == state)
    }

    /// Puts a committed write into the store's map, if loaded. The map is looked up after the
    /// commit, so a map loaded from then on has read the write already.
    async fn committed(&self, tenant: TenantId, chat: i64, state: Option<State>) {
        let store = self.stores.get_with(tenant, Default::default);
        let _loading = store.loading.lock().await;
        if let Some(states) = &mut *store.write() {
            match state {
                Some(state) => states.insert(chat, state),
                None => states.remove(&chat),
            };
        }
    }
}

/// One store's view of the dialogue store: the `Storage` teloxide's dialogues use.
pub struct TenantDialogues {
    tenant: TenantId,
    store: Arc<DialogueStore>,
}

impl TenantDialogues {
    /// Ends the chat's dialogue only if it is still `expected`: for work that finishes off the
    /// update path, which must not end a dialogue the customer started since. Returns whether
    /// it ended it.
    pub async fn end_if(&self, chat: ChatId, expected: &State) -> Result<bool, DialogueError> {
        self.store.remove_if(self.tenant, chat.0, expected).await
    }
}

impl Storage<State> for TenantDialogues {
    type Error = DialogueError;

    fn remove_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(async move { self.store.remove(self.tenant, chat_id.0).await })
    }

    fn update_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
        dialogue: State,
    ) -> BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(async move { self.store.put(self.tenant, chat_id.0, dialogue).await })
    }

    fn get_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<Option<State>, Self::Error>> {
        Box::pin(async move { self.store.get(self.tenant, chat_id.0).await })
    }
}

#[cfg(test)]
mod tests {
    use super::{DepositPrompt, State};

    #[test]
    fn a_deposit_prompt_stored_before_prompts_were_told_apart_still_reads() {
        let old: State =
            serde_json::from_value(serde_json::json!({"state": "entering_deposit_amount"}))
                .unwrap();
        assert_eq!(
            old,
            State::EnteringDepositAmount {
                prompt: DepositPrompt::default()
            }
        );
        let new = State::EnteringDepositAmount {
            prompt: DepositPrompt::new(),
        };
        let stored = serde_json::to_value(&new).unwrap();
        assert_eq!(serde_json::from_value::<State>(stored).unwrap(), new);
    }
}

//! Dialogue state in PostgreSQL, keyed by (store, chat).
//!
//! teloxide's own `PostgresStorage` keys dialogues by chat alone, so two stores talking to the
//! same customer would overwrite each other's state. [`TenantDialogues`] is the per-store
//! `Storage` that teloxide's `Dialogue` uses; behind it, one [`DialogueStore`] shared by all
//! stores caches states in memory (the browse path reads them on every update) and writes
//! through to the `dialogues` table on every change, so a restart loses no conversation.
//!
//! [`enter`] puts the customer's dialogue and state into the handler tree in place of
//! teloxide's `enter_dialogue`, which drops an update whose state cannot be read (logging
//! through `log`, which this host does not collect) and writes a row for every customer it
//! meets for the first time.

use std::{
    collections::{BTreeMap, BTreeSet},
    ops::ControlFlow,
    sync::Arc,
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
    /// The bot asked how much to top up.
    EnteringDepositAmount,
    /// The bot asked for what fulfils a product's terms (text and/or a screenshot).
    SubmittingSnk { order_id: i64, product_id: i64 },
    /// An admin is in one of the admin menu's dialogues (`bot::admin`).
    Admin(crate::bot::admin::AdminStep),
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

/// The cache and table behind every store's dialogues.
pub struct DialogueStore {
    db: Db,
    /// `None` caches "no dialogue", so idle customers cost no query either.
    cache: Cache<(TenantId, i64), Option<State>>,
}

impl DialogueStore {
    pub fn new(db: Db) -> Arc<Self> {
        Arc::new(Self {
            db,
            cache: Cache::builder()
                .max_capacity(200_000)
                .time_to_idle(Duration::from_secs(1800))
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
        if let Some(state) = self.cache.get(&(tenant, chat)) {
            return Ok(state);
        }
        let mut tx = self.db.tenant(tenant).await?;
        let stored: Option<serde_json::Value> =
            sqlx::query_scalar("select state from dialogues where tenant_id = $1 and chat_id = $2")
                .bind(tenant)
                .bind(chat)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        // A state written by an older version that no longer parses starts the customer afresh
        // rather than locking them out of the bot.
        let state = stored.and_then(|value| match serde_json::from_value(value) {
            Ok(state) => Some(state),
            Err(error) => {
                tracing::warn!(%tenant, chat, %error, "dropping a dialogue state that no longer parses");
                None
            }
        });
        self.cache.insert((tenant, chat), state.clone());
        Ok(state)
    }

    async fn put(&self, tenant: TenantId, chat: i64, state: State) -> Result<(), DialogueError> {
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
        self.cache.insert((tenant, chat), Some(state));
        Ok(())
    }

    async fn remove(&self, tenant: TenantId, chat: i64) -> Result<(), DialogueError> {
        let mut tx = self.db.tenant(tenant).await?;
        sqlx::query("delete from dialogues where tenant_id = $1 and chat_id = $2")
            .bind(tenant)
            .bind(chat)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.cache.insert((tenant, chat), None);
        Ok(())
    }
}

/// One store's view of the dialogue store: the `Storage` teloxide's dialogues use.
pub struct TenantDialogues {
    tenant: TenantId,
    store: Arc<DialogueStore>,
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

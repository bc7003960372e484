//! Customers of a store: recorded and marked as seen in batches, their language in memory.
//!
//! The browse path must not cost a database round trip per update (SPEC §5), a customer's
//! first contact included. [`CustomerBook::touch`] only notes the contact in memory (names as
//! Telegram reports them) and answers from memory; [`CustomerBook::flush_seen`] writes every
//! noted contact of a store in one upsert every few seconds, which records new customers,
//! refreshes names, the last-seen time and `blocked_bot` alike. What the bot needs on every
//! update, the language the customer chose, lives in a per-store map of the customers who chose
//! one, loaded in one query on the store's first update and kept current by
//! [`CustomerBook::set_language`].
//!
//! What must not wait for the flush does not: choosing a language, being marked as having
//! blocked the bot, and anything that creates an order or an invoice ([`CustomerBook::settle`])
//! write the customer's row in their own transaction first.
//!
//! `admin.rs`: what a store's admins do with customers (search, profile, block, balance).

pub mod admin;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use moka::sync::Cache;
use sqlx::PgConnection;

use crate::{
    db::{Db, TenantId},
    tenants::model::Locale,
};

/// Contacts written by one statement at most; a larger batch is cut into several.
const FLUSH_CHUNK: usize = 5_000;

/// Who wrote to the bot, as Telegram reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

/// What the bot needs to know of a customer on every update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Customer {
    /// The language the customer chose, or `None` to follow the store.
    pub language: Option<Locale>,
}

/// Contacts noted since the last flush, per store and customer (the latest names win).
type Pending = HashMap<TenantId, HashMap<i64, Contact>>;

/// The languages the customers of every store chose and the contacts not written yet, shared
/// by all stores.
pub struct CustomerBook {
    /// Idle stores give their map back; the next update loads it again.
    stores: Cache<TenantId, Arc<StoreLanguages>>,
    pending: Mutex<Pending>,
    /// Held while pending contacts are written and while a customer is marked as having
    /// blocked the bot, so a flush (which clears `blocked_bot`) never lands after a block
    /// recorded meanwhile.
    writing: tokio::sync::Mutex<()>,
}

/// One store's customers who chose a language.
#[derive(Default)]
struct StoreLanguages {
    /// `None` until loaded.
    chosen: RwLock<Option<HashMap<i64, Locale>>>,
    /// Held while the map loads and while a chosen language is put into it after its commit:
    /// a load that read the table before that commit then finishes first and is corrected,
    /// and one that starts after it reads the new value.
    loading: tokio::sync::Mutex<()>,
}

impl StoreLanguages {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<HashMap<i64, Locale>>> {
        // Plain data that stays consistent even if a holder panicked.
        self.chosen.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Option<HashMap<i64, Locale>>> {
        self.chosen.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for CustomerBook {
    fn default() -> Self {
        Self::new()
    }
}

impl CustomerBook {
    pub fn new() -> Self {
        Self {
            stores: Cache::builder()
                .time_to_idle(Duration::from_secs(3600))
                .build(),
            pending: Mutex::new(HashMap::new()),
            writing: tokio::sync::Mutex::new(()),
        }
    }

    /// Notes that `contact` wrote to the store and returns what is known of them. Nothing is
    /// read or written but, once per store, the languages its customers chose.
    pub async fn touch(
        &self,
        db: &Db,
        tenant: TenantId,
        contact: &Contact,
    ) -> sqlx::Result<Customer> {
        {
            let mut pending = self.pending_lock();
            let noted = pending.entry(tenant).or_default();
            if noted.get(&contact.user_id) != Some(contact) {
                noted.insert(contact.user_id, contact.clone());
            }
        }
        let store = self.stores.get_with(tenant, Default::default);
        if let Some(chosen) = &*store.read() {
            return Ok(Customer {
                language: chosen.get(&contact.user_id).copied(),
            });
        }
        let _loading = store.loading.lock().await;
        if store.read().is_none() {
            let loaded = load_languages(db, tenant).await?;
            *store.write() = Some(loaded);
        }
        Ok(Customer {
            language: store
                .read()
                .as_ref()
                .and_then(|chosen| chosen.get(&contact.user_id).copied()),
        })
    }

    /// What is known of a customer without asking the database: the language they chose if
    /// the store's languages are loaded (any update of the store loads them), else nothing.
    pub fn cached(&self, tenant: TenantId, user_id: i64) -> Option<Customer> {
        let store = self.stores.get(&tenant)?;
        let chosen = store.read();
        let chosen = chosen.as_ref()?;
        Some(Customer {
            language: chosen.get(&user_id).copied(),
        })
    }

    /// Writes the customer's row now, in `conn`'s transaction, if a contact of theirs is still
    /// waiting for the flush: what follows (an order, an invoice, a message naming them) can
    /// then rely on the row. The contact stays noted, so a transaction that rolls back loses
    /// nothing.
    pub async fn settle(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        user_id: i64,
    ) -> sqlx::Result<()> {
        let contact = self
            .pending_lock()
            .get(&tenant)
            .and_then(|noted| noted.get(&user_id))
            .cloned();
        match contact {
            Some(contact) => write_contacts(conn, tenant, &[contact], false).await,
            None => Ok(()),
        }
    }

    /// Writes every contact of the store still waiting for the flush, in `conn`'s transaction:
    /// what admins read next (a search, a profile, the stats, a broadcast's recipients) then
    /// includes everyone who has written to the store. The contacts stay noted, as in
    /// [`CustomerBook::settle`].
    pub async fn settle_store(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
    ) -> sqlx::Result<()> {
        let mut contacts: Vec<Contact> = match self.pending_lock().get(&tenant) {
            Some(noted) => noted.values().cloned().collect(),
            None => return Ok(()),
        };
        contacts.sort_unstable_by_key(|c| c.user_id);
        for chunk in contacts.chunks(FLUSH_CHUNK) {
            write_contacts(conn, tenant, chunk, false).await?;
        }
        Ok(())
    }

    /// [`CustomerBook::settle`] in a transaction of its own.
    pub async fn settle_now(&self, db: &Db, tenant: TenantId, user_id: i64) -> sqlx::Result<()> {
        if !self.is_pending(tenant, user_id) {
            return Ok(());
        }
        let mut tx = db.tenant_bookkeeping(tenant).await?;
        self.settle(&mut tx, tenant, user_id).await?;
        tx.commit().await
    }

    /// Stores the customer's chosen language, writing their row first if it is not written yet.
    pub async fn set_language(
        &self,
        db: &Db,
        tenant: TenantId,
        user_id: i64,
        language: Locale,
    ) -> sqlx::Result<()> {
        let mut tx = db.tenant(tenant).await?;
        self.settle(&mut tx, tenant, user_id).await?;
        sqlx::query(
            "update customers set language = $3 where tenant_id = $1 and telegram_user_id = $2",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(language.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // Looked up after the commit: see `StoreLanguages::loading`.
        let store = self.stores.get_with(tenant, Default::default);
        let _loading = store.loading.lock().await;
        if let Some(chosen) = &mut *store.write() {
            chosen.insert(user_id, language);
        }
        Ok(())
    }

    /// Records whether the customer blocked the bot; blocked customers get no broadcasts.
    pub async fn mark_blocked(
        &self,
        db: &Db,
        tenant: TenantId,
        user_id: i64,
        blocked: bool,
    ) -> sqlx::Result<()> {
        let _writing = self.writing.lock().await;
        let mut tx = db.tenant(tenant).await?;
        self.settle(&mut tx, tenant, user_id).await?;
        sqlx::query(
            "update customers set blocked_bot = $3 where tenant_id = $1 and telegram_user_id = $2",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(blocked)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if blocked {
            // The contact noted before the block must not clear it at the next flush.
            if let Some(noted) = self.pending_lock().get_mut(&tenant) {
                noted.remove(&user_id);
            }
        }
        Ok(())
    }

    /// Writes the noted contacts, one statement per store: new customers are recorded, known
    /// ones get their names, last-seen time and `blocked_bot = false`. A store whose write
    /// fails keeps its contacts for the next flush.
    pub async fn flush_seen(&self, db: &Db) {
        let _writing = self.writing.lock().await;
        let pending = std::mem::take(&mut *self.pending_lock());
        for (tenant, noted) in pending {
            let mut contacts: Vec<Contact> = noted.into_values().collect();
            // One order for every writer, so two hosts flushing one store cannot deadlock.
            contacts.sort_unstable_by_key(|c| c.user_id);
            if let Err(error) = flush_store(db, tenant, &contacts).await {
                tracing::warn!(%tenant, %error, "could not record customers; retrying later");
                let mut pending = self.pending_lock();
                let noted = pending.entry(tenant).or_default();
                for contact in contacts {
                    // A newer contact noted meanwhile wins.
                    noted.entry(contact.user_id).or_insert(contact);
                }
            }
        }
    }

    /// Forgets the customers of `tenant`, for example after the store was purged.
    pub fn forget_tenant(&self, tenant: TenantId) {
        self.pending_lock().remove(&tenant);
        self.stores.invalidate(&tenant);
    }

    fn is_pending(&self, tenant: TenantId, user_id: i64) -> bool {
        self.pending_lock()
            .get(&tenant)
            .is_some_and(|noted| noted.contains_key(&user_id))
    }

    fn pending_lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // The map holds plain data that stays consistent even if a holder panicked.
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The customers of a store who chose a language.
async fn load_languages(db: &Db, tenant: TenantId) -> sqlx::Result<HashMap<i64, Locale>> {
    let mut tx = db.tenant(tenant).await?;
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "select telegram_user_id, language from customers where language is not null",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(|(user, language)| Some((user, Locale::parse(&language)?)))
        .collect())
}

async fn flush_store(db: &Db, tenant: TenantId, contacts: &[Contact]) -> sqlx::Result<()> {
    let mut tx = db.tenant_bookkeeping(tenant).await?;
    for chunk in contacts.chunks(FLUSH_CHUNK) {
        write_contacts(&mut tx, tenant, chunk, true).await?;
    }
    tx.commit().await
}

/// Records `contacts` (sorted by user id) as having written to the store just now. Only the
/// flush clears `blocked_bot` (`unblock`): it runs under `CustomerBook::writing`, so it cannot
/// undo a block recorded meanwhile, which a write from anywhere else could.
async fn write_contacts(
    conn: &mut PgConnection,
    tenant: TenantId,
    contacts: &[Contact],
    unblock: bool,
) -> sqlx::Result<()> {
    let ids: Vec<i64> = contacts.iter().map(|c| c.user_id).collect();
    let first_names: Vec<&str> = contacts.iter().map(|c| c.first_name.as_str()).collect();
    let last_names: Vec<Option<&str>> = contacts.iter().map(|c| c.last_name.as_deref()).collect();
    let usernames: Vec<Option<&str>> = contacts.iter().map(|c| c.username.as_deref()).collect();
    let language_codes: Vec<Option<&str>> = contacts
        .iter()
        .map(|c| c.language_code.as_deref())
        .collect();
    sqlx::query(
        "insert into customers (tenant_id, telegram_user_id, first_name, last_name, username, language_code) \
         select $1, u.id, u.first_name, u.last_name, u.username, u.language_code \
         from unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) \
             as u (id, first_name, last_name, username, language_code) \
         on conflict (tenant_id, telegram_user_id) do update set first_name = excluded.first_name, \
             last_name = excluded.last_name, username = excluded.username, \
             language_code = excluded.language_code, last_seen_at = now(), \
             blocked_bot = customers.blocked_bot and not $7",
    )
    .bind(tenant)
    .bind(&ids)
    .bind(&first_names)
    .bind(&last_names)
    .bind(&usernames)
    .bind(&language_codes)
    .bind(unblock)
    .execute(conn)
    .await?;
    Ok(())
}

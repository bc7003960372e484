//! Customers of a store: recorded on first contact, their last-seen time coalesced.
//!
//! The browse path must not commit a write per update (SPEC §5), so [`CustomerBook`] keeps
//! the customers it has recently seen in memory. The first contact (per cache lifetime)
//! upserts the row at once, which also refreshes names; later contacts only mark the customer
//! as seen, and [`CustomerBook::flush_seen`] writes those marks in one statement per store.
//!
//! `admin.rs`: what a store's admins do with customers (search, profile, block, balance).

pub mod admin;

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
    time::Duration,
};

use moka::sync::Cache;

use crate::{
    db::{Db, TenantId},
    tenants::model::Locale,
};

/// Who wrote to the bot, as Telegram reports it.
#[derive(Clone, Debug)]
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

/// The cache of known customers and the pending last-seen marks, shared by all stores.
pub struct CustomerBook {
    known: Cache<(TenantId, i64), Customer>,
    seen: Mutex<HashMap<TenantId, HashSet<i64>>>,
}

impl Default for CustomerBook {
    fn default() -> Self {
        Self::new()
    }
}

impl CustomerBook {
    pub fn new() -> Self {
        Self {
            // Ten minutes of idleness is short enough for names to refresh and long enough for a
            // shopping session to touch the database once.
            known: Cache::builder()
                .max_capacity(200_000)
                .time_to_idle(Duration::from_secs(600))
                .support_invalidation_closures()
                .build(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Records that `contact` wrote to the store and returns what is known of them.
    pub async fn touch(
        &self,
        db: &Db,
        tenant: TenantId,
        contact: &Contact,
    ) -> sqlx::Result<Customer> {
        if let Some(customer) = self.known.get(&(tenant, contact.user_id)) {
            self.seen_lock()
                .entry(tenant)
                .or_default()
                .insert(contact.user_id);
            return Ok(customer);
        }
        let mut tx = db.tenant_bookkeeping(tenant).await?;
        let language: Option<String> = sqlx::query_scalar(
            "insert into customers (tenant_id, telegram_user_id, first_name, last_name, username, language_code) \
             values ($1, $2, $3, $4, $5, $6) \
             on conflict (tenant_id, telegram_user_id) do update set first_name = excluded.first_name, \
                 last_name = excluded.last_name, username = excluded.username, \
                 language_code = excluded.language_code, last_seen_at = now(), blocked_bot = false \
             returning language",
        )
        .bind(tenant)
        .bind(contact.user_id)
        .bind(&contact.first_name)
        .bind(&contact.last_name)
        .bind(&contact.username)
        .bind(&contact.language_code)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let customer = Customer {
            language: language.as_deref().and_then(Locale::parse),
        };
        self.known.insert((tenant, contact.user_id), customer);
        Ok(customer)
    }

    /// What is known of a customer without asking the database.
    pub fn cached(&self, tenant: TenantId, user_id: i64) -> Option<Customer> {
        self.known.get(&(tenant, user_id))
    }

    /// Stores the customer's chosen language.
    pub async fn set_language(
        &self,
        db: &Db,
        tenant: TenantId,
        user_id: i64,
        language: Locale,
    ) -> sqlx::Result<()> {
        let mut tx = db.tenant(tenant).await?;
        sqlx::query(
            "update customers set language = $3 where tenant_id = $1 and telegram_user_id = $2",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(language.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.known.insert(
            (tenant, user_id),
            Customer {
                language: Some(language),
            },
        );
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
        let mut tx = db.tenant(tenant).await?;
        sqlx::query(
            "update customers set blocked_bot = $3 where tenant_id = $1 and telegram_user_id = $2",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(blocked)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Writes the pending last-seen marks, one statement per store. A store whose write fails
    /// keeps its marks for the next flush.
    pub async fn flush_seen(&self, db: &Db) {
        let pending = std::mem::take(&mut *self.seen_lock());
        for (tenant, users) in pending {
            let ids: Vec<i64> = users.iter().copied().collect();
            if let Err(error) = write_seen(db, tenant, &ids).await {
                tracing::warn!(%tenant, %error, "could not record last-seen times; retrying later");
                self.seen_lock().entry(tenant).or_default().extend(users);
            }
        }
    }

    /// Forgets the customers of `tenant`, for example after the store was purged.
    pub fn forget_tenant(&self, tenant: TenantId) {
        self.seen_lock().remove(&tenant);
        // moka removes matching entries lazily; a purged store's customers are never read again.
        let _ = self
            .known
            .invalidate_entries_if(move |(t, _), _| *t == tenant);
    }

    fn seen_lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, HashSet<i64>>> {
        // The map holds plain data that stays consistent even if a holder panicked.
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn write_seen(db: &Db, tenant: TenantId, users: &[i64]) -> sqlx::Result<()> {
    let mut tx = db.tenant_bookkeeping(tenant).await?;
    sqlx::query(
        "update customers set last_seen_at = now(), blocked_bot = false \
         where tenant_id = $1 and telegram_user_id = any($2)",
    )
    .bind(tenant)
    .bind(users)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

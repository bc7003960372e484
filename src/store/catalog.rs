//! The catalog customers browse: categories, products and how many of each are in stock.
//!
//! Browsing is the hottest path of every store, so it reads an in-memory [`Snapshot`] of the
//! store's catalog, rebuilt from the database on first use after anything changed it (an
//! import, new stock, a checkout that reserved items, a cancelled order that released them).

use std::{collections::HashMap, sync::Arc, time::Duration};

use moka::sync::Cache;
use sqlx::PgConnection;

use super::stock;
use crate::db::{Db, TenantId};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub emoji: Option<String>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Product {
    pub id: i64,
    pub category_id: Option<i64>,
    pub code: String,
    pub name: String,
    pub description: String,
    pub price: i64,
    pub sold_count: i64,
    pub snk: Option<String>,
    /// Items available now (not reserved, not sold).
    #[sqlx(skip)]
    pub available: i64,
}

/// One store's catalog as customers see it: active categories and active products, in the
/// owner's order.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub categories: Vec<Category>,
    pub products: Vec<Product>,
    /// Customers who ever wrote to the store, for the welcome's stats.
    pub customers: i64,
    /// The store's own texts by template name, so the welcome, the store information and how
    /// to order are answered from memory like the rest of browsing.
    pub templates: HashMap<String, String>,
    by_id: HashMap<i64, usize>,
}

/// A page of a product list.
pub struct Page<'a> {
    pub products: Vec<&'a Product>,
    pub page: usize,
    pub pages: usize,
}

impl Snapshot {
    pub fn product(&self, id: i64) -> Option<&Product> {
        self.by_id.get(&id).map(|&i| &self.products[i])
    }

    pub fn category(&self, id: i64) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// Products of a category (`None`: all products), `per_page` at a time; a page past the
    /// end shows the last one, so an old button still lands somewhere sensible.
    pub fn page(&self, category: Option<i64>, page: usize, per_page: usize) -> Page<'_> {
        let all: Vec<&Product> = self
            .products
            .iter()
            .filter(|p| category.is_none() || p.category_id == category)
            .collect();
        let pages = all.len().div_ceil(per_page).max(1);
        let page = page.min(pages - 1);
        let products = all
            .into_iter()
            .skip(page * per_page)
            .take(per_page)
            .collect();
        Page {
            products,
            page,
            pages,
        }
    }

    /// Items sold across the catalog, for the welcome's stats.
    pub fn items_sold(&self) -> i64 {
        self.products.iter().map(|p| p.sold_count).sum()
    }
}

/// Loads a store's catalog from the database.
pub async fn load(conn: &mut PgConnection) -> sqlx::Result<Snapshot> {
    let categories: Vec<Category> = sqlx::query_as(
        "select id, name, emoji from categories where active order by sort, name, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut products: Vec<Product> = sqlx::query_as(
        "select p.id, p.category_id, p.code, p.name, p.description, p.price, p.sold_count, p.snk \
         from products p left join categories c on c.id = p.category_id \
         where p.active and not p.archived and (c.id is null or c.active) \
         order by p.sort, p.name, p.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let counts = stock::available_counts(conn).await?;
    for product in &mut products {
        product.available = counts.get(&product.id).copied().unwrap_or(0);
    }
    let by_id = products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i))
        .collect();
    let customers: i64 = sqlx::query_scalar("select count(*) from customers")
        .fetch_one(&mut *conn)
        .await?;
    let templates = super::templates::all(conn).await?.into_iter().collect();
    Ok(Snapshot {
        categories,
        products,
        customers,
        templates,
        by_id,
    })
}

/// Every store's snapshot, rebuilt on demand after a change.
pub struct CatalogCache {
    snapshots: Cache<TenantId, Arc<Snapshot>>,
    /// Per store: one rebuild at a time, and which change the snapshot being rebuilt predates.
    loaders: Cache<TenantId, Arc<Loader>>,
}

/// What keeps one store's rebuilds in order.
#[derive(Default)]
struct Loader {
    /// Held during a rebuild, so the updates that find no snapshot wait for one rebuild
    /// instead of each opening a transaction.
    loading: tokio::sync::Mutex<()>,
    /// Bumped by every invalidation. A rebuild keeps its snapshot only if no invalidation
    /// came while it read, since what it read may predate the change; the check and the
    /// insert happen under this lock, as do the bump and the removal.
    generation: std::sync::Mutex<u64>,
}

impl Loader {
    fn generation(&self) -> std::sync::MutexGuard<'_, u64> {
        self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for CatalogCache {
    fn default() -> Self {
        Self::new()
    }
}

impl CatalogCache {
    pub fn new() -> Self {
        // Idle stores give their memory back; a busy store's snapshot lives until it changes,
        // or a minute at most, so the welcome's customer count stays fresh.
        Self {
            snapshots: Cache::builder()
                .max_capacity(5_000)
                .time_to_idle(Duration::from_secs(900))
                .time_to_live(Duration::from_secs(60))
                .build(),
            loaders: Cache::builder()
                .time_to_idle(Duration::from_secs(900))
                .build(),
        }
    }

    pub async fn get(&self, db: &Db, tenant: TenantId) -> sqlx::Result<Arc<Snapshot>> {
        if let Some(snapshot) = self.snapshots.get(&tenant) {
            return Ok(snapshot);
        }
        let loader = self.loaders.get_with(tenant, Default::default);
        let _loading = loader.loading.lock().await;
        // Another update may have rebuilt it while this one waited.
        if let Some(snapshot) = self.snapshots.get(&tenant) {
            return Ok(snapshot);
        }
        let read_at = *loader.generation();
        let mut tx = db.tenant(tenant).await?;
        let snapshot = Arc::new(load(&mut tx).await?);
        tx.commit().await?;
        let generation = loader.generation();
        if *generation == read_at {
            self.snapshots.insert(tenant, Arc::clone(&snapshot));
        }
        Ok(snapshot)
    }

    /// Forgets a store's snapshot; the next reader rebuilds it.
    pub fn invalidate(&self, tenant: TenantId) {
        let loader = self.loaders.get_with(tenant, Default::default);
        let mut generation = loader.generation();
        *generation += 1;
        self.snapshots.invalidate(&tenant);
    }
}

//! The catalog customers browse: categories, products and how many of each are in stock.
//!
//! Browsing is the hottest path of every store, so it reads an in-memory [`Snapshot`] of the
//! store's catalog, rebuilt from the database on first use after anything changed it (an
//! import, new stock, a checkout that reserved items, a cancelled order that released them).
//!
//! Checkouts and payments change only the stock counts ([`CatalogCache::invalidate_stock`]):
//! the snapshot then keeps answering what they do not touch (a product's name and price, which
//! adding to the cart reads, [`CatalogCache::prices`]), and its next full reader reads only
//! the counts again. A store selling hundreds of items a minute thus rebuilds nothing whole.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

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
    /// When the snapshot was read whole; its counts may have been read again since.
    read_whole_at: Option<Instant>,
}

/// A page of a product list.
pub struct Page<'a> {
    pub products: Vec<&'a Product>,
    pub page: usize,
    pub pages: usize,
}

impl Snapshot {
    /// This snapshot with the stock counts read again: `available` and `sold` by product.
    fn with_counts(&self, available: &HashMap<i64, i64>, sold: &HashMap<i64, i64>) -> Self {
        let products = self
            .products
            .iter()
            .map(|p| Product {
                available: available.get(&p.id).copied().unwrap_or(0),
                sold_count: sold.get(&p.id).copied().unwrap_or(p.sold_count),
                ..p.clone()
            })
            .collect();
        Self {
            categories: self.categories.clone(),
            products,
            customers: self.customers,
            templates: self.templates.clone(),
            by_id: self.by_id.clone(),
            read_whole_at: self.read_whole_at,
        }
    }

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
        read_whole_at: Some(Instant::now()),
    })
}

/// How long a snapshot lives at most, so the welcome's customer count stays fresh.
const SNAPSHOT_TTL: Duration = Duration::from_secs(60);

/// The stock counts of a store's products: (available, sold) by product.
async fn load_counts(
    conn: &mut PgConnection,
) -> sqlx::Result<(HashMap<i64, i64>, HashMap<i64, i64>)> {
    let available = stock::available_counts(&mut *conn).await?;
    let sold: Vec<(i64, i64)> =
        sqlx::query_as("select id, sold_count from products where active and not archived")
            .fetch_all(conn)
            .await?;
    Ok((available, sold.into_iter().collect()))
}

/// Every store's snapshot, rebuilt on demand after a change.
pub struct CatalogCache {
    snapshots: Cache<TenantId, Arc<Snapshot>>,
    /// Snapshots whose stock counts a checkout or a payment has changed since they were read:
    /// everything else in them is current, so [`CatalogCache::prices`] answers from them and
    /// [`CatalogCache::get`] reads only the counts again.
    priced: Cache<TenantId, Arc<Snapshot>>,
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
        let snapshots = || {
            Cache::builder()
                .max_capacity(5_000)
                .time_to_idle(Duration::from_secs(900))
                .time_to_live(SNAPSHOT_TTL)
                .build()
        };
        Self {
            snapshots: snapshots(),
            priced: snapshots(),
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
        // The generation and the snapshot a count-only rebuild starts from are taken together:
        // a change after this point bumps the generation, and the rebuild is then not kept.
        let (read_at, base) = {
            let generation = loader.generation();
            // What the counts do not cover (the customer count, above all) is read whole
            // again after the snapshots' time to live, however busy the store.
            let base = self.priced.get(&tenant).filter(|base| {
                base.read_whole_at
                    .is_some_and(|at| at.elapsed() < SNAPSHOT_TTL)
            });
            (*generation, base)
        };
        let mut tx = db.tenant(tenant).await?;
        let snapshot = Arc::new(match base {
            Some(base) => {
                let (available, sold) = load_counts(&mut tx).await?;
                base.with_counts(&available, &sold)
            }
            None => load(&mut tx).await?,
        });
        tx.commit().await?;
        let generation = loader.generation();
        if *generation == read_at {
            self.snapshots.insert(tenant, Arc::clone(&snapshot));
        }
        Ok(snapshot)
    }

    /// The store's snapshot for what stock does not change: its products' names and prices.
    /// A snapshot whose counts are out of date since a checkout or a payment answers without
    /// a round trip; `available` and `sold_count` in it must not be read.
    pub async fn prices(&self, db: &Db, tenant: TenantId) -> sqlx::Result<Arc<Snapshot>> {
        match self.cached(tenant) {
            Some(snapshot) => Ok(snapshot),
            None => self.get(db, tenant).await,
        }
    }

    /// The store's snapshot if this process holds one, its stock counts current or not, without
    /// reading anything: for what stock does not change (the store's templates).
    pub fn cached(&self, tenant: TenantId) -> Option<Arc<Snapshot>> {
        self.snapshots
            .get(&tenant)
            .or_else(|| self.priced.get(&tenant))
    }

    /// Forgets a store's snapshot; the next reader rebuilds it.
    pub fn invalidate(&self, tenant: TenantId) {
        let loader = self.loaders.get_with(tenant, Default::default);
        let mut generation = loader.generation();
        *generation += 1;
        self.snapshots.invalidate(&tenant);
        self.priced.invalidate(&tenant);
    }

    /// Notes that only the store's stock counts changed (items reserved, sold or released):
    /// the snapshot keeps answering [`CatalogCache::prices`], and the next reader of the
    /// counts reads only them again.
    pub fn invalidate_stock(&self, tenant: TenantId) {
        let loader = self.loaders.get_with(tenant, Default::default);
        let mut generation = loader.generation();
        *generation += 1;
        if let Some(snapshot) = self.snapshots.remove(&tenant) {
            self.priced.insert(tenant, snapshot);
        }
    }
}

//! The admin side of a store's bot. For now, the summary behind `⚙️ Admin Settings`; the
//! admin menu (catalog wizards, orders, customers, broadcasts) builds on it.

use super::{
    StoreCtx,
    customer::Reply,
    texts::{Texts, fill},
};
use crate::store::money::rupiah;

/// The store at a glance: customers, paid orders, revenue, products and low stock.
pub async fn summary(ctx: &StoreCtx, t: &Texts) -> anyhow::Result<Reply> {
    let tenant = ctx.tenant();
    let mut tx = ctx.db.tenant(tenant.id).await?;
    let (customers, active): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where last_seen_at > now() - interval '7 days') from customers",
    )
    .fetch_one(&mut *tx)
    .await?;
    let (orders, revenue): (i64, Option<i64>) = sqlx::query_as(
        "select count(*), sum(total)::bigint from orders where status in ('paid', 'delivered')",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let catalog = ctx.catalog.get(&ctx.db, tenant.id).await?;
    let threshold = i64::from(tenant.settings.low_stock_threshold);
    let low: Vec<String> = catalog
        .products
        .iter()
        .filter(|p| p.available <= threshold)
        .map(|p| format!("{} ({})", p.name, p.available))
        .collect();
    let text = fill(
        t.admin_summary,
        &[
            ("customers", &customers.to_string()),
            ("active", &active.to_string()),
            ("orders", &orders.to_string()),
            ("revenue", &rupiah(revenue.unwrap_or(0))),
            ("products", &catalog.products.len().to_string()),
            (
                "low",
                &if low.is_empty() {
                    "-".to_owned()
                } else {
                    teloxide::utils::html::escape(&low.join(", "))
                },
            ),
        ],
    );
    Ok(Reply::text(text))
}

//! The store's own texts at their events (`store::templates`), in the HTML every message is
//! sent with. Each caller keeps the bot's default text for a store that wrote none.

use sqlx::PgConnection;
use teloxide::utils::html::escape;

use super::StoreCtx;
use crate::store::{
    orders::Order,
    templates::{self, Event},
};

/// The store's template `name` for `customer` (and `order`), filled and escaped; `None` when
/// the store wrote none.
///
/// The template comes from the catalog snapshot when this process holds one (a template edit
/// invalidates it, as it does for the welcome), else from the database in `conn`'s
/// transaction; what it mentions (a balance) is read in `conn`'s transaction.
pub async fn render(
    ctx: &StoreCtx,
    conn: &mut PgConnection,
    name: &str,
    customer: i64,
    order: Option<&Order>,
) -> sqlx::Result<Option<String>> {
    let tenant = ctx.tenant();
    let event = Event {
        customer,
        name: None,
        store: &tenant.display_name,
        order,
    };
    let body = match ctx.catalog.cached(tenant.id) {
        Some(catalog) => catalog.templates.get(name).cloned(),
        None => templates::get(conn, name).await?,
    };
    let Some(body) = body else {
        return Ok(None);
    };
    // Templates are plain text: the filled text is escaped as a whole, values with it.
    Ok(Some(escape(
        &templates::fill_event(conn, &body, &event).await?,
    )))
}

/// The store's template `name` for a customer writing to the bot now (`first_name` from the
/// update), from the catalog snapshot: the database is asked only for a balance it mentions.
pub async fn render_cached(
    ctx: &StoreCtx,
    name: &str,
    customer: i64,
    first_name: Option<&str>,
) -> anyhow::Result<Option<String>> {
    let tenant = ctx.tenant();
    let catalog = ctx.catalog.get(&ctx.db, tenant.id).await?;
    let Some(body) = catalog.templates.get(name) else {
        return Ok(None);
    };
    let event = Event {
        customer,
        name: first_name,
        store: &tenant.display_name,
        order: None,
    };
    let text = if templates::needs_lookup(body, &event) {
        let mut tx = ctx.db.tenant(tenant.id).await?;
        let text = templates::fill_event(&mut tx, body, &event).await?;
        tx.commit().await?;
        text
    } else {
        templates::fill_known(body, &event)
    };
    Ok(Some(escape(&text)))
}

/// The store's `payment_received` text for a paid order.
pub async fn payment_received(
    ctx: &StoreCtx,
    conn: &mut PgConnection,
    order: &Order,
) -> sqlx::Result<Option<String>> {
    render(
        ctx,
        conn,
        templates::PAYMENT_RECEIVED,
        order.customer_id,
        Some(order),
    )
    .await
}

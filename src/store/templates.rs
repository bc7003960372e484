//! Texts a store writes for its customers (how to order, store information, event messages).
//! A store that has not written one gets the bot's default text for it.

use sqlx::PgConnection;

/// The template names a store may set.
pub const NAMES: [&str; 6] = [
    "info",
    "how_to_order",
    "welcome",
    "payment_received",
    "goods_delivered",
    "invoice_expired",
];

/// The store's own text for `name`, if it wrote one.
pub async fn get(conn: &mut PgConnection, name: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select body from templates where name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await
}

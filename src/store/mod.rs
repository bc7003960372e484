//! The domain of a store: what a store knows and does, with no Telegram and no HTTP in it.
//!
//! Every function here works inside a tenant-scoped transaction (`Db::tenant`), so row-level
//! security confines it to one store. `bot/` and `http/` translate to and from these calls.
//!
//! - `catalog`: categories and products as customers browse them, cached per store.
//! - `catalog_doc`: the whole catalog as one JSON document, imported and exported.
//! - `products`, `categories`, `inventory`: the catalog and its stock as admins change them.
//! - `stock`: the goods, sealed, and their reservation and sale.
//! - `cart`, `coupons`, `orders`: from cart to a paid order; `fulfilment`: what follows a paid
//!   order however it was paid (goods, terms, the staff's notices, low stock).
//! - `wallet`: balances and their ledger.
//! - `payments`: gateway invoices, settled or closed exactly once; `gateway`: its health.
//! - `outbox`: messages that must follow a change of money or stock.
//! - `snk`: customers' sealed submissions for products' terms; `audit`: who did what.
//! - `error`: what an admin operation returns when it changes nothing, for both adapters.
//! - `broadcast`: messages to many customers, each sent once, at the store's pace.
//! - `customers`, `templates`, `money`; `fields`: serde helpers the admin inputs share.

pub mod audit;
pub mod broadcast;
pub mod cart;
pub mod catalog;
pub mod catalog_doc;
pub mod categories;
pub mod coupons;
pub mod customers;
pub mod error;
mod fields;
pub mod fulfilment;
pub mod gateway;
pub mod inventory;
pub mod money;
pub mod orders;
pub mod outbox;
pub mod payments;
pub mod products;
pub mod snk;
pub mod stats;
pub mod stock;
pub mod templates;
pub mod wallet;

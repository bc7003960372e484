//! The store bot: one teloxide handler tree shared by every store.
//!
//! The tree is built once ([`handler_tree`]) and cloned (cheaply, it is reference-counted)
//! into each store's dispatcher. A store's dispatcher differs only in its bot, its
//! [`StoreCtx`] and its dialogue storage, which reach handlers through `dptree` dependencies.
//!
//! - `tree.rs`: the tree, the middleware that times, counts and traces every update, and the
//!   anti-spam gate (`antispam.rs`).
//! - `nodes.rs`: the tree's filters, which look at an update in place (dptree's clone it).
//! - `customer/`: what customers do: start and menu, browse, cart, checkout and orders, deposits.
//! - `callbacks.rs`: inline-button data; `ui.rs`: send and edit helpers.
//! - `delivery.rs`: sending outbox messages and the goods of paid orders; `notices.rs`: the
//!   staff's notices of the outbox (a paid order, low stock); `store_notices.rs`: telling a
//!   customer what the store did to their order or balance; `events.rs`: the store's own
//!   texts (templates) at their events.
//! - `texts/`: the message catalogue, one file per language.
//! - `dialogue.rs`: dialogue state in PostgreSQL, keyed by (store, chat).
//! - `admin/`: the admin menu, one file per area, and the dialogue mechanism they share.
//! - `split.rs`: data-sized text cut into messages Telegram accepts.
//! - `retry.rs`: running an update again after a transient database fault.
//! - `payments/`: QRIS invoices, the customer's payment buttons, payment messages; confirming
//!   and ending payments is `service::payments`, which this calls.
//! - `snk.rs`: customers fulfil products' terms (SNK); admins review the submissions.
//! - `broadcast_photo.rs`: a broadcast's photo checked with Telegram before it is queued.

pub mod admin;
pub mod antispam;
pub mod broadcast_photo;
pub mod callbacks;
pub mod customer;
pub mod delivery;
pub mod dialogue;
pub mod events;
mod nodes;
pub mod notices;
pub mod payments;
mod retry;
pub mod snk;
pub mod split;
pub mod store_notices;
pub mod texts;
mod tree;
pub mod ui;

use teloxide::{Bot, adaptors::CacheMe, dispatching::dialogue::Dialogue};

pub use tree::handler_tree;

// The store's context is no adapter's own: `service/` takes it too, so it lives there and is
// re-exported here, where the handlers have always found it.
use crate::host::pace::Paced;
pub use crate::service::ctx::{GatewayKeys, Shared, StoreCtx};

/// The bot type every store uses. `Paced` sends every message through the bot's one sending
/// budget (`host::pace`: one message a second per chat, thirty a second per bot, shared with
/// the store's broadcast, replies first) and, on a 429, pauses the bot for the `retry_after`
/// Telegram asks for and sends again. `CacheMe` answers the dispatcher's own getMe from the
/// check the host made when it started the store.
pub type StoreBot = Paced<CacheMe<Bot>>;

/// What every handler returns; errors are logged and counted per store by the middleware.
pub type HandlerResult = anyhow::Result<()>;

pub type CustomerDialogue = Dialogue<dialogue::State, dialogue::TenantDialogues>;

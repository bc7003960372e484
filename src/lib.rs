//! tokobot: a multi-tenant host for Indonesian "auto order" Telegram store bots.
//!
//! One process runs one teloxide dispatcher per store, all fed from one HTTP server and one
//! PostgreSQL database with row-level security between stores.
//!
//! Where things live:
//! - [`config`]: the environment, read once; [`secret`]: values that never print.
//! - [`app`]: building and running the host; `main.rs` only parses the command line.
//! - [`db`]: pools, the embedded cluster, migrations, the tenant-scoped transaction.
//! - [`crypto`]: AES-256-GCM sealing with key ids.
//! - [`tenants`]: the tenant registry (model, repository, provisioning, tenants file).
//! - [`host`]: the runtime: which stores run, their bots, dispatchers and listeners.
//! - [`bot`]: the handler tree shared by every store, texts, dialogue storage.
//! - [`store`]: the domain of a store, free of Telegram and HTTP.
//! - [`service`]: flows several adapters start (payments), calling Pakasir but never Telegram,
//!   and the running store's context (`service::ctx`) that every layer takes.
//! - [`antispam`]: the per-customer action limiter the bot's anti-spam gate consults.
//! - [`http`]: webhooks, the JSON API, metrics and health.
//! - [`jobs`]: background loops; [`telemetry`]: logs and metrics.
//! - [`ops`]: the operator's tools: key rotation, backups, the doctor.
//!
//! Invariants (docs/ARCHITECTURE.md explains each):
//! - Store code reaches data only through `Db::tenant`, as a role without BYPASSRLS.
//! - Secrets are sealed at rest, never logged, never returned by the API.
//! - Money is `i64` rupiah; money and stock changes commit at once with a database guard.

pub mod antispam;
pub mod app;
pub mod bot;
pub mod config;
pub mod crypto;
pub mod db;
pub mod host;
pub mod http;
pub mod jobs;
pub mod ops;
pub mod pakasir;
pub mod secret;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod tenants;

//! The domain of a store: what a store knows and does, with no Telegram and no HTTP in it.
//!
//! Every function here works inside a tenant-scoped transaction (`Db::tenant`), so row-level
//! security confines it to one store. `bot/` and `http/` translate to and from these calls.

pub mod customers;
pub mod money;
pub mod stock;

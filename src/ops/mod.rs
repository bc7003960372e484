//! Operating a host: key rotation, backups, the doctor's checks.
//!
//! These are the library side of the operator's commands (`tokobot keys rotate`, `backup`,
//! `restore`, `doctor`) and of the scheduled backup job; `main.rs` only parses arguments and
//! prints what these return.

pub mod backup;
pub mod keys;

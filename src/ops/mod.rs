//! Operating a host: key rotation, backups, the doctor's checks.
//!
//! These are the library side of the operator's commands (`tokobot keys rotate`, `backup`,
//! `restore`, `doctor`) and of the scheduled backup job; `main.rs` only parses arguments and
//! prints what these return.

pub mod alerts;
pub mod backup;
pub mod doctor;
pub mod fingerprints;
pub mod keys;

use anyhow::Context;

use crate::{
    config::Config,
    crypto::{FingerprintKey, Sealer},
};

/// A sealer for tools that only seal and open with the master keys (backups, the doctor),
/// usable before the database is reachable. It never takes a fingerprint: the fingerprint key
/// it carries is a stand-in, not the host's stored one (`app::sealer` builds the real one).
pub(crate) fn master_sealer(config: &Config) -> anyhow::Result<Sealer> {
    let first = config
        .master_keys
        .first()
        .context("at least one master key is needed")?;
    Sealer::new(
        config.master_keys.clone(),
        FingerprintKey::derived_from(first),
    )
}

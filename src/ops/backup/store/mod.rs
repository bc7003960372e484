//! Store backups: `tokobot backup --tenant SLUG` and `tokobot restore FILE --tenant SLUG`.
//!
//! One store's data (catalog, customers, balances, orders, templates, coupons, settings, and
//! its secrets when asked) as a portable document ([`document`]), encrypted and checksummed in
//! the same file format as a whole-host backup. It restores into the same host or another
//! one as a new store; an existing store of the target slug is replaced only when asked, and
//! then all or nothing in one transaction.

mod document;
mod export;
mod import;

use anyhow::Context;

pub use document::{FORMAT, StoreDocument, VERSION};
pub use import::Restored;

use super::{Header, Output, Source, file, write_verified};
use crate::{crypto::Sealer, db::Db, tenants::repo};

/// Backs up the store `slug` to `output` (its secrets only when `with_secrets`); returns the
/// verified file's header.
pub async fn backup(
    db: &Db,
    sealer: &Sealer,
    slug: &str,
    with_secrets: bool,
    output: Output,
) -> anyhow::Result<Header> {
    let tenant = repo::by_slug(db.registry(), slug)
        .await?
        .with_context(|| format!("there is no store `{slug}`"))?;
    let doc = export::export(db, sealer, &tenant, with_secrets).await?;
    let plain = serde_json::to_vec(&doc).context("cannot write the store document")?;
    let sealer = sealer.clone();
    tokio::task::spawn_blocking(move || {
        write_verified(&sealer, &output, |out| {
            file::write(&sealer, &plain[..], out).map(drop)
        })
    })
    .await
    .context("the backup task failed")?
}

/// Reads the store backup `source` whole (checking it) and restores it as the store `slug`;
/// see [`import::restore`] for what happens to an existing store of that slug.
pub async fn restore(
    db: &Db,
    sealer: &Sealer,
    source: Source,
    slug: &str,
    force: bool,
) -> anyhow::Result<(Header, Restored)> {
    let opener = sealer.clone();
    let (header, plain) = tokio::task::spawn_blocking(move || source.read_all(&opener))
        .await
        .context("the restore task failed")??;
    let doc = StoreDocument::parse(&plain)?;
    let restored = import::restore(db, sealer, &doc, slug, force).await?;
    Ok((header, restored))
}

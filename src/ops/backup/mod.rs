//! Whole-host backups: `tokobot backup`, `tokobot restore` and the scheduled job in `serve`.
//!
//! A backup is `pg_dump`'s custom format (one consistent snapshot, taken while the host runs),
//! encrypted into the file format of [`file`] under the first master key. It is written to a
//! temporary file beside the target, read back and verified, and only then renamed into place,
//! so a file with a backup's name is always a whole, readable backup; a full disk or an
//! unwritable dir fails the command and leaves nothing that looks valid. A restore checks the
//! whole file (checksum, key, every piece) before it touches the database, and then restores it
//! in one transaction.

mod dump;
pub mod file;
mod schedule;

use std::{
    fs::{self, File, OpenOptions},
    io::{self, BufWriter, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use sqlx::{Connection, PgConnection, postgres::PgConnectOptions};

pub use file::Header;
pub use schedule::{Schedule, backups, new_path, run as schedule, take};

use crate::{
    config::Config,
    crypto::Sealer,
    db::{self, DatabaseServer},
};

/// Where a backup goes.
#[derive(Clone, Debug)]
pub enum Output {
    File(PathBuf),
    /// Standard output (`--output -`): written only after the backup was verified in memory.
    Stdout,
}

/// Backs up the whole database behind `owner` to `output`; returns the verified header.
pub async fn backup(
    config: &Config,
    owner: &PgConnectOptions,
    output: Output,
) -> anyhow::Result<Header> {
    let sealer = super::master_sealer(config)?;
    let target = dump::Target::new(config, owner)?;
    tokio::task::spawn_blocking(move || match output {
        Output::File(path) => backup_to_file(&sealer, &target, &path),
        Output::Stdout => {
            let mut bytes = Vec::new();
            dump::dump(&target, |plain| {
                file::write(&sealer, plain, &mut bytes).map(drop)
            })?;
            let header = file::check(&sealer, &bytes)?;
            let mut stdout = io::stdout().lock();
            stdout.write_all(&bytes)?;
            stdout.flush()?;
            Ok(header)
        }
    })
    .await
    .context("the backup task failed")?
}

fn backup_to_file(sealer: &Sealer, target: &dump::Target, path: &Path) -> anyhow::Result<Header> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?
        .to_string_lossy()
        .into_owned();
    let temp = dir.join(format!(".{name}.{}.partial", std::process::id()));
    let written = (|| {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .with_context(|| format!("cannot create {}", temp.display()))?;
        let mut out = BufWriter::new(file);
        dump::dump(target, |plain| {
            file::write(sealer, plain, &mut out).map(drop)
        })?;
        let file = out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {}", temp.display()))?;
        // The data must be on the disk before the name says it is a backup.
        file.sync_all()
            .with_context(|| format!("cannot write {} to the disk", temp.display()))?;
        let bytes =
            fs::read(&temp).with_context(|| format!("cannot read back {}", temp.display()))?;
        let header =
            file::check(sealer, &bytes).context("the backup just written does not verify")?;
        fs::rename(&temp, path)
            .with_context(|| format!("cannot move the backup to {}", path.display()))?;
        if let Ok(dir) = File::open(&dir) {
            dir.sync_all().ok();
        }
        Ok(header)
    })();
    if written.is_err() {
        fs::remove_file(&temp).ok();
    }
    written
}

/// Restores the backup in `bytes` into the database behind `server`. The file is checked whole
/// first; a database that holds stores is refused unless `force`. Migrations newer than the
/// backup and the runtime role's grants are applied afterwards.
pub async fn restore(
    config: &Config,
    server: &DatabaseServer,
    bytes: Vec<u8>,
    force: bool,
) -> anyhow::Result<Header> {
    let sealer = super::master_sealer(config)?;
    let (header, dump) = tokio::task::spawn_blocking(move || file::read(&sealer, &bytes))
        .await
        .context("the restore task failed")??;
    let stores = stores_in(&server.owner).await?;
    if stores > 0 && !force {
        bail!(
            "the database already holds {stores} store(s); restoring replaces everything in it: \
             pass --force to do so"
        );
    }
    let target = dump::Target::new(config, &server.owner)?;
    tokio::task::spawn_blocking(move || dump::restore(&target, &dump))
        .await
        .context("the restore task failed")??;
    db::migrate(&server.owner).await?;
    Ok(header)
}

/// How many stores the database holds (0 when it has no schema yet).
async fn stores_in(owner: &PgConnectOptions) -> anyhow::Result<i64> {
    let mut conn = PgConnection::connect_with(owner)
        .await
        .context("cannot connect to the database as its owner")?;
    let exists: bool = sqlx::query_scalar("select to_regclass('public.tenants') is not null")
        .fetch_one(&mut conn)
        .await?;
    let stores = if exists {
        sqlx::query_scalar("select count(*) from tenants")
            .fetch_one(&mut conn)
            .await?
    } else {
        0
    };
    conn.close().await.ok();
    Ok(stores)
}

/// Reads a backup file (`-`: standard input).
pub fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut io::stdin().lock(), &mut bytes)
            .context("cannot read standard input")?;
        return Ok(bytes);
    }
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

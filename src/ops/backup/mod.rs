//! Backups: `tokobot backup`, `tokobot restore` and the scheduled job in `serve`.
//!
//! A whole-host backup is `pg_dump`'s custom format (one consistent snapshot, taken while the
//! host runs); a store backup ([`store`]) is one store's data as a portable document. Either is
//! encrypted into the file format of [`file`] under the first master key, one piece at a time.
//! It is written to a temporary file beside the target, read back and verified, and only then
//! renamed into place, so a file with a backup's name is always a whole, readable backup; a full
//! disk or an unwritable dir fails the command and leaves nothing that looks valid. A restore
//! checks the whole file (checksum, key, every piece) and refuses a backup taken under a newer
//! schema than this binary knows, before it touches the database, and then restores it in one
//! transaction. (A whole-host restore so reads the file three times: to check it, to read the
//! schema from the dump, and to restore it.)

mod dump;
pub mod file;
mod schedule;
pub mod store;

use std::{
    fs::{self, File, OpenOptions},
    io::{self, BufWriter, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use sqlx::{Connection, PgConnection, postgres::PgConnectOptions};

pub use file::Header;
pub use schedule::{Schedule, backups, new_path, new_store_path, run as schedule, take};

use crate::{
    config::Config,
    crypto::Sealer,
    db::{self, DatabaseServer},
};

/// Where a backup goes.
#[derive(Clone, Debug)]
pub enum Output {
    File(PathBuf),
    /// Standard output (`--output -`): written only after the backup was verified, from a
    /// temporary file.
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
    tokio::task::spawn_blocking(move || {
        write_verified(&sealer, &output, |out| {
            dump::dump(&target, |plain| file::write(&sealer, plain, out).map(drop))
        })
    })
    .await
    .context("the backup task failed")?
}

/// Writes a backup file with `fill` and delivers it to `output` only once it verifies.
fn write_verified(
    sealer: &Sealer,
    output: &Output,
    fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<Header> {
    match output {
        Output::File(path) => {
            let dir = parent_dir(path);
            let name = path
                .file_name()
                .with_context(|| format!("{} names no file", path.display()))?
                .to_string_lossy()
                .into_owned();
            let temp = Temp::create(&dir, &name)?;
            let header = temp.fill(sealer, fill)?;
            temp.persist(path)?;
            if let Ok(dir) = File::open(&dir) {
                dir.sync_all().ok();
            }
            Ok(header)
        }
        Output::Stdout => {
            let temp = Temp::create(&std::env::temp_dir(), "tokobot-stdout")?;
            let header = temp.fill(sealer, fill)?;
            let mut stdout = io::stdout().lock();
            io::copy(&mut temp.open()?, &mut stdout).context("cannot write standard output")?;
            stdout.flush()?;
            Ok(header)
        }
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A temporary file only its owner can read, removed when dropped unless disarmed.
struct Temp {
    path: PathBuf,
    file: Option<File>,
    keep: bool,
}

impl Temp {
    fn create(dir: &Path, name: &str) -> anyhow::Result<Self> {
        let path = dir.join(format!(".{name}.{}.partial", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self {
            path,
            file: Some(file),
            keep: false,
        })
    }

    /// Writes the backup with `fill`, puts it on the disk and reads it back to verify it.
    fn fill(
        &self,
        sealer: &Sealer,
        fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
    ) -> anyhow::Result<Header> {
        let file = self.file.as_ref().expect("open until dropped");
        let mut out = BufWriter::new(file);
        fill(&mut out)?;
        out.flush()
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        drop(out);
        // The data must be on the disk before the name says it is a backup.
        file.sync_all()
            .with_context(|| format!("cannot write {} to the disk", self.path.display()))?;
        file::check(sealer, self.open()?).context("the backup just written does not verify")
    }

    fn open(&self) -> anyhow::Result<File> {
        File::open(&self.path).with_context(|| format!("cannot read back {}", self.path.display()))
    }

    /// Renames the file into place; from then on it is no longer ours to remove.
    fn persist(mut self, path: &Path) -> anyhow::Result<()> {
        fs::rename(&self.path, path)
            .with_context(|| format!("cannot move the backup to {}", path.display()))?;
        self.keep = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        self.file.take();
        if !self.keep {
            fs::remove_file(&self.path).ok();
        }
    }
}

/// A backup file to restore from: a path, or standard input (`-`) copied to a temporary file
/// first, because a restore reads the file twice (to check it, then to restore it).
pub struct Source {
    path: PathBuf,
    _spooled: Option<Temp>,
}

impl Source {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if path != Path::new("-") {
            File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
            return Ok(Self {
                path: path.to_path_buf(),
                _spooled: None,
            });
        }
        let temp = Temp::create(&std::env::temp_dir(), "tokobot-stdin")?;
        let mut file = temp.file.as_ref().expect("open until dropped");
        io::copy(&mut io::stdin().lock(), &mut file).context("cannot read standard input")?;
        Ok(Self {
            path: temp.path.clone(),
            _spooled: Some(temp),
        })
    }

    fn reader(&self) -> anyhow::Result<File> {
        File::open(&self.path).with_context(|| format!("cannot read {}", self.path.display()))
    }

    /// Checks the whole file and returns its header and the first bytes of what it holds.
    fn check(&self, sealer: &Sealer) -> anyhow::Result<(Header, Vec<u8>)> {
        let mut start = Start(Vec::new());
        let header = file::read_into(sealer, self.reader()?, &mut start)?;
        Ok((header, start.0))
    }

    /// The whole plain text, for documents small enough to hold (a store's).
    fn read_all(&self, sealer: &Sealer) -> anyhow::Result<(Header, Vec<u8>)> {
        let mut plain = Vec::new();
        let header = file::read_into(sealer, self.reader()?, &mut plain)?;
        Ok((header, plain))
    }
}

/// A writer that keeps the first few bytes written to it and drops the rest.
struct Start(Vec<u8>);

impl Write for Start {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = 16usize.saturating_sub(self.0.len());
        self.0.extend_from_slice(&buf[..room.min(buf.len())]);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Restores the whole-host backup `source` into the database behind `server`. The file is
/// checked whole first, and a backup taken under a newer schema than this binary knows is
/// refused (its migrations could not be matched); a database that holds stores is refused
/// unless `force`. Migrations newer than the backup and the runtime role's grants are applied
/// afterwards.
pub async fn restore(
    config: &Config,
    server: &DatabaseServer,
    source: Source,
    force: bool,
) -> anyhow::Result<Header> {
    let sealer = super::master_sealer(config)?;
    let (checked, source, sealer) =
        tokio::task::spawn_blocking(move || (source.check(&sealer), source, sealer))
            .await
            .context("the restore task failed")?;
    let (header, start) = checked?;
    // pg_dump's custom format starts with "PGDMP"; a store document is JSON.
    if !start.starts_with(b"PGDMP") {
        bail!("this is a backup of one store, not of a whole host: restore it with --tenant SLUG");
    }
    let (schema, source, sealer) = tokio::task::spawn_blocking(move || {
        let schema =
            dump::schema_of(|stdin| file::read_into(&sealer, source.reader()?, stdin).map(drop));
        (schema, source, sealer)
    })
    .await
    .context("the restore task failed")?;
    let known = db::newest_schema();
    if let Some(schema) = schema
        .context("cannot read the backup's schema")?
        .filter(|schema| *schema > known)
    {
        bail!(
            "this backup was taken under a newer database schema ({schema}) than this tokobot \
             knows ({known}): restore it with the tokobot that took it or a newer one; nothing \
             was changed"
        );
    }
    let stores = stores_in(&server.owner).await?;
    if stores > 0 && !force {
        bail!(
            "the database already holds {stores} store(s); restoring replaces everything in it: \
             pass --force to do so"
        );
    }
    let target = dump::Target::new(config, &server.owner)?;
    tokio::task::spawn_blocking(move || {
        dump::restore(&target, |stdin| {
            file::read_into(&sealer, source.reader()?, stdin).map(drop)
        })
    })
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

//! Running `pg_dump` and `pg_restore` against the owner connection.
//!
//! The tools come from the PostgreSQL installation the embedded cluster uses (or `PATH`). The
//! connection is given as separate arguments and the password (if any) through `PGPASSWORD`,
//! so that it never appears in a process listing.

use std::{
    ffi::OsString,
    io::{Read, Write},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use anyhow::{Context, bail};
use sqlx::postgres::PgConnectOptions;

use crate::{config::Config, db::embedded};

/// Where the schema owner connects, in the form the PostgreSQL tools take.
pub struct Target {
    args: Vec<OsString>,
    password: Option<String>,
}

impl Target {
    /// The owner connection of `options`, with the password of `DATABASE_URL` when set.
    pub fn new(config: &Config, options: &PgConnectOptions) -> anyhow::Result<Self> {
        let host: OsString = match options.get_socket() {
            Some(dir) => dir.into(),
            None => options.get_host().into(),
        };
        let database = options
            .get_database()
            .context("the database connection names no database")?;
        let password = match &config.database_url {
            Some(url) => reqwest::Url::parse(url.expose())
                .context("DATABASE_URL is not a URL")?
                .password()
                .map(percent_decode),
            None => None,
        };
        Ok(Self {
            args: vec![
                "--host".into(),
                host,
                "--port".into(),
                options.get_port().to_string().into(),
                "--username".into(),
                options.get_username().into(),
                "--dbname".into(),
                database.into(),
                // A dump never waits for a password prompt that nobody answers.
                "--no-password".into(),
            ],
            password,
        })
    }

    fn command(&self, tool: &str) -> anyhow::Result<Command> {
        let program = tool_path(tool)?;
        let mut command = Command::new(program);
        command.args(&self.args);
        command.env_remove("PGPASSWORD");
        if let Some(password) = &self.password {
            command.env("PGPASSWORD", password);
        }
        Ok(command)
    }
}

fn tool_path(tool: &str) -> anyhow::Result<PathBuf> {
    embedded::client_tool(tool).with_context(|| {
        format!(
            "`{tool}` was not found; install the PostgreSQL client tools \
             (`apt-get install -y postgresql-client`) or put them on PATH"
        )
    })
}

/// Streams a consistent custom-format dump of the whole database into `sink`. `pg_dump` reads
/// everything in one repeatable-read snapshot, so the dump is consistent while the host runs.
pub fn dump(
    target: &Target,
    sink: impl FnOnce(&mut dyn Read) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut command = target.command("pg_dump")?;
    command
        .args(["--format=custom", "--compress=6"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().context("cannot run pg_dump")?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let written = sink(&mut stdout);
    drop(stdout);
    let finished = finish(child, "pg_dump");
    // pg_dump's own error explains a failure better than the broken pipe it causes.
    finished?;
    written
}

/// Restores a custom-format dump into the target database in one transaction: it either all
/// lands or nothing changes. Objects are dropped first (`--clean`), so a database that holds
/// only the schema (a host that started once) takes the dump as well as an empty one.
/// `feed` writes the dump into `pg_restore`'s input; when it fails, `pg_restore` sees its input
/// end early and rolls back.
pub fn restore(
    target: &Target,
    feed: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut command = target.command("pg_restore")?;
    command
        .args([
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            // Ownership and grants belong to the target's roles: `tokobot migrate` re-grants.
            "--no-owner",
            "--no-privileges",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().context("cannot run pg_restore")?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let fed = feed(&mut stdin);
    drop(stdin);
    let finished = finish(child, "pg_restore");
    // A dump that could not be read whole explains the failure better than pg_restore does.
    fed.context("cannot feed the dump to pg_restore")?;
    finished
}

/// The database schema a dump was taken under: the newest migration in its `_sqlx_migrations`
/// (`None` when it has none). `pg_restore` prints that table's rows as text, touching no
/// database. `feed` writes the dump into its input; it may stop reading once it has the table,
/// so a feed cut short is no error when `pg_restore` succeeded (the caller checked the file).
pub fn schema_of(
    feed: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<Option<i64>> {
    let mut command = Command::new(tool_path("pg_restore")?);
    command
        .args(["--data-only", "--table=_sqlx_migrations", "--file=-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().context("cannot run pg_restore")?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    // Read the output beside the feed, so that neither side waits for the other's pipe.
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let fed = feed(&mut stdin);
    drop(stdin);
    let text = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reading pg_restore's output panicked"))?
        .context("cannot read pg_restore's output")?;
    if let Err(error) = finish(child, "pg_restore") {
        fed.context("cannot feed the dump to pg_restore")?;
        return Err(error);
    }
    Ok(newest_migration(&text))
}

/// The largest version in the `COPY ... _sqlx_migrations` block of a plain-text dump.
fn newest_migration(text: &str) -> Option<i64> {
    text.lines()
        .skip_while(|line| !(line.starts_with("COPY ") && line.contains("_sqlx_migrations")))
        .skip(1)
        .take_while(|line| *line != "\\.")
        .filter_map(|line| line.split('\t').next()?.parse::<i64>().ok())
        .max()
}

fn finish(child: Child, tool: &str) -> anyhow::Result<()> {
    let output = child
        .wait_with_output()
        .with_context(|| format!("{tool} did not finish"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("{tool} failed ({}): {}", output.status, stderr.trim());
    }
    Ok(())
}

/// Decodes `%XX` escapes (a password in a URL).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_newest_migration_is_read_from_the_copy_block() {
        let text = "SET x = 1;\n\
            COPY public._sqlx_migrations (version, description) FROM stdin;\n\
            20261124000001\ttenants\n\
            20261204040001\ttoken rejections\n\
            20261203000001\taudit\n\
            \\.\n\
            99999999999999\tnot a row of the table\n";
        assert_eq!(super::newest_migration(text), Some(20261204040001));
        assert_eq!(super::newest_migration("SET x = 1;\n"), None);
    }

    #[test]
    fn url_passwords_are_decoded() {
        assert_eq!(super::percent_decode("p%40ss%2Fw0rd"), "p@ss/w0rd");
        assert_eq!(super::percent_decode("plain%"), "plain%");
    }
}

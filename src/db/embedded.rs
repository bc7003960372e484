//! The embedded default PostgreSQL cluster (SPEC §1, "Embedded default").
//!
//! When `DATABASE_URL` is unset the host runs a private cluster from the PostgreSQL server
//! binaries installed on the machine. It lives under the data dir, listens only on a Unix socket
//! in a dir that only the server's user can enter, and trusts whoever reaches that socket. The
//! integration tests use the same code to run one cluster that all test processes share.
//!
//! We do not use `tmp-postgrust`: it only makes throwaway clusters in temporary directories,
//! while the product needs a persistent cluster under its data dir and the test suite needs one
//! cluster shared by many concurrent processes (cargo-nextest runs each test in its own
//! process). So this module drives `initdb` and `pg_ctl` itself, serialised by a file lock.

use std::env;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::Context as _;
use nix::unistd::{Uid, User, chown};
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use tracing::{info, warn};

/// The port only names the socket file (`.s.PGSQL.5432`): the server listens on no TCP address.
const PORT: u16 = 5432;
/// `sun_path` holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;
/// A bin dir is used only when it holds all of these.
const SERVER_BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];
/// Runs the server when we are root, since `initdb` and `postgres` refuse to run as root.
const SYSTEM_USER: &str = "postgres";
/// How many lines of a failing command's output (or of the server log) an error carries.
const TAIL_LINES: usize = 20;

/// What happens to the server when the handle is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    StopOnDrop,
    LeaveRunning,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found; install them with `apt-get install -y postgresql`, or set DATABASE_URL to an existing server"
    )]
    BinariesMissing,
    #[error("{context}: {error}")]
    Io { context: String, error: io::Error },
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("embedded PostgreSQL: {0}")]
    Setup(String),
}

/// A running cluster under `cluster_dir`, started by this handle or adopted from another.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    cluster_dir: PathBuf,
    socket_dir: PathBuf,
    superuser: String,
    /// The system user the server binaries run as (through `runuser`) when we are root.
    run_as: Option<User>,
    started: bool,
    lifetime: Lifetime,
}

impl EmbeddedPostgres {
    /// Starts the cluster in `dir` (running `initdb` when `dir` holds none), or adopts one that is
    /// already running there (left by an earlier run or by another test process).
    pub async fn start(dir: &Path, lifetime: Lifetime) -> Result<Self, EmbeddedError> {
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || Self::start_blocking(&dir, lifetime))
            .await
            .map_err(|error| EmbeddedError::Setup(format!("the start task failed: {error}")))?
    }

    /// Connection options for `database` over the Unix socket as the cluster's superuser.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        // TLS over a private Unix socket buys nothing, and a PGSSLMODE in the environment must
        // not make the connection fail.
        PgConnectOptions::new_without_pgpass()
            .socket(&self.socket_dir)
            .port(PORT)
            .username(&self.superuser)
            .database(database)
            .ssl_mode(PgSslMode::Disable)
    }

    /// A `DATABASE_URL` for `database` (socket directory in the `host` parameter), for code
    /// that takes a URL rather than options: `Config`, child processes, the benchmark.
    pub fn url(&self, database: &str) -> String {
        let options = self.connect_options(database);
        let socket = options
            .get_socket()
            .map(|s| s.display().to_string())
            .unwrap_or_default();
        format!(
            "postgres://{}@localhost:{}/{}?host={}&sslmode=disable",
            url_encode(options.get_username()),
            options.get_port(),
            url_encode(database),
            url_encode(&socket)
        )
    }

    /// Creates `name` when it does not exist yet (race-safe: a concurrent creator is not an error).
    pub async fn ensure_database(&self, name: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=63).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_')),
            "invalid database name {name:?}: use 1 to 63 characters from [a-z0-9_]"
        );
        let mut conn = PgConnection::connect_with(&self.connect_options("postgres"))
            .await
            .with_context(|| format!("cannot connect to {}", self.socket_dir.display()))?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(name)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            // The name was validated above, so quoting it is enough.
            let created = sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .await;
            if let Err(error) = created
                && !is_concurrent_creation(&error)
            {
                return Err(error).with_context(|| format!("cannot create database {name}"));
            }
        }
        conn.close().await?;
        Ok(())
    }

    /// Stops the server when this handle started it (fast shutdown), waiting for it to exit.
    pub fn stop(&mut self) -> Result<(), EmbeddedError> {
        if !self.started {
            return Ok(());
        }
        info!(dir = %self.cluster_dir.display(), "stopping embedded PostgreSQL");
        let mut command = self.command("pg_ctl");
        command.arg("-D").arg(self.data_dir());
        command.args(["-m", "fast", "-w", "stop"]);
        let output = run(command, "pg_ctl stop")?;
        // Someone else having stopped the server already is not a failure of ours.
        if !output.status.success() && self.is_running()? {
            return Err(command_failed("pg_ctl stop", &output, String::new()));
        }
        self.started = false;
        Ok(())
    }

    fn start_blocking(dir: &Path, lifetime: Lifetime) -> Result<Self, EmbeddedError> {
        let bin_dir = find_bin_dir().ok_or(EmbeddedError::BinariesMissing)?;
        let (run_as, superuser) = identity()?;
        fs::create_dir_all(dir).map_err(io_error(format!("cannot create {}", dir.display())))?;
        let cluster_dir = dir
            .canonicalize()
            .map_err(io_error(format!("cannot resolve {}", dir.display())))?;
        // Held until this function returns, so that concurrent starters see either no cluster
        // or a ready one, never a half-initialised one.
        let _lock = lock_sibling(&cluster_dir)?;
        if let Some(user) = &run_as {
            check_traversable(&cluster_dir, user)?;
        }
        let socket_dir = socket_dir(&cluster_dir)?;
        let mut pg = Self {
            bin_dir,
            cluster_dir,
            socket_dir,
            superuser,
            run_as,
            started: false,
            lifetime,
        };
        pg.prepare_dirs()?;
        if pg.is_running()? {
            info!(dir = %pg.cluster_dir.display(), "adopting running embedded PostgreSQL");
            return Ok(pg);
        }
        if !pg.data_dir().join("PG_VERSION").exists() {
            pg.initdb()?;
        }
        info!(dir = %pg.cluster_dir.display(), "starting embedded PostgreSQL");
        pg.pg_ctl_start()?;
        pg.started = true;
        Ok(pg)
    }

    fn data_dir(&self) -> PathBuf {
        self.cluster_dir.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.cluster_dir.join("postgres.log")
    }

    /// Creates the data and socket dirs, private to the server's user. As root it also creates
    /// the log file, which `pg_ctl` opens as that user in a dir it may not write.
    fn prepare_dirs(&self) -> Result<(), EmbeddedError> {
        for dir in [self.data_dir(), self.socket_dir.clone()] {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(io_error(format!("cannot create {}", dir.display())))?;
            // The socket dir may sit in /tmp, where anyone could have made it first; and a data
            // dir of another user is not ours to take over.
            let owner = fs::metadata(&dir)
                .map_err(io_error(format!("cannot stat {}", dir.display())))?
                .uid();
            let server_uid = self.run_as.as_ref().map_or(Uid::effective(), |u| u.uid);
            if owner != server_uid.as_raw() && owner != Uid::effective().as_raw() {
                let dir = dir.display();
                return Err(EmbeddedError::Setup(format!(
                    "{dir} belongs to uid {owner}"
                )));
            }
            self.give_to_server_user(&dir)?;
        }
        if self.run_as.is_some() {
            let log = self.log_file();
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .map_err(io_error(format!("cannot create {}", log.display())))?;
            self.give_to_server_user(&log)?;
        }
        Ok(())
    }

    fn give_to_server_user(&self, path: &Path) -> Result<(), EmbeddedError> {
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        chown(path, Some(user.uid), Some(user.gid)).map_err(|errno| EmbeddedError::Io {
            context: format!("cannot give {} to the {} user", path.display(), user.name),
            error: errno.into(),
        })
    }

    fn is_running(&self) -> Result<bool, EmbeddedError> {
        let mut command = self.command("pg_ctl");
        command.arg("-D").arg(self.data_dir()).arg("status");
        // Exit code 0 means running; 3 means not running and 4 means no cluster there yet.
        Ok(run(command, "pg_ctl status")?.status.success())
    }

    fn initdb(&self) -> Result<(), EmbeddedError> {
        info!(dir = %self.cluster_dir.display(), "creating embedded PostgreSQL cluster");
        let initdb = |locale: &str| {
            let mut command = self.command("initdb");
            command.arg("-D").arg(self.data_dir()).arg(locale);
            command.args(["--auth=trust", "--encoding=UTF8", "-U", &self.superuser]);
            run_checked(command, "initdb")
        };
        // C.UTF-8 sorts by code point like C but knows all of Unicode; some systems lack it.
        // A failed initdb empties the data dir again, so the retry starts clean.
        if let Err(error) = initdb("--locale=C.UTF-8") {
            warn!(%error, "initdb with the C.UTF-8 locale failed; retrying with --no-locale");
            initdb("--no-locale")?;
        }
        Ok(())
    }

    fn pg_ctl_start(&self) -> Result<(), EmbeddedError> {
        let mut command = self.command("pg_ctl");
        command.arg("-D").arg(self.data_dir());
        command.arg("-l").arg(self.log_file());
        command.args(["-w", "-t", "60", "-o", &self.server_options(), "start"]);
        let output = run(command, "pg_ctl start")?;
        if output.status.success() {
            return Ok(());
        }
        let log = fs::read(self.log_file()).unwrap_or_default();
        let log_tail = tail(&String::from_utf8_lossy(&log));
        let context = format!("\nlast lines of {}:\n{log_tail}", self.log_file().display());
        Err(command_failed("pg_ctl start", &output, context))
    }

    /// The server's `-c` settings as one string, which `pg_ctl` hands to a shell.
    fn server_options(&self) -> String {
        // Within the setting, a double-quoted list element may hold commas and spaces.
        let socket = self.socket_dir.to_string_lossy().replace('"', "\"\"");
        let mut settings = vec![
            "listen_addresses=".to_owned(),
            format!("unix_socket_directories=\"{socket}\""),
            format!("port={PORT}"),
            "max_connections=200".to_owned(),
        ];
        // Durability is worthless for a test cluster that is thrown away, and it costs time.
        if env::var("TOKOBOT_PG_FAST").is_ok_and(|value| value == "1") {
            let fast = "fsync=off synchronous_commit=off full_page_writes=off";
            settings.extend(fast.split(' ').map(String::from));
        }
        let quoted: Vec<String> = settings
            .iter()
            .map(|s| format!("-c {}", shell_quote(s)))
            .collect();
        quoted.join(" ")
    }

    /// A command for one of the server binaries, run as the server's user when we are root.
    fn command(&self, binary: &str) -> Command {
        let program = self.bin_dir.join(binary);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut command = Command::new(runuser());
                command.arg("-u").arg(&user.name).arg("--").arg(program);
                command
            }
            None => Command::new(program),
        };
        // Our own working directory may be closed to the server's user (e.g. /root).
        command.current_dir(&self.cluster_dir);
        command
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if self.lifetime == Lifetime::StopOnDrop
            && let Err(error) = self.stop()
        {
            warn!(%error, dir = %self.cluster_dir.display(), "could not stop embedded PostgreSQL");
        }
    }
}

/// The first dir, in the documented search order, that holds all the server binaries.
fn find_bin_dir() -> Option<PathBuf> {
    let from_env = env::var_os("TOKOBOT_PG_BIN").map(PathBuf::from);
    let has_all = |dir: &PathBuf| SERVER_BINARIES.iter().all(|b| dir.join(b).is_file());
    from_env
        .into_iter()
        .chain(pg_config_bin_dir())
        .chain(debian_bin_dirs())
        .chain([PathBuf::from("/usr/local/pgsql/bin")])
        .chain(path_bin_dir())
        .find(has_all)
}

/// A PostgreSQL client tool (`pg_dump`, `pg_restore`), from the dir the server binaries are
/// found in (the same search order), or else from `PATH`.
pub fn client_tool(name: &str) -> Option<PathBuf> {
    find_bin_dir()
        .map(|dir| dir.join(name))
        .filter(|path| path.is_file())
        .or_else(|| {
            env::split_paths(&env::var_os("PATH")?)
                .map(|dir| dir.join(name))
                .find(|path| path.is_file())
        })
}

fn pg_config_bin_dir() -> Option<PathBuf> {
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    output.status.success().then(|| PathBuf::from(text.trim()))
}

/// Debian's `/usr/lib/postgresql/<version>/bin`, highest version first.
fn debian_bin_dirs() -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir("/usr/lib/postgresql") else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name.split('.').map(str::parse).collect::<Result<_, _>>();
            Some((version.ok()?, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// The dir of `initdb` on PATH, through symlinks, so that `pg_ctl` and `postgres` sit beside it.
fn path_bin_dir() -> Option<PathBuf> {
    let initdb = env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join("initdb"))
        .find(|path| path.is_file())?;
    let initdb = initdb.canonicalize().unwrap_or(initdb);
    initdb.parent().map(Path::to_path_buf)
}

/// The user the server binaries run as (`None`: ourselves) and the cluster's superuser name.
fn identity() -> Result<(Option<User>, String), EmbeddedError> {
    let lookup = |result: nix::Result<Option<User>>, who: &str| match result {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(EmbeddedError::Setup(format!("there is no user {who}"))),
        Err(errno) => Err(EmbeddedError::Setup(format!(
            "cannot look up user {who}: {errno}"
        ))),
    };
    if !Uid::effective().is_root() {
        let me = lookup(
            User::from_uid(Uid::effective()),
            &Uid::effective().to_string(),
        )?;
        return Ok((None, me.name));
    }
    let user = lookup(User::from_name(SYSTEM_USER), SYSTEM_USER).map_err(|error| {
        EmbeddedError::Setup(format!(
            "{error}; as root, the server must run as the `{SYSTEM_USER}` system user \
             (PostgreSQL refuses root), which the postgresql package creates"
        ))
    })?;
    Ok((Some(user), SYSTEM_USER.to_owned()))
}

/// Fails clearly when the server's user cannot reach `dir`, rather than initdb failing vaguely.
/// Only the owner, primary group and other permission bits are considered.
fn check_traversable(dir: &Path, user: &User) -> Result<(), EmbeddedError> {
    for ancestor in dir.ancestors() {
        let meta = fs::metadata(ancestor)
            .map_err(io_error(format!("cannot stat {}", ancestor.display())))?;
        let search_bit = if meta.uid() == user.uid.as_raw() {
            0o100
        } else if meta.gid() == user.gid.as_raw() {
            0o010
        } else {
            0o001
        };
        if meta.mode() & search_bit == 0 {
            return Err(EmbeddedError::Setup(format!(
                "the server runs as the `{}` user, which cannot enter {}; make it traversable \
                 (chmod o+x) or choose a data dir elsewhere (TOKOBOT_DATA_DIR)",
                user.name,
                ancestor.display()
            )));
        }
    }
    Ok(())
}

/// Locks `<dir>.lock`, beside `dir` rather than in it, so that removing `dir` leaves it alone.
fn lock_sibling(dir: &Path) -> Result<File, EmbeddedError> {
    let mut name = dir
        .file_name()
        .ok_or_else(|| EmbeddedError::Setup(format!("{} cannot hold a cluster", dir.display())))?
        .to_os_string();
    name.push(".lock");
    let path = dir.with_file_name(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error(format!("cannot open {}", path.display())))?;
    file.lock()
        .map_err(io_error(format!("cannot lock {}", path.display())))?;
    Ok(file)
}

/// `<dir>/socket`, or a short dir under /tmp when the socket path would be too long. The
/// choice is written into `<dir>/socket.path` so that every process and later run agrees.
fn socket_dir(cluster_dir: &Path) -> Result<PathBuf, EmbeddedError> {
    let remembered = cluster_dir.join("socket.path");
    match fs::read_to_string(&remembered) {
        Ok(text) if !text.trim().is_empty() => return Ok(PathBuf::from(text.trim())),
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(io_error(format!("cannot read {}", remembered.display()))(
                error,
            ));
        }
    }
    let default = cluster_dir.join("socket");
    if default.as_os_str().len() + format!("/.s.PGSQL.{PORT}").len() <= MAX_SOCKET_PATH {
        return Ok(default);
    }
    let short = format!(
        "/tmp/tokobot-pg-{:016x}",
        fnv1a(cluster_dir.as_os_str().as_bytes())
    );
    fs::write(&remembered, format!("{short}\n"))
        .map_err(io_error(format!("cannot write {}", remembered.display())))?;
    Ok(PathBuf::from(short))
}

fn run(mut command: Command, label: &str) -> Result<Output, EmbeddedError> {
    let output = command.stdin(Stdio::null()).output();
    output.map_err(io_error(format!("cannot run {label}")))
}

fn run_checked(command: Command, label: &str) -> Result<Output, EmbeddedError> {
    let output = run(command, label)?;
    if !output.status.success() {
        return Err(command_failed(label, &output, String::new()));
    }
    Ok(output)
}

fn command_failed(label: &str, output: &Output, context: String) -> EmbeddedError {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let detail = format!("{}: {}{context}", output.status, tail(&text));
    EmbeddedError::Command {
        command: label.to_owned(),
        detail,
    }
}

fn io_error(context: String) -> impl FnOnce(io::Error) -> EmbeddedError {
    move |error| EmbeddedError::Io { context, error }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

fn runuser() -> &'static str {
    // Root's PATH usually holds sbin, but a service manager's or CI's may not.
    ["/usr/sbin/runuser", "/sbin/runuser"]
        .into_iter()
        .find(|path| Path::new(path).is_file())
        .unwrap_or("runuser")
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// FNV-1a: unlike `DefaultHasher` it is stable across Rust releases, so every build agrees.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// 42P04 is duplicate_database; 23505 (unique_violation) is what a creator racing another
/// one gets from pg_database's unique index.
fn is_concurrent_creation(error: &sqlx::Error) -> bool {
    let code = error.as_database_error().and_then(|db| db.code());
    matches!(code.as_deref(), Some("42P04" | "23505"))
}

/// Percent-encodes everything but URL-unreserved characters and `/` (socket paths).
fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

//! The `tokobot` command line: parse, load the configuration, call into the library.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokobot::{
    app,
    config::{Config, LogFormat},
    db::{self, DatabaseServer},
    http::api::auth::{JwtKeys, Role},
    ops, telemetry,
    tenants::file::{self, Applied},
};

#[derive(Parser)]
#[command(
    name = "tokobot",
    version,
    about = "Multi-tenant host for Telegram store bots"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the host: HTTP server, one bot per active store, background jobs.
    Serve,
    /// Apply database migrations and create the runtime role, then exit.
    Migrate,
    /// Print a signed operator JWT for the API.
    OperatorToken {
        /// How long the token is valid, for example 24h or 30d.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        /// Who the token is for (the `sub` claim).
        #[arg(long, default_value = "operator")]
        subject: String,
    },
    /// Print a signed owner JWT that reaches one store.
    OwnerToken {
        /// The store's slug.
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        #[arg(long, default_value = "owner")]
        subject: String,
    },
    /// Manage stores from a file.
    Tenants {
        #[command(subcommand)]
        command: TenantsCommand,
    },
    /// Write an encrypted, verified backup of the whole host, or of one store.
    Backup {
        /// Where to write it (`-`: standard output); default `<backup dir>/tokobot-<time>.tkbak`
        /// (`store-<slug>-<time>.tkbak` for one store).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Back up only this store, as a portable document that restores on any host.
        #[arg(long)]
        tenant: Option<String>,
        /// With --tenant: include the bot token and Pakasir keys (encrypted like the rest).
        #[arg(long, requires = "tenant")]
        with_secrets: bool,
    },
    /// Restore a backup (checked whole before anything changes): the whole host, or one store.
    Restore {
        /// The backup file (`-`: standard input).
        file: PathBuf,
        /// Restore a store backup as this store (a new store, or with --force the existing one).
        #[arg(long)]
        tenant: Option<String>,
        /// Replace a database that already holds stores, or with --tenant the existing store.
        #[arg(long)]
        force: bool,
    },
    /// Check the configuration, the database, Telegram and every store; exit 0 only when all pass.
    Doctor,
    /// Manage the master keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-seal every sealed value under TOKOBOT_MASTER_KEY (safe while the host runs; resumable).
    Rotate {
        /// How many values each batch re-seals.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        batch: i64,
    },
}

#[derive(Subcommand)]
enum TenantsCommand {
    /// Create or update the stores described in a TOML file (see tenants.example), idempotently.
    Apply { file: PathBuf },
}

/// jemalloc serves every allocation (docs/ARCHITECTURE.md, "Crate choices").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its start: a background thread gives freed pages back to the
/// system within a second (`dirty_decay_ms`), at once past that (`muzzy_decay_ms`), so the
/// memory after a peak shrinks instead of staying at the peak.
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tokobot: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // Logging starts before the configuration is read, so that what reading it reports (a
    // generated development key, for one) is logged in the configured format.
    telemetry::init_logging(LogFormat::from_env());
    let config = Config::from_env()?;
    match cli.command {
        Command::Serve => app::serve(config).await,
        Command::Migrate => {
            // The data migrations need the host's keys, so they run on the migrated schema.
            let (_server, pools) = app::connect(&config).await?;
            let sealer = app::sealer(&config, &pools).await?;
            let fingerprints = ops::fingerprints::recompute(&pools, &sealer).await?.items;
            println!(
                "migrations applied; runtime role `{}` ready; {fingerprints} stock fingerprint(s) recomputed",
                db::APP_ROLE
            );
            Ok(())
        }
        Command::OperatorToken { ttl, subject } => {
            let keys = JwtKeys::new(config.jwt_secret.expose(), config.access.token_max_ttl);
            println!("{}", keys.issue(&subject, Role::Operator, None, ttl)?);
            Ok(())
        }
        Command::OwnerToken {
            tenant,
            ttl,
            subject,
        } => {
            // The token names the store's id too, so it dies with the store: a later store
            // that takes the slug of a purged one is out of its reach.
            let (_server, db) = app::connect(&config).await?;
            let store = tokobot::tenants::repo::by_slug(db.registry(), &tenant)
                .await?
                .filter(|t| t.status != tokobot::tenants::model::TenantStatus::Deleted)
                .with_context(|| format!("there is no store `{tenant}`"))?;
            let keys = JwtKeys::new(config.jwt_secret.expose(), config.access.token_max_ttl);
            let token = keys.issue(&subject, Role::Owner, Some((&tenant, store.id)), ttl)?;
            println!("{token}");
            Ok(())
        }
        Command::Tenants {
            command: TenantsCommand::Apply { file: path },
        } => apply(config, path).await,
        Command::Backup {
            output,
            tenant,
            with_secrets,
        } => backup(config, output, tenant, with_secrets).await,
        Command::Restore {
            file,
            tenant,
            force,
        } => restore(config, file, tenant, force).await,
        Command::Doctor => {
            let report = ops::doctor::run(&config).await;
            println!("{report}");
            if !report.passed() {
                anyhow::bail!("some checks failed");
            }
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Rotate { batch },
        } => {
            let (_server, db) = app::connect(&config).await?;
            let sealer = app::sealer(&config, &db).await?;
            let rotation = ops::keys::rotate(&db, &sealer, batch).await?;
            db.close().await;
            println!("{rotation}");
            if rotation.remaining() > 0 {
                anyhow::bail!("the rotation is not complete yet");
            }
            Ok(())
        }
    }
}

async fn backup(
    config: Config,
    output: Option<PathBuf>,
    tenant: Option<String>,
    with_secrets: bool,
) -> anyhow::Result<()> {
    let output = match (output, &tenant) {
        (Some(path), _) if path.as_os_str() == "-" => ops::backup::Output::Stdout,
        (Some(path), _) => ops::backup::Output::File(path),
        (None, None) => ops::backup::Output::File(ops::backup::new_path(&config.backup.dir)?),
        (None, Some(slug)) => {
            ops::backup::Output::File(ops::backup::new_store_path(&config.backup.dir, slug)?)
        }
    };
    let shown = match &output {
        ops::backup::Output::File(path) => path.display().to_string(),
        ops::backup::Output::Stdout => "standard output".to_owned(),
    };
    let header = match tenant {
        None => {
            let server = DatabaseServer::open(&config).await?;
            ops::backup::backup(&config, &server.owner, output).await?
        }
        Some(slug) => {
            let (_server, db) = app::connect(&config).await?;
            let sealer = app::sealer(&config, &db).await?;
            let header =
                ops::backup::store::backup(&db, &sealer, &slug, with_secrets, output).await;
            db.close().await;
            header?
        }
    };
    eprintln!(
        "backup written to {shown} and verified (master key {})",
        header.key_hex()
    );
    Ok(())
}

async fn restore(
    config: Config,
    file: PathBuf,
    tenant: Option<String>,
    force: bool,
) -> anyhow::Result<()> {
    let source = ops::backup::Source::open(&file)?;
    match tenant {
        None => {
            let server = DatabaseServer::open(&config).await?;
            let header = ops::backup::restore(&config, &server, source, force).await?;
            println!(
                "restored the backup of {} (master key {})",
                header.created,
                header.key_hex()
            );
        }
        Some(slug) => {
            let (_server, db) = app::connect(&config).await?;
            let sealer = app::sealer(&config, &db).await?;
            let restored = ops::backup::store::restore(&db, &sealer, source, &slug, force).await;
            db.close().await;
            let (header, restored) = restored?;
            println!(
                "restored the store backup of {} as `{}` ({}; {} customers, {} orders){}",
                header.created,
                restored.slug,
                restored.status.as_str(),
                restored.customers,
                restored.orders,
                if restored.replaced {
                    ", replacing the store that had this slug"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}

async fn apply(config: Config, path: PathBuf) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let entries = file::parse(&text, |name| std::env::var(name).ok())?;
    let (_server, db) = app::connect(&config).await?;
    let (sealer, _bots, provisioner) = app::provisioning(&config, db.clone()).await?;
    let mut failed = 0;
    for entry in entries {
        let slug = entry.slug.clone();
        match file::apply(&provisioner, &db, &sealer, entry).await {
            Ok(Applied::Created) => println!("created   {slug}"),
            Ok(Applied::Updated) => println!("updated   {slug}"),
            Ok(Applied::Unchanged) => println!("unchanged {slug}"),
            Err(error) => {
                failed += 1;
                match error {
                    tokobot::tenants::service::ProvisionError::Invalid(errors) => {
                        for e in errors.0 {
                            eprintln!("failed    {slug}: {}: {}", e.field, e.message);
                        }
                    }
                    other => eprintln!("failed    {slug}: {other}"),
                }
            }
        }
    }
    db.close().await;
    if failed > 0 {
        anyhow::bail!("{failed} store(s) could not be applied");
    }
    Ok(())
}

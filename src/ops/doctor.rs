//! `tokobot doctor`: every check an operator needs before (or instead of) reading logs, each
//! with what to do when it fails. The command exits 0 only when every check passes.

use std::{fmt, time::Duration};

use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};

use crate::{
    config::{Config, UpdateMode},
    db::{APP_ROLE, DatabaseServer},
    tenants::{model::TenantStatus, repo},
};

/// How long one check may take before it counts as failed.
const LIMIT: Duration = Duration::from_secs(10);

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass(String),
    Fail { problem: String, fix: String },
}

#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub outcome: Outcome,
}

/// Every check that ran, in order.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.checks
            .iter()
            .all(|c| matches!(c.outcome, Outcome::Pass(_)))
    }

    /// The failed check called `name`, if any.
    pub fn failure(&self, name: &str) -> Option<&Outcome> {
        self.checks
            .iter()
            .find(|c| c.name == name && matches!(c.outcome, Outcome::Fail { .. }))
            .map(|c| &c.outcome)
    }

    fn pass(&mut self, name: impl Into<String>, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.into(),
            outcome: Outcome::Pass(detail.into()),
        });
    }

    fn fail(
        &mut self,
        name: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.checks.push(Check {
            name: name.into(),
            outcome: Outcome::Fail {
                problem: problem.into(),
                fix: fix.into(),
            },
        });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            match &check.outcome {
                Outcome::Pass(detail) => writeln!(f, "ok    {}: {detail}", check.name)?,
                Outcome::Fail { problem, fix } => {
                    writeln!(f, "FAIL  {}: {problem}\n      fix: {fix}", check.name)?
                }
            }
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail { .. }))
            .count();
        match failed {
            0 => write!(f, "all {} checks passed", self.checks.len()),
            n => write!(f, "{n} of {} checks failed", self.checks.len()),
        }
    }
}

/// Runs every check against the host `config` describes.
pub async fn run(config: &Config) -> Report {
    let mut report = Report::default();
    configuration(config, &mut report);
    let server = match tokio::time::timeout(LIMIT, DatabaseServer::open(config)).await {
        Ok(Ok(server)) => server,
        Ok(Err(error)) => {
            report.fail("database", format!("{error:#}"), database_fix(config));
            return report;
        }
        Err(_) => {
            report.fail("database", "no answer within 10 s", database_fix(config));
            return report;
        }
    };
    let mut owner = match connect(&server.owner).await {
        Ok(conn) => {
            report.pass("database", "reachable as the schema owner");
            conn
        }
        Err(problem) => {
            report.fail("database", problem, database_fix(config));
            return report;
        }
    };
    migrations(&mut owner, &mut report).await;
    runtime_role(config, &server, &mut report).await;
    row_level_security(&mut owner, &mut report).await;
    let http = reqwest::Client::builder().timeout(LIMIT).build();
    let Ok(http) = http else {
        report.fail(
            "telegram",
            "cannot build an HTTP client",
            "check the TLS roots of the system",
        );
        return report;
    };
    telegram(config, &http, &mut report).await;
    stores(config, &http, &mut owner, &mut report).await;
    owner.close().await.ok();
    report
}

fn database_fix(config: &Config) -> String {
    match config.database_url {
        Some(_) => "check DATABASE_URL (host, port, user, password) and that PostgreSQL runs".into(),
        None => "the embedded cluster under TOKOBOT_DATA_DIR could not start; read its postgres.log, or set DATABASE_URL".into(),
    }
}

async fn connect(options: &PgConnectOptions) -> Result<PgConnection, String> {
    match tokio::time::timeout(LIMIT, PgConnection::connect_with(options)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer within 10 s".into()),
    }
}

fn configuration(config: &Config, report: &mut Report) {
    let mode = match config.update_mode {
        UpdateMode::Webhook => "webhook",
        UpdateMode::Polling => "polling",
    };
    match (&config.public_url, config.update_mode) {
        (Some(url), UpdateMode::Webhook) if !url.starts_with("https://") => report.fail(
            "configuration",
            format!("TOKOBOT_PUBLIC_URL is {url}, but Telegram delivers webhooks only over HTTPS"),
            "put a TLS reverse proxy in front and set TOKOBOT_PUBLIC_URL to its https:// address",
        ),
        (Some(url), _) => report.pass("configuration", format!("{mode} mode, public URL {url}")),
        (None, _) => report.pass("configuration", format!("{mode} mode, no public URL")),
    }
}

async fn migrations(owner: &mut PgConnection, report: &mut Report) {
    let migrator = sqlx::migrate!("./migrations");
    let applied: Vec<i64> = match sqlx::query_scalar::<_, bool>(
        "select to_regclass('public._sqlx_migrations') is not null",
    )
    .fetch_one(&mut *owner)
    .await
    {
        Ok(true) => sqlx::query_scalar("select version from _sqlx_migrations where success")
            .fetch_all(&mut *owner)
            .await
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let pending: Vec<String> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(|m| format!("{} {}", m.version, m.description))
        .collect();
    match pending.first() {
        None => report.pass("migrations", format!("all {} applied", applied.len())),
        Some(first) => report.fail(
            "migrations",
            format!("{} not applied, the first: {first}", pending.len()),
            "run `tokobot migrate` (as the schema owner)",
        ),
    }
}

async fn runtime_role(config: &Config, server: &DatabaseServer, report: &mut Report) {
    const NAME: &str = "runtime role";
    let connect_options = match server.runtime_options(config) {
        Ok(options) => options,
        Err(error) => {
            return report.fail(NAME, format!("{error:#}"), "fix TOKOBOT_APP_DATABASE_URL");
        }
    };
    let mut conn = match connect(&connect_options.options).await {
        Ok(conn) => conn,
        Err(problem) => {
            return report.fail(
                NAME,
                problem,
                "check TOKOBOT_APP_DATABASE_URL and that the role may log in",
            );
        }
    };
    if connect_options.set_role
        && let Err(error) = conn.execute(format!("set role {APP_ROLE}").as_str()).await
    {
        return report.fail(
            NAME,
            format!("cannot switch to `{APP_ROLE}`: {error}"),
            "run `tokobot migrate`, which creates the role and lets the owner use it",
        );
    }
    let role: Result<(String, bool, bool), _> = sqlx::query_as(
        "select current_user::text, rolsuper, rolbypassrls from pg_roles where rolname = current_user",
    )
    .fetch_one(&mut conn)
    .await;
    conn.close().await.ok();
    match role {
        Ok((user, false, false)) => {
            report.pass(NAME, format!("`{user}`: not superuser, no BYPASSRLS"))
        }
        Ok((user, superuser, _)) => report.fail(
            NAME,
            format!(
                "`{user}` is {}: row-level security does not confine it",
                if superuser {
                    "a superuser"
                } else {
                    "BYPASSRLS"
                }
            ),
            format!(
                "unset TOKOBOT_APP_DATABASE_URL (the host then uses `{APP_ROLE}`), or \
                 `ALTER ROLE {user} NOSUPERUSER NOBYPASSRLS`"
            ),
        ),
        Err(error) => report.fail(
            NAME,
            error.to_string(),
            "check the runtime role's privileges",
        ),
    }
}

async fn row_level_security(owner: &mut PgConnection, report: &mut Report) {
    const NAME: &str = "row-level security";
    let unforced: Result<Vec<String>, _> = sqlx::query_scalar(
        "select c.relname::text from pg_class c \
         join pg_namespace n on n.oid = c.relnamespace \
         join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped \
         where n.nspname = 'public' and c.relkind in ('r', 'p') \
           and c.relname <> all($1) \
           and not (c.relrowsecurity and c.relforcerowsecurity) \
         order by 1",
    )
    .bind(&crate::db::CROSS_TENANT_TABLES[..])
    .fetch_all(&mut *owner)
    .await;
    match unforced {
        Ok(tables) if tables.is_empty() => {
            report.pass(NAME, "forced on every store table")
        }
        Ok(tables) => report.fail(
            NAME,
            format!("not forced on: {}", tables.join(", ")),
            "run `tokobot migrate`; for a table added by hand: \
             `ALTER TABLE <t> ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY` with a tenant policy",
        ),
        Err(error) => report.fail(NAME, error.to_string(), "run `tokobot migrate`"),
    }
}

async fn telegram(config: &Config, http: &reqwest::Client, report: &mut Report) {
    // Any HTTP answer at all proves the Bot API is reachable; only the transport can fail here.
    match http.get(&config.telegram_api_url).send().await {
        Ok(_) => report.pass("telegram", format!("{} answers", config.telegram_api_url)),
        Err(error) => report.fail(
            "telegram",
            format!("{} cannot be reached: {}", config.telegram_api_url, error.without_url()),
            "allow outbound HTTPS to the Bot API (firewall, DNS, proxy) or fix TOKOBOT_TELEGRAM_API_URL",
        ),
    }
}

/// Each active store: its secrets open, Telegram knows its token and (in webhook mode) sends
/// its updates to this host.
async fn stores(
    config: &Config,
    http: &reqwest::Client,
    owner: &mut PgConnection,
    report: &mut Report,
) {
    let sealer = match super::master_sealer(config) {
        Ok(sealer) => sealer,
        Err(error) => return report.fail("stores", format!("{error:#}"), "set TOKOBOT_MASTER_KEY"),
    };
    let tenants = match repo::all_for_host(&mut *owner).await {
        Ok(tenants) => tenants,
        Err(error) => return report.fail("stores", error.to_string(), "run `tokobot migrate`"),
    };
    for tenant in tenants
        .into_iter()
        .filter(|t| t.status == TenantStatus::Active)
    {
        let name = format!("store {}", tenant.slug);
        let secrets = match repo::secrets(&mut *owner, &sealer, tenant.id).await {
            Ok(secrets) => secrets,
            Err(error) => {
                report.fail(
                    name,
                    format!("its secrets do not open: {error:#}"),
                    "configure the master key that sealed them (TOKOBOT_MASTER_KEY_PREVIOUS)",
                );
                continue;
            }
        };
        let api = |method: &str| {
            format!(
                "{}/bot{}/{method}",
                config.telegram_api_url,
                secrets.bot_token.expose()
            )
        };
        let (method, expected) = match config.update_mode {
            UpdateMode::Webhook => ("getWebhookInfo", config.telegram_webhook_url(&tenant.slug)),
            UpdateMode::Polling => ("getMe", None),
        };
        let answer = match http.get(api(method)).send().await {
            Ok(response) => response
                .json::<serde_json::Value>()
                .await
                .map_err(|e| e.without_url()),
            Err(error) => Err(error.without_url()),
        };
        let answer = match answer {
            Ok(answer) if answer["ok"] == true => answer,
            Ok(answer) => {
                report.fail(
                    name,
                    format!("Telegram refused the bot token: {}", answer["description"]),
                    "the owner makes a new token in @BotFather; then PUT /api/v1/tenants/{slug}/secrets",
                );
                continue;
            }
            Err(error) => {
                report.fail(
                    name,
                    format!("Telegram did not answer: {error}"),
                    "see the telegram check",
                );
                continue;
            }
        };
        let Some(expected) = expected else {
            report.pass(name, "the bot token is valid");
            continue;
        };
        let registered = answer["result"]["url"].as_str().unwrap_or_default();
        if registered == expected {
            report.pass(name, "webhook registered at this host");
        } else {
            let shown = if registered.is_empty() {
                "none"
            } else {
                registered
            };
            report.fail(
                name,
                format!("Telegram sends its updates to {shown}, not {expected}"),
                format!(
                    "suspend and resume the store (POST /api/v1/tenants/{}/suspend, then /resume) \
                     so the host registers its webhook again; if another program uses this bot \
                     token, stop it",
                    tenant.slug
                ),
            );
        }
    }
}

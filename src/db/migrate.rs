//! `tokobot migrate`: schema migrations and the runtime role.
//!
//! Roles are cluster-wide while migrations are per database, so the role is created here and
//! not in a migration file; creating it is idempotent and safe when several databases of one
//! cluster migrate at once (as the test suite does).

use anyhow::Context;
use sqlx::{Connection, Executor, PgConnection, migrate::Migrator, postgres::PgConnectOptions};

use super::APP_ROLE;

/// The migrations this binary carries.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The newest schema this binary knows: the version of its last migration. Backups record the
/// schema they were taken under, so that a restore refuses data of a schema it does not know.
pub fn newest_schema() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The schema of the database `conn` is on: its newest applied migration (`None` before the
/// first migration).
pub async fn schema_of(conn: &mut PgConnection) -> sqlx::Result<Option<i64>> {
    let exists: bool =
        sqlx::query_scalar("select to_regclass('public._sqlx_migrations') is not null")
            .fetch_one(&mut *conn)
            .await?;
    if !exists {
        return Ok(None);
    }
    sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
        .fetch_one(conn)
        .await
}

/// Applies the embedded migrations and (re)creates the runtime role and its grants.
pub async fn migrate(owner: &PgConnectOptions) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect_with(owner)
        .await
        .context("cannot connect to the database as its owner")?;
    MIGRATOR.run(&mut conn).await.context("migrations failed")?;
    create_runtime_role(&mut conn).await?;
    grant_runtime_role(&mut conn).await?;
    conn.close().await.ok();
    Ok(())
}

async fn create_runtime_role(conn: &mut PgConnection) -> anyhow::Result<()> {
    // A concurrent creator in another database of the same cluster surfaces as either error.
    conn.execute(
        format!(
            "do $$ begin
                if not exists (select from pg_roles where rolname = '{APP_ROLE}') then
                    create role {APP_ROLE} nologin nosuperuser nobypassrls nocreatedb nocreaterole;
                end if;
             exception when duplicate_object or unique_violation then null;
             end $$"
        )
        .as_str(),
    )
    .await
    .context("cannot create the runtime role")?;

    // The owner switches pooled connections to the runtime role with SET ROLE, which a
    // non-superuser owner may do only as a member of that role.
    let (superuser, member): (bool, bool) = sqlx::query_as(&format!(
        "select rolsuper, pg_has_role(current_user, '{APP_ROLE}', 'member') from pg_roles where rolname = current_user"
    ))
    .fetch_one(&mut *conn)
    .await?;
    if !superuser && !member {
        conn.execute(format!("grant {APP_ROLE} to current_user").as_str())
            .await
            .context("cannot grant the runtime role to the owner")?;
    }
    Ok(())
}

/// The runtime role reads and writes every table (row-level security confines it to one store)
/// except two: it may only read the migration history (a store backup records its schema), and
/// it may only append to the audit log, so that nothing the host does, or an attacker who took
/// it over, can rewrite either.
async fn grant_runtime_role(conn: &mut PgConnection) -> anyhow::Result<()> {
    conn.execute(
        format!(
            "grant usage on schema public to {APP_ROLE};
             grant select, insert, update, delete on all tables in schema public to {APP_ROLE};
             grant usage, select on all sequences in schema public to {APP_ROLE};
             revoke all on _sqlx_migrations from {APP_ROLE};
             grant select on _sqlx_migrations to {APP_ROLE};
             revoke update, delete, truncate on audit_log from {APP_ROLE};"
        )
        .as_str(),
    )
    .await
    .context("cannot grant table privileges to the runtime role")?;
    Ok(())
}

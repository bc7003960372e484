//! `tokobot migrate`: schema migrations and the runtime role.
//!
//! Roles are cluster-wide while migrations are per database, so the role is created here and
//! not in a migration file; creating it is idempotent and safe when several databases of one
//! cluster migrate at once (as the test suite does).

use anyhow::Context;
use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};

use super::APP_ROLE;

/// Applies the embedded migrations and (re)creates the runtime role and its grants.
pub async fn migrate(owner: &PgConnectOptions) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect_with(owner)
        .await
        .context("cannot connect to the database as its owner")?;
    sqlx::migrate!("./migrations")
        .run(&mut conn)
        .await
        .context("migrations failed")?;
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
/// except two: it never touches the migration history, and it may only append to the audit
/// log, so that nothing the host does, or an attacker who took it over, can rewrite the trail.
async fn grant_runtime_role(conn: &mut PgConnection) -> anyhow::Result<()> {
    conn.execute(
        format!(
            "grant usage on schema public to {APP_ROLE};
             grant select, insert, update, delete on all tables in schema public to {APP_ROLE};
             grant usage, select on all sequences in schema public to {APP_ROLE};
             revoke all on _sqlx_migrations from {APP_ROLE};
             revoke update, delete, truncate on audit_log from {APP_ROLE};"
        )
        .as_str(),
    )
    .await
    .context("cannot grant table privileges to the runtime role")?;
    Ok(())
}

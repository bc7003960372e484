//! Row-level security, exercised as the runtime role the host really uses.

use serde_json::json;
use tokobot::db::TenantId;

use crate::support::{spawn_host, text_update};

async fn tenant_id(host: &crate::support::TestHost, slug: &str) -> TenantId {
    let id: uuid::Uuid = sqlx::query_scalar("select id from tenants where slug = $1")
        .bind(slug)
        .fetch_one(host.db().registry())
        .await
        .unwrap();
    TenantId(id)
}

#[tokio::test]
async fn a_store_sees_only_its_own_rows_and_a_query_without_a_store_sees_none() {
    let host = spawn_host().await;
    host.create_store("toko-kiri", 1101, json!({})).await;
    host.create_store("toko-kanan", 1102, json!({})).await;
    let (secret_a, secret_b) = (host.webhook_secret(1101), host.webhook_secret(1102));
    host.deliver(
        "toko-kiri",
        Some(&secret_a),
        &text_update(1, 7001, "/start"),
    )
    .await;
    host.deliver(
        "toko-kanan",
        Some(&secret_b),
        &text_update(1, 7002, "/start"),
    )
    .await;
    host.wait_texts(1101, 7001, 1).await;
    host.wait_texts(1102, 7002, 1).await;
    // Contacts are recorded by the next coalesced flush.
    let running = &host.app.as_ref().expect("the host runs").host;
    running.customers().flush_seen(host.db()).await;
    let (a, b) = (
        tenant_id(&host, "toko-kiri").await,
        tenant_id(&host, "toko-kanan").await,
    );

    // The runtime role cannot bypass row-level security.
    let (user, bypass): (String, bool) =
        sqlx::query_as("select current_user::text, rolbypassrls or rolsuper from pg_roles where rolname = current_user")
            .fetch_one(host.db().registry())
            .await
            .unwrap();
    assert_eq!(user, tokobot::db::APP_ROLE);
    assert!(!bypass);

    // With store A's context, only A's customer is visible, even when asking for B's explicitly.
    let mut tx = host.db().tenant(a).await.unwrap();
    let visible: Vec<i64> = sqlx::query_scalar("select telegram_user_id from customers order by 1")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, [7001]);
    let of_b: i64 = sqlx::query_scalar("select count(*) from customers where tenant_id = $1")
        .bind(b)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(of_b, 0);

    // Writing a row for B from A's context is refused by the policy.
    let insert = sqlx::query(
        "insert into customers (tenant_id, telegram_user_id, first_name) values ($1, 9, 'x')",
    )
    .bind(b)
    .execute(&mut *tx)
    .await;
    let error = insert.expect_err("inserting for another store must fail");
    assert!(error.to_string().contains("row-level security"), "{error}");
    drop(tx);

    // Updating B's rows from A's context changes nothing.
    let mut tx = host.db().tenant(a).await.unwrap();
    let touched = sqlx::query("update customers set first_name = 'hacked' where tenant_id = $1")
        .bind(b)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(touched, 0);
    tx.commit().await.unwrap();

    // Without a store context nothing is visible at all.
    let none: i64 = sqlx::query_scalar("select count(*) from customers")
        .fetch_one(host.db().registry())
        .await
        .unwrap();
    assert_eq!(none, 0);
    let dialogues: i64 = sqlx::query_scalar("select count(*) from dialogues")
        .fetch_one(host.db().registry())
        .await
        .unwrap();
    assert_eq!(dialogues, 0);
}

#[tokio::test]
async fn every_store_owned_table_forces_row_level_security() {
    let host = spawn_host().await;
    // Every table with a tenant_id column, except the registry's own, must force RLS and carry a policy.
    let unprotected: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = 'public' and c.relkind = 'r' and c.relname not in ('tenant_secrets', 'outbox_queue', 'payment_queue', 'broadcast_queue', 'order_expiry_queue', 'token_rejections', 'stock_fingerprint_queue') \
           and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id') \
           and (not c.relrowsecurity or not c.relforcerowsecurity \
                or not exists (select 1 from pg_policy p where p.polrelid = c.oid))",
    )
    .fetch_all(host.db().registry())
    .await
    .unwrap();
    assert!(
        unprotected.is_empty(),
        "tables without forced RLS: {unprotected:?}"
    );
}

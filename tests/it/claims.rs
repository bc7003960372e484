//! Claims that pick rows with `LIMIT ... FOR UPDATE SKIP LOCKED` and update them in the same
//! statement never take more than their limit, whatever plan PostgreSQL chooses (commit
//! `4bd72c7`): a broadcast's next recipient, due order expiries, due payments and a checkout's
//! stock.
//!
//! As a subquery joined to the `UPDATE`, the pick may be put on the inner side of a nested loop
//! and run again for every row of the outer side; each run skips the rows the statement already
//! updated, so one statement takes one more row per outer row. The planner does so when it
//! believes the table holds about one row, as it did in production with statistics taken while
//! the table was nearly empty. Each test makes the planner believe exactly that
//! ([`believe_one_row`]), shows that the pick as a subquery then takes far more than its limit
//! (so the setup really provokes the bad plan), and that the production code takes exactly its
//! limit.
//!
//! Before the fix the broadcast and expiry claims were such subqueries. The stock reservation
//! and the payments claim were plain CTEs, which PostgreSQL (15) does not inline when they lock
//! rows (`FOR UPDATE`), so they ran once already; their tests guard the limit against a rewrite
//! into the unsafe shape. The payments claim cannot take more than its limit in any shape: its
//! candidates are chosen by a `LIMIT` that locks nothing and reads the statement's snapshot, and
//! the locking step only filters them.

use std::str::FromStr;

use serde_json::json;
use sqlx::{Connection, PgConnection, postgres::PgConnectOptions};
use time::{Duration, OffsetDateTime};
use tokobot::{
    app,
    db::{Db, TenantId},
    store::{broadcast::claims, orders::expiry, payments, stock},
};

use crate::support::{
    TestHost,
    shop::{Shop, sample_catalog},
    spawn_host,
};

/// Rows made due for each claim: far more than any limit below.
const ROWS: i64 = 200;

/// A store on a host that is then stopped, so no background job claims what the test queues,
/// and the runtime role's pools on its database.
async fn stopped_store(catalog: serde_json::Value) -> (TestHost, TenantId, Db) {
    let mut host = spawn_host().await;
    let tenant = {
        let shop = Shop::open(&host, "toko-klaim", 5401, json!({})).await;
        shop.import(catalog).await;
        shop.tenant
    };
    host.stop().await;
    let (_server, db) = app::connect(&host.config).await.unwrap();
    (host, tenant, db)
}

/// Makes the planner believe `table` holds about one row, however many it holds: its
/// statistics say one row in 10,000 pages, and autovacuum may not analyze it again. This is
/// what a table analyzed while it was nearly empty looks like to the planner once it fills.
async fn believe_one_row(host: &TestHost, table: &str) {
    let url = host.config.database_url.as_ref().unwrap().expose().clone();
    let mut owner = PgConnection::connect_with(&PgConnectOptions::from_str(&url).unwrap())
        .await
        .unwrap();
    sqlx::query(&format!(
        "alter table {table} set (autovacuum_enabled = false)"
    ))
    .execute(&mut owner)
    .await
    .unwrap();
    sqlx::query("update pg_class set reltuples = 1, relpages = 10000 where oid = $1::regclass")
        .bind(table)
        .execute(&mut owner)
        .await
        .unwrap();
    owner.close().await.unwrap();
}

/// Inserts `ROWS` orders of `tenant` whose hold ran out a minute ago (the trigger on `orders`
/// queues each in `order_expiry_queue`).
/// Entries of `queue` leased by a claim: due again only when the lease ends.
async fn leased(db: &Db, queue: &str) -> i64 {
    sqlx::query_scalar(&format!(
        "select count(*) from {queue} where due_at > now()"
    ))
    .fetch_one(db.registry())
    .await
    .unwrap()
}

async fn expired_orders(db: &Db, tenant: TenantId) {
    let mut tx = db.tenant(tenant).await.unwrap();
    sqlx::query(
        "insert into orders (tenant_id, customer_id, code, subtotal, total, expires_at) \
         select $1, 62000 + g, 'KLAIM-' || g, 10000, 10000, now() - interval '1 minute' \
         from generate_series(1, $2) g",
    )
    .bind(tenant)
    .bind(ROWS)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_broadcast_claim_takes_one_recipient_even_when_the_planner_would_repeat_the_pick() {
    let (host, tenant, db) = stopped_store(sample_catalog(&[], 10_000)).await;
    let broadcast: i64 = {
        let mut tx = db.tenant(tenant).await.unwrap();
        let id = sqlx::query_scalar(
            "insert into broadcasts (tenant_id, text, audience, state, created_by) \
             values ($1, 'Promo', 'all', 'running', 'test') returning id",
        )
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "insert into broadcast_recipients (tenant_id, broadcast_id, chat_id) \
             select $1, $2, 62000 + g from generate_series(1, $3) g",
        )
        .bind(tenant)
        .bind(id)
        .bind(ROWS)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        id
    };
    believe_one_row(&host, "broadcast_recipients").await;

    // Before the fix: the pick as a subquery. Undone to a savepoint, so that the claim below
    // starts, in the same transaction, from the same rows.
    let mut tx = db.tenant(tenant).await.unwrap();
    sqlx::query("savepoint canary")
        .execute(&mut *tx)
        .await
        .unwrap();
    let taken: Vec<i64> = sqlx::query_scalar(
        "update broadcast_recipients r set status = 'sending', attempts = r.attempts + 1, \
             lease_until = now() + make_interval(secs => $2) \
         from ( \
             select tenant_id, broadcast_id, chat_id from broadcast_recipients \
             where broadcast_id = $1 and status = 'pending' and next_attempt_at <= now() \
               and exists (select 1 from broadcasts b where b.id = $1 and b.state = 'running') \
             order by next_attempt_at, chat_id limit 1 for update skip locked \
         ) due \
         where r.tenant_id = due.tenant_id and r.broadcast_id = due.broadcast_id \
           and r.chat_id = due.chat_id \
         returning r.chat_id",
    )
    .bind(broadcast)
    .bind(60.0)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert!(
        taken.len() as i64 > 1,
        "the setup must provoke the repeated pick: the old statement took {}",
        taken.len()
    );
    sqlx::query("rollback to savepoint canary")
        .execute(&mut *tx)
        .await
        .unwrap();

    let claim = claims::claim(&mut tx, broadcast).await.unwrap().unwrap();
    assert_eq!(claim.chat_id, 62_001);
    let sending: i64 =
        sqlx::query_scalar("select count(*) from broadcast_recipients where status = 'sending'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(sending, 1, "one claim, one recipient");
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn an_expiry_claim_takes_no_more_orders_than_its_limit_even_when_the_planner_would_repeat_the_pick()
 {
    let (host, tenant, db) = stopped_store(sample_catalog(&[], 10_000)).await;
    expired_orders(&db, tenant).await;
    believe_one_row(&host, "order_expiry_queue").await;

    let mut tx = db.registry().begin().await.unwrap();
    let taken: Vec<i64> = sqlx::query_scalar(
        "update order_expiry_queue q set due_at = now() + make_interval(secs => $2) \
         from (select order_id from order_expiry_queue where due_at <= now() \
               order by due_at limit $1 for update skip locked) due \
         where q.order_id = due.order_id returning q.order_id",
    )
    .bind(5_i64)
    .bind(30.0)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert!(
        taken.len() > 5,
        "the setup must provoke the repeated pick: the old statement took {}",
        taken.len()
    );
    tx.rollback().await.unwrap();

    let claimed = expiry::claim_due(db.registry(), 5, Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 5, "{claimed:?}");
    assert!(claimed.iter().all(|(_, t)| *t == tenant));
    assert_eq!(leased(&db, "order_expiry_queue").await, 5);
}

#[tokio::test]
async fn a_payments_claim_takes_no_more_than_its_limit_even_when_the_planner_would_repeat_the_pick()
{
    let (host, tenant, db) = stopped_store(sample_catalog(&[], 10_000)).await;
    {
        let mut tx = db.tenant(tenant).await.unwrap();
        sqlx::query(
            "insert into payments (tenant_id, kind, customer_id, gateway_order_id, amount, fee, \
                 total_payment, payment_number, expired_at, expires_at) \
             select $1, 'deposit', 62000 + g, 'DEP-KLAIM-' || g, 10000, 0, 10000, 'qris', \
                 now() + interval '1 hour', now() + interval '1 hour' \
             from generate_series(1, $2) g",
        )
        .bind(tenant)
        .bind(ROWS)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "insert into payment_queue (payment_id, tenant_id, due_at) \
             select id, tenant_id, now() - interval '1 minute' from payments",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    believe_one_row(&host, "payment_queue").await;
    let horizon = OffsetDateTime::now_utc();
    let claimed = payments::claim_due(
        db.registry(),
        horizon,
        payments::Claim {
            per_store: ROWS,
            limit: 5,
            except: &[],
        },
        Duration::seconds(30),
    )
    .await
    .unwrap();
    assert_eq!(claimed.len(), 5, "{claimed:?}");
    assert_eq!(leased(&db, "payment_queue").await, 5);
}

#[tokio::test]
async fn a_stock_reservation_takes_no_more_items_than_asked_even_when_the_planner_would_repeat_the_pick()
 {
    let lines: Vec<String> = (1..=ROWS).map(|i| format!("klaim-{i}")).collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (host, tenant, db) = stopped_store(sample_catalog(&lines, 10_000)).await;
    let (product, order): (i64, i64) = {
        let mut tx = db.tenant(tenant).await.unwrap();
        let product = sqlx::query_scalar("select id from products where code = 'NFX'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let order = sqlx::query_scalar(
            "insert into orders (tenant_id, customer_id, code, subtotal, total, expires_at) \
             values ($1, 62001, 'KLAIM-STOK', 20000, 20000, now() + interval '10 minutes') \
             returning id",
        )
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        (product, order)
    };
    believe_one_row(&host, "stock_items").await;
    let until = OffsetDateTime::now_utc() + Duration::minutes(10);

    // The pick as a subquery, undone to a savepoint so that the reservation below starts, in
    // the same transaction, from the same rows.
    let mut tx = db.tenant(tenant).await.unwrap();
    sqlx::query("savepoint canary")
        .execute(&mut *tx)
        .await
        .unwrap();
    let taken = sqlx::query(
        "update stock_items s set status = 'reserved', order_id = $3, reserved_until = $4 \
         from (select id from stock_items where product_id = $1 and status = 'available' \
               order by id limit $2 for update skip locked) picked \
         where s.id = picked.id",
    )
    .bind(product)
    .bind(2_i64)
    .bind(order)
    .bind(until)
    .execute(&mut *tx)
    .await
    .unwrap()
    .rows_affected();
    assert!(
        taken > 2,
        "the setup must provoke the repeated pick: the old statement took {taken}"
    );
    sqlx::query("rollback to savepoint canary")
        .execute(&mut *tx)
        .await
        .unwrap();

    let reserved = stock::reserve(&mut tx, product, order, 2, until)
        .await
        .unwrap();
    assert_eq!(reserved, 2);
    let held: i64 = sqlx::query_scalar("select count(*) from stock_items where order_id = $1")
        .bind(order)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(held, 2);
    tx.commit().await.unwrap();
}

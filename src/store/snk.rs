//! SNK (syarat dan ketentuan) submissions: what a customer sends to fulfil a product's terms
//! after delivery (a text, a screenshot, or both), reviewed by the store's admins.
//!
//! Submissions often hold account details or personal screenshots, so both the text and the
//! screenshot's Telegram file id are sealed at rest, bound to the store, order and product,
//! and erased after the store's retention period.

use sqlx::PgConnection;

use crate::{crypto::Sealer, db::TenantId, secret::Secret};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Approved,
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
        }
    }

    fn parse(value: &str) -> Status {
        match value {
            "approved" => Status::Approved,
            "rejected" => Status::Rejected,
            _ => Status::Pending,
        }
    }
}

/// A submission, opened.
#[derive(Debug)]
pub struct Submission {
    pub id: i64,
    pub order_id: i64,
    pub product_id: i64,
    pub customer_id: i64,
    pub text: Option<Secret>,
    /// The Telegram file id of the screenshot.
    pub photo: Option<Secret>,
    pub status: Status,
}

/// What a field of a submission is sealed with: it binds the value to its store, order and
/// product, so a sealed value copied elsewhere does not open.
fn context(tenant: TenantId, order_id: i64, product_id: i64, field: &str) -> String {
    format!("snk_submissions/{field}/{tenant}/{order_id}/{product_id}")
}

/// The name of the product whose terms the customer may fulfil for this order: the order is
/// theirs and paid, and the product is in it and has terms. `None` otherwise.
pub async fn fulfillable(
    conn: &mut PgConnection,
    customer: i64,
    order_id: i64,
    product_id: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select i.product_name from order_items i \
         join orders o on o.id = i.order_id join products p on p.id = i.product_id \
         where i.order_id = $1 and i.product_id = $2 and o.customer_id = $3 \
           and o.status in ('paid', 'delivered') and p.snk is not null and p.snk <> ''",
    )
    .bind(order_id)
    .bind(product_id)
    .bind(customer)
    .fetch_optional(conn)
    .await
}

/// Stores a submission, sealed; returns its id.
#[allow(clippy::too_many_arguments)]
pub async fn submit(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    customer: i64,
    order_id: i64,
    product_id: i64,
    text: Option<&str>,
    photo: Option<&str>,
) -> sqlx::Result<i64> {
    let seal = |value: Option<&str>, field| {
        value.map(|v| sealer.seal(v.as_bytes(), &context(tenant, order_id, product_id, field)))
    };
    sqlx::query_scalar(
        "insert into snk_submissions (tenant_id, order_id, product_id, customer_id, text_sealed, photo_sealed) \
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(tenant)
    .bind(order_id)
    .bind(product_id)
    .bind(customer)
    .bind(seal(text, "text"))
    .bind(seal(photo, "photo"))
    .fetch_one(conn)
    .await
}

type Row = (i64, i64, i64, i64, Option<Vec<u8>>, Option<Vec<u8>>, String);

/// A submission, opened.
pub async fn get(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    id: i64,
) -> anyhow::Result<Option<Submission>> {
    let row: Option<Row> = sqlx::query_as(
        "select id, order_id, product_id, customer_id, text_sealed, photo_sealed, status \
         from snk_submissions where id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let Some((id, order_id, product_id, customer_id, text, photo, status)) = row else {
        return Ok(None);
    };
    let open = |sealed: Option<Vec<u8>>, field| -> anyhow::Result<Option<Secret>> {
        sealed
            .map(|s| {
                let plain = sealer.open(&s, &context(tenant, order_id, product_id, field))?;
                Ok(Secret::new(
                    String::from_utf8_lossy(plain.expose()).into_owned(),
                ))
            })
            .transpose()
    };
    Ok(Some(Submission {
        id,
        order_id,
        product_id,
        customer_id,
        text: open(text, "text")?,
        photo: open(photo, "photo")?,
        status: Status::parse(&status),
    }))
}

/// Records an admin's decision on a pending submission; `false` when it was decided before.
pub async fn decide(
    conn: &mut PgConnection,
    id: i64,
    status: Status,
    admin: i64,
) -> sqlx::Result<bool> {
    debug_assert!(status != Status::Pending);
    let changed = sqlx::query(
        "update snk_submissions set status = $2, decided_by = $3, decided_at = now() \
         where id = $1 and status = 'pending'",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(admin)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Erases the store's submissions older than `days`; returns how many.
pub async fn purge_older_than(conn: &mut PgConnection, days: u32) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "delete from snk_submissions where created_at < now() - make_interval(days => $1)",
    )
    .bind(i32::try_from(days).unwrap_or(i32::MAX))
    .execute(conn)
    .await?
    .rows_affected())
}

//! SNK (syarat dan ketentuan) submissions: what a customer sends to fulfil a product's terms
//! after delivery (a text, a screenshot, or both), reviewed by the store's admins.
//!
//! Submissions often hold account details or personal screenshots, so both the text and the
//! screenshot's Telegram file id are sealed at rest, bound to the store, order and product,
//! and erased after the store's retention period.

use serde_json::json;
use sqlx::PgConnection;

use crate::{
    crypto::Sealer,
    db::TenantId,
    secret::Secret,
    store::{
        audit::{self, Actor, Entry},
        error::{OpError, OpResult},
    },
};

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

/// A submission waiting for an admin's decision, as the review list shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PendingRow {
    pub id: i64,
    pub order_code: String,
    pub product: String,
    pub customer_id: i64,
    pub created_at: time::OffsetDateTime,
}

/// How many submissions wait for a decision.
pub async fn count_pending(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from snk_submissions where status = 'pending'")
        .fetch_one(conn)
        .await
}

const PENDING_ROWS: &str = "select s.id, o.code as order_code, coalesce(p.name, '?') as product, \
     s.customer_id, s.created_at \
     from snk_submissions s \
     join orders o on o.id = s.order_id \
     left join products p on p.id = s.product_id \
     where s.status = 'pending'";

/// A page of the pending submissions, oldest first.
pub async fn pending(
    conn: &mut PgConnection,
    offset: i64,
    limit: i64,
) -> sqlx::Result<Vec<PendingRow>> {
    sqlx::query_as(&format!("{PENDING_ROWS} order by s.id offset $1 limit $2"))
        .bind(offset)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// One pending submission's row, if it is still pending.
pub async fn pending_one(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<PendingRow>> {
    sqlx::query_as(&format!("{PENDING_ROWS} and s.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The longest note an admin may attach to a decision.
pub const NOTE_LIMIT: usize = 500;

/// A decision made: whom to tell, about what.
#[derive(Clone, Debug)]
pub struct Decided {
    pub customer_id: i64,
    pub order_code: String,
    pub product: String,
}

/// Records `actor`'s decision on a pending submission, once, with its audit row, in the
/// caller's transaction. A submission decided before (by another admin, or by a second press)
/// is a conflict and changes nothing.
pub async fn review(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: i64,
    status: Status,
    note: Option<&str>,
    actor: &Actor,
) -> OpResult<Decided> {
    debug_assert!(status != Status::Pending);
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if let Some(note) = note {
        if note.chars().count() > NOTE_LIMIT {
            return Err(OpError::invalid(
                "note",
                format!("must be at most {NOTE_LIMIT} characters"),
            ));
        }
        if note.contains('\0') {
            return Err(OpError::invalid("note", "must not contain NUL characters"));
        }
    }
    let decided: Option<(i64, i64, i64)> = sqlx::query_as(
        "update snk_submissions set status = $2, decided_by = $3, decided_at = now(), note = $4 \
         where id = $1 and status = 'pending' returning customer_id, order_id, product_id",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(match actor {
        Actor::Admin(admin) => Some(*admin),
        _ => None,
    })
    .bind(note)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((customer_id, order_id, product_id)) = decided else {
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from snk_submissions where id = $1)")
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
        return Err(if exists {
            OpError::conflict("already_decided", "this submission was already decided")
        } else {
            OpError::not_found("submission")
        });
    };
    audit::record(
        conn,
        tenant,
        Entry {
            actor,
            action: if status == Status::Approved {
                "snk.approve"
            } else {
                "snk.reject"
            },
            subject: &id.to_string(),
            before: json!({ "status": Status::Pending.as_str() }),
            after: match note {
                Some(note) => json!({ "status": status.as_str(), "note": note }),
                None => json!({ "status": status.as_str() }),
            },
        },
    )
    .await?;
    let (order_code, product): (String, Option<String>) = sqlx::query_as(
        "select o.code, (select name from products where id = $2) from orders o where o.id = $1",
    )
    .bind(order_id)
    .bind(product_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Decided {
        customer_id,
        order_code,
        product: product.unwrap_or_default(),
    })
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

/// Submissions with a value sealed under another key than `$1`.
const SEALED_WITH_OLDER_KEY: &str = "(coalesce(substring(text_sealed from 2 for 4) <> $1, false) \
     or coalesce(substring(photo_sealed from 2 for 4) <> $1, false))";

/// Re-seals, under the sealing key, up to `limit` submissions that still hold a value sealed
/// with an older key (key rotation); returns how many values it re-sealed. Like
/// [`crate::store::stock::reseal`], rows are written only if they still hold what was read.
pub async fn reseal(
    conn: &mut PgConnection,
    sealer: &Sealer,
    tenant: TenantId,
    limit: i64,
) -> anyhow::Result<u64> {
    type Sealed = (i64, i64, i64, Option<Vec<u8>>, Option<Vec<u8>>);
    let rows: Vec<Sealed> = sqlx::query_as(&format!(
        "select id, order_id, product_id, text_sealed, photo_sealed from snk_submissions \
         where {SEALED_WITH_OLDER_KEY} order by id limit $2"
    ))
    .bind(&sealer.current_key_id()[..])
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut resealed = 0;
    for (id, order_id, product_id, text, photo) in rows {
        let mut changed = 0;
        let mut reseal = |sealed: &Option<Vec<u8>>, field| -> anyhow::Result<Option<Vec<u8>>> {
            let Some(sealed) = sealed.as_deref().filter(|s| sealer.needs_reseal(s)) else {
                return Ok(sealed.clone());
            };
            let ctx = context(tenant, order_id, product_id, field);
            changed += 1;
            Ok(Some(sealer.seal(sealer.open(sealed, &ctx)?.expose(), &ctx)))
        };
        let (new_text, new_photo) = (reseal(&text, "text")?, reseal(&photo, "photo")?);
        let written = sqlx::query(
            "update snk_submissions set text_sealed = $2, photo_sealed = $3 \
             where id = $1 and text_sealed is not distinct from $4 \
             and photo_sealed is not distinct from $5",
        )
        .bind(id)
        .bind(new_text)
        .bind(new_photo)
        .bind(text)
        .bind(photo)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if written == 1 {
            resealed += changed;
        }
    }
    Ok(resealed)
}

/// How many submission values of the store are still sealed with an older key.
pub async fn sealed_with_older_key(conn: &mut PgConnection, sealer: &Sealer) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select coalesce(sum(coalesce((substring(text_sealed from 2 for 4) <> $1)::int, 0) \
             + coalesce((substring(photo_sealed from 2 for 4) <> $1)::int, 0)), 0)::bigint \
         from snk_submissions",
    )
    .bind(&sealer.current_key_id()[..])
    .fetch_one(conn)
    .await
}

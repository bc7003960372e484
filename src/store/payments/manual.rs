//! Marking an order paid by hand: the fallback when the gateway is down and the customer paid
//! the store some other way. The change is audited with who made it and the state before.

use serde_json::json;
use sqlx::PgConnection;

use crate::{
    db::TenantId,
    store::{
        audit::{self, Actor, Entry},
        fulfilment,
        orders::{self, Order, Status},
    },
};

/// What marking an order paid came to.
#[derive(Debug)]
pub enum Manual {
    /// Paid now; the outbox messages (goods, terms) to send after the commit.
    Paid {
        order: Order,
        outbox: Vec<i64>,
    },
    NotFound,
    /// Already paid: nothing changed.
    AlreadyPaid,
    /// The order had ended and its goods are gone: nothing changed.
    SoldOut,
}

/// Marks the order `code` paid by `actor`: an order awaiting payment is paid; one that expired
/// or was cancelled is paid if its goods can be reserved again. What follows a paid order goes
/// out through the outbox and the change is written to the audit log, in the caller's
/// transaction.
pub async fn mark_order_paid(
    conn: &mut PgConnection,
    tenant: TenantId,
    code: &str,
    actor: &Actor,
) -> sqlx::Result<Manual> {
    let id: Option<i64> = sqlx::query_scalar("select id from orders where code = $1")
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(order) = (match id {
        Some(id) => orders::lock(conn, id).await?,
        None => None,
    }) else {
        return Ok(Manual::NotFound);
    };
    let before = order.status;
    match before {
        Status::Paid | Status::Delivered => return Ok(Manual::AlreadyPaid),
        Status::AwaitingPayment => orders::mark_paid(conn, &order, "manual").await?,
        Status::Expired | Status::Cancelled => {
            if !orders::revive_paid(conn, &order, "manual").await? {
                return Ok(Manual::SoldOut);
            }
        }
    }
    let entry = Entry {
        actor,
        action: "order.mark_paid",
        subject: &order.code,
        before: json!({ "status": status_name(before) }),
        after: json!({ "status": "paid", "payment_method": "manual" }),
    };
    audit::record(conn, tenant, entry).await?;
    let ids = fulfilment::after_paid(conn, tenant, &order, None).await?;
    Ok(Manual::Paid {
        order: Order {
            status: Status::Paid,
            payment_method: Some("manual".into()),
            ..order
        },
        outbox: ids,
    })
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::AwaitingPayment => "awaiting_payment",
        Status::Paid => "paid",
        Status::Delivered => "delivered",
        Status::Cancelled => "cancelled",
        Status::Expired => "expired",
    }
}

//! Coupons as a store's admins manage them: create, list with uses, change, delete (a coupon
//! that was ever used is deactivated instead, so the orders that name it keep their meaning).

use serde::{Deserialize, Deserializer, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{COLUMNS, Coupon, CouponRow, Kind, normalise};
use crate::{
    db::TenantId,
    store::{
        audit::{self, Actor, Entry},
        catalog_doc::MAX_PRICE,
        error::{OpError, OpResult},
        fields::{some, yes},
    },
};

/// The most uses a coupon may allow.
pub const MAX_USES: i32 = 1_000_000;

/// A new coupon, or a coupon in a catalog document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCoupon {
    /// 3 to 32 characters of A-Z, 0-9, `_` and `-` (stored upper-case).
    pub code: String,
    pub kind: Kind,
    /// Percent (1 to 100) or rupiah.
    pub value: i64,
    /// Absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<i32>,
    /// The smallest subtotal it applies to, in rupiah.
    #[serde(default)]
    pub min_order: i64,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_from: Option<OffsetDateTime>,
    /// The first moment it no longer applies.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_until: Option<OffsetDateTime>,
    #[serde(default = "yes")]
    pub active: bool,
}

/// A change to a coupon: present fields change, absent ones stay; `null` clears a limit.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponPatch {
    pub kind: Option<Kind>,
    pub value: Option<i64>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<i32>)]
    pub max_uses: Option<Option<i32>>,
    pub min_order: Option<i64>,
    #[serde(default, deserialize_with = "some_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub valid_from: Option<Option<OffsetDateTime>>,
    #[serde(default, deserialize_with = "some_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub valid_until: Option<Option<OffsetDateTime>>,
    pub active: Option<bool>,
}

/// What deleting a coupon did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Removal {
    Deleted,
    /// Orders used it: it is kept, switched off.
    Deactivated,
}

fn some_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<OffsetDateTime>>, D::Error> {
    time::serde::rfc3339::option::deserialize(d).map(Some)
}

/// `^[A-Z0-9_-]{3,32}$` after normalising, the schema's check.
pub fn check_code(code: &str) -> OpResult<String> {
    let code = normalise(code);
    let ok = (3..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(code)
    } else {
        Err(OpError::invalid(
            "code",
            "must be 3 to 32 characters of A-Z, 0-9, _ and -",
        ))
    }
}

/// The rules every coupon obeys, checked on the coupon as it would be stored.
fn check(coupon: &Coupon) -> OpResult<()> {
    match coupon.kind {
        Kind::Percent if !(1..=100).contains(&coupon.value) => {
            return Err(OpError::invalid("value", "a percentage must be 1 to 100"));
        }
        Kind::Flat if !(1..=MAX_PRICE).contains(&coupon.value) => {
            return Err(OpError::invalid(
                "value",
                format!("an amount must be 1 to {MAX_PRICE} rupiah"),
            ));
        }
        _ => {}
    }
    if let Some(max) = coupon.max_uses
        && !(1..=MAX_USES).contains(&max)
    {
        return Err(OpError::invalid(
            "max_uses",
            format!("must be 1 to {MAX_USES}, or absent for unlimited"),
        ));
    }
    if !(0..=MAX_PRICE).contains(&coupon.min_order) {
        return Err(OpError::invalid(
            "min_order",
            format!("must be 0 to {MAX_PRICE} rupiah"),
        ));
    }
    if let (Some(from), Some(until)) = (coupon.valid_from, coupon.valid_until)
        && from >= until
    {
        return Err(OpError::invalid(
            "valid_until",
            "must be later than valid_from",
        ));
    }
    Ok(())
}

impl From<&Coupon> for NewCoupon {
    fn from(c: &Coupon) -> Self {
        NewCoupon {
            code: c.code.clone(),
            kind: c.kind,
            value: c.value,
            max_uses: c.max_uses,
            min_order: c.min_order,
            valid_from: c.valid_from,
            valid_until: c.valid_until,
            active: c.active,
        }
    }
}

impl NewCoupon {
    /// The coupon this would store, checked.
    pub fn to_coupon(&self) -> OpResult<Coupon> {
        let coupon = Coupon {
            code: check_code(&self.code)?,
            kind: self.kind,
            value: self.value,
            max_uses: self.max_uses,
            used_count: 0,
            min_order: self.min_order,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            active: self.active,
        };
        check(&coupon)?;
        Ok(coupon)
    }
}

impl CouponPatch {
    fn apply(self, coupon: &mut Coupon) {
        if let Some(kind) = self.kind {
            coupon.kind = kind;
        }
        if let Some(value) = self.value {
            coupon.value = value;
        }
        if let Some(max) = self.max_uses {
            coupon.max_uses = max;
        }
        if let Some(min) = self.min_order {
            coupon.min_order = min;
        }
        if let Some(from) = self.valid_from {
            coupon.valid_from = from;
        }
        if let Some(until) = self.valid_until {
            coupon.valid_until = until;
        }
        if let Some(active) = self.active {
            coupon.active = active;
        }
    }
}

async fn lock(conn: &mut PgConnection, code: &str) -> OpResult<Coupon> {
    let row: Option<CouponRow> = sqlx::query_as(&format!(
        "select {COLUMNS} from coupons where code = $1 for update"
    ))
    .bind(normalise(code))
    .fetch_optional(conn)
    .await?;
    row.map(Coupon::from).ok_or(OpError::not_found("coupon"))
}

/// Inserts a checked coupon; `false` when its code is taken. The import of a catalog
/// document reuses it (with `replace`) to make a coupon exactly the document's.
pub(crate) async fn insert(
    conn: &mut PgConnection,
    tenant: TenantId,
    c: &Coupon,
    replace: bool,
) -> sqlx::Result<bool> {
    // A replaced coupon keeps its uses; a limit below them is raised to them, since the
    // schema (rightly) refuses a coupon used more often than it allows.
    let on_conflict = if replace {
        "do update set kind = excluded.kind, value = excluded.value, \
         max_uses = case when excluded.max_uses is null then null \
                         else greatest(excluded.max_uses, coupons.used_count) end, \
         min_order = excluded.min_order, \
         valid_from = excluded.valid_from, valid_until = excluded.valid_until, active = excluded.active"
    } else {
        "do nothing"
    };
    let written = sqlx::query(&format!(
        "insert into coupons (tenant_id, code, kind, value, max_uses, min_order, valid_from, valid_until, active) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (tenant_id, code) {on_conflict}"
    ))
    .bind(tenant)
    .bind(&c.code)
    .bind(c.kind.as_str())
    .bind(c.value)
    .bind(c.max_uses)
    .bind(c.min_order)
    .bind(c.valid_from)
    .bind(c.valid_until)
    .bind(c.active)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(written == 1)
}

pub async fn create(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    new: &NewCoupon,
) -> OpResult<Coupon> {
    let coupon = new.to_coupon()?;
    if !insert(conn, tenant, &coupon, false).await? {
        return Err(OpError::conflict(
            "coupon_code_taken",
            format!("a coupon with code {} already exists", coupon.code),
        ));
    }
    let entry = Entry::change(actor, "coupon.create", &coupon.code, None, Some(&coupon));
    audit::record(conn, tenant, entry).await?;
    Ok(coupon)
}

/// A page of coupons by code, after the code `after`.
pub async fn list(
    conn: &mut PgConnection,
    after: Option<&str>,
    limit: i64,
) -> OpResult<Vec<Coupon>> {
    let rows: Vec<CouponRow> = sqlx::query_as(&format!(
        "select {COLUMNS} from coupons where ($1::text is null or code > $1) \
         order by code collate \"C\" limit $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Coupon::from).collect())
}

pub async fn update(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    code: &str,
    patch: CouponPatch,
) -> OpResult<Coupon> {
    let before = lock(conn, code).await?;
    let mut after = before.clone();
    patch.apply(&mut after);
    check(&after)?;
    if after.max_uses.is_some_and(|max| max < before.used_count) {
        return Err(OpError::invalid(
            "max_uses",
            format!(
                "must be at least the {} use(s) already taken",
                before.used_count
            ),
        ));
    }
    sqlx::query(
        "update coupons set kind = $2, value = $3, max_uses = $4, min_order = $5, \
         valid_from = $6, valid_until = $7, active = $8 where code = $1",
    )
    .bind(&after.code)
    .bind(after.kind.as_str())
    .bind(after.value)
    .bind(after.max_uses)
    .bind(after.min_order)
    .bind(after.valid_from)
    .bind(after.valid_until)
    .bind(after.active)
    .execute(&mut *conn)
    .await?;
    let entry = Entry::change(
        actor,
        "coupon.update",
        &after.code,
        Some(&before),
        Some(&after),
    );
    audit::record(conn, tenant, entry).await?;
    Ok(after)
}

/// Deletes a coupon no order ever used; one that was used is deactivated instead.
pub async fn delete(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    code: &str,
) -> OpResult<Removal> {
    let before = lock(conn, code).await?;
    let used: bool =
        sqlx::query_scalar("select exists (select 1 from orders where coupon_code = $1)")
            .bind(&before.code)
            .fetch_one(&mut *conn)
            .await?;
    let (removal, after) = if used || before.used_count > 0 {
        sqlx::query("update coupons set active = false where code = $1")
            .bind(&before.code)
            .execute(&mut *conn)
            .await?;
        let after = Coupon {
            active: false,
            ..before.clone()
        };
        (Removal::Deactivated, Some(after))
    } else {
        sqlx::query("delete from coupons where code = $1")
            .bind(&before.code)
            .execute(&mut *conn)
            .await?;
        (Removal::Deleted, None)
    };
    let action = match removal {
        Removal::Deleted => "coupon.delete",
        Removal::Deactivated => "coupon.deactivate",
    };
    let entry = Entry::change(actor, action, &before.code, Some(&before), after.as_ref());
    audit::record(conn, tenant, entry).await?;
    Ok(removal)
}

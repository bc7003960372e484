//! Coupons: the discount rules, and using one up exactly within its limit.
//!
//! - `admin.rs`: creating, listing, changing and deleting coupons, with audit.
//! - `line.rs`: the bot's one-line form, `KODE | 10% | 100`.

mod admin;
mod line;

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use utoipa::ToSchema;

pub(crate) use admin::insert;
pub use admin::{CouponPatch, NewCoupon, Removal, check_code, create, delete, list, update};
pub use line::parse_line;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A percentage of the subtotal, rounded down to whole rupiah.
    Percent,
    /// A fixed amount of rupiah, never more than the subtotal.
    Flat,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Coupon {
    /// Upper-case; customers type it in any case.
    pub code: String,
    pub kind: Kind,
    /// Percent (1 to 100) or rupiah.
    pub value: i64,
    /// Absent: unlimited.
    pub max_uses: Option<i32>,
    /// Uses taken by orders (an order cancelled or expired gives its use back).
    pub used_count: i32,
    /// The smallest subtotal it applies to, in rupiah.
    pub min_order: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub valid_from: Option<OffsetDateTime>,
    /// The first moment it no longer applies.
    #[serde(with = "time::serde::rfc3339::option")]
    pub valid_until: Option<OffsetDateTime>,
    pub active: bool,
}

/// Why a coupon does not apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CouponProblem {
    Unknown,
    NotYetValid,
    Expired,
    UsedUp,
    BelowMinimum { minimum: i64 },
}

impl Coupon {
    /// The discount this coupon gives on `subtotal` at `now`.
    pub fn discount(&self, subtotal: i64, now: OffsetDateTime) -> Result<i64, CouponProblem> {
        if !self.active {
            return Err(CouponProblem::Unknown);
        }
        if self.valid_from.is_some_and(|from| now < from) {
            return Err(CouponProblem::NotYetValid);
        }
        if self.valid_until.is_some_and(|until| now >= until) {
            return Err(CouponProblem::Expired);
        }
        if self.max_uses.is_some_and(|max| self.used_count >= max) {
            return Err(CouponProblem::UsedUp);
        }
        if subtotal < self.min_order {
            return Err(CouponProblem::BelowMinimum {
                minimum: self.min_order,
            });
        }
        Ok(match self.kind {
            Kind::Percent => subtotal * self.value.clamp(0, 100) / 100,
            Kind::Flat => self.value.min(subtotal),
        })
    }
}

/// Normalises what a customer typed into a coupon code.
pub fn normalise(code: &str) -> String {
    code.trim().to_uppercase()
}

#[derive(sqlx::FromRow)]
pub(crate) struct CouponRow {
    code: String,
    kind: String,
    value: i64,
    max_uses: Option<i32>,
    used_count: i32,
    min_order: i64,
    valid_from: Option<OffsetDateTime>,
    valid_until: Option<OffsetDateTime>,
    active: bool,
}

/// The columns of a [`CouponRow`].
const COLUMNS: &str =
    "code, kind, value, max_uses, used_count, min_order, valid_from, valid_until, active";

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Percent => "percent",
            Kind::Flat => "flat",
        }
    }
}

impl From<CouponRow> for Coupon {
    fn from(r: CouponRow) -> Self {
        Coupon {
            code: r.code,
            kind: if r.kind == "percent" {
                Kind::Percent
            } else {
                Kind::Flat
            },
            value: r.value,
            max_uses: r.max_uses,
            used_count: r.used_count,
            min_order: r.min_order,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            active: r.active,
        }
    }
}

pub async fn find(conn: &mut PgConnection, code: &str) -> sqlx::Result<Option<Coupon>> {
    let row: Option<CouponRow> =
        sqlx::query_as(&format!("select {COLUMNS} from coupons where code = $1"))
            .bind(normalise(code))
            .fetch_optional(conn)
            .await?;
    Ok(row.map(Coupon::from))
}

/// Takes one use of a coupon; `false` when its uses ran out meanwhile. The condition and the
/// table's check make the limit hold however many checkouts race for the last use.
pub async fn take_use(conn: &mut PgConnection, code: &str) -> sqlx::Result<bool> {
    let taken = sqlx::query(
        "update coupons set used_count = used_count + 1 \
         where code = $1 and active and (max_uses is null or used_count < max_uses)",
    )
    .bind(code)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(taken == 1)
}

/// Gives a use back when the order that took it is cancelled or expires.
pub async fn give_back(conn: &mut PgConnection, code: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update coupons set used_count = used_count - 1 where code = $1 and used_count > 0",
    )
    .bind(code)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::{Duration, macros::datetime};

    use super::*;

    fn coupon(kind: Kind, value: i64) -> Coupon {
        Coupon {
            code: "HEMAT".into(),
            kind,
            value,
            max_uses: None,
            used_count: 0,
            min_order: 0,
            valid_from: None,
            valid_until: None,
            active: true,
        }
    }

    const NOW: OffsetDateTime = datetime!(2026-11-24 10:00 UTC);

    #[test]
    fn percent_coupons_round_down_to_whole_rupiah() {
        assert_eq!(coupon(Kind::Percent, 10).discount(25_000, NOW), Ok(2_500));
        assert_eq!(coupon(Kind::Percent, 15).discount(9_999, NOW), Ok(1_499));
        assert_eq!(coupon(Kind::Percent, 100).discount(7_000, NOW), Ok(7_000));
    }

    #[test]
    fn flat_coupons_never_exceed_the_subtotal() {
        assert_eq!(coupon(Kind::Flat, 5_000).discount(20_000, NOW), Ok(5_000));
        assert_eq!(coupon(Kind::Flat, 50_000).discount(20_000, NOW), Ok(20_000));
    }

    #[test]
    fn expired_not_yet_valid_used_up_and_small_orders_are_refused() {
        let mut c = coupon(Kind::Flat, 1_000);
        c.valid_until = Some(NOW);
        assert_eq!(c.discount(10_000, NOW), Err(CouponProblem::Expired));
        c.valid_until = Some(NOW + Duration::hours(1));
        c.valid_from = Some(NOW + Duration::minutes(1));
        assert_eq!(c.discount(10_000, NOW), Err(CouponProblem::NotYetValid));
        c.valid_from = None;
        c.max_uses = Some(3);
        c.used_count = 3;
        assert_eq!(c.discount(10_000, NOW), Err(CouponProblem::UsedUp));
        c.used_count = 2;
        c.min_order = 50_000;
        assert_eq!(
            c.discount(10_000, NOW),
            Err(CouponProblem::BelowMinimum { minimum: 50_000 })
        );
        assert_eq!(c.discount(50_000, NOW), Ok(1_000));
        c.active = false;
        assert_eq!(c.discount(50_000, NOW), Err(CouponProblem::Unknown));
    }

    #[test]
    fn typed_codes_are_normalised() {
        assert_eq!(normalise("  hemat10 "), "HEMAT10");
    }
}

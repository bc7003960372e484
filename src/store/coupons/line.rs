//! The one-line coupon form admins type in the bot: `KODE | 10% | 100`, that is
//! code | percent or amount | max uses. The max uses may be left out (or `-`) for unlimited;
//! an amount may be typed as `5000`, `5.000` or `Rp 5.000`.

use super::{Kind, NewCoupon};
use crate::store::{
    error::{OpError, OpResult},
    money,
};

/// Reads one line into a new coupon (checked by [`NewCoupon::to_coupon`] when created).
pub fn parse_line(line: &str) -> OpResult<NewCoupon> {
    let parts: Vec<&str> = line.split('|').map(str::trim).collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(OpError::invalid(
            "line",
            "write it as CODE | 10% | 100 (code | percent or amount | max uses)",
        ));
    }
    let (kind, value) = match parts[1].strip_suffix('%') {
        Some(percent) => (
            Kind::Percent,
            percent.trim().parse::<i64>().map_err(|_| {
                OpError::invalid("value", "a percentage must be a whole number, e.g. 10%")
            })?,
        ),
        None => (
            Kind::Flat,
            money::parse(parts[1]).ok_or_else(|| {
                OpError::invalid(
                    "value",
                    "write a percentage such as 10% or an amount such as 5000",
                )
            })?,
        ),
    };
    let max_uses = match parts.get(2).copied() {
        None | Some("") | Some("-") => None,
        Some(uses) => Some(
            uses.parse::<i32>()
                .map_err(|_| OpError::invalid("max_uses", "must be a whole number, e.g. 100"))?,
        ),
    };
    let coupon = NewCoupon {
        code: parts[0].to_owned(),
        kind,
        value,
        max_uses,
        min_order: 0,
        valid_from: None,
        valid_until: None,
        active: true,
    };
    // The same rules as every other way of creating one, so the admin hears of a bad line now.
    coupon.to_coupon()?;
    Ok(coupon)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(line: &str) -> &'static str {
        match parse_line(line) {
            Err(OpError::Invalid { field, .. }) => field,
            other => panic!("{line:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn a_percent_coupon_with_a_use_limit() {
        let c = parse_line("hemat10 | 10% | 100").unwrap();
        assert_eq!(
            (c.code.as_str(), c.kind, c.value, c.max_uses),
            ("hemat10", Kind::Percent, 10, Some(100))
        );
        assert_eq!(c.to_coupon().unwrap().code, "HEMAT10");
    }

    #[test]
    fn a_flat_coupon_typed_the_indonesian_way_without_a_limit() {
        let c = parse_line("POTONG5K|Rp 5.000").unwrap();
        assert_eq!((c.kind, c.value, c.max_uses), (Kind::Flat, 5_000, None));
        let c = parse_line("POTONG5K | 5000 | -").unwrap();
        assert_eq!(c.max_uses, None);
    }

    #[test]
    fn bad_lines_name_what_is_wrong() {
        assert_eq!(field("HEMAT10"), "line");
        assert_eq!(field("A | B | C | D"), "line");
        assert_eq!(field("HEMAT10 | sepuluh | 5"), "value");
        assert_eq!(field("HEMAT10 | 10.5% | 5"), "value");
        assert_eq!(field("HEMAT10 | 150% | 5"), "value");
        assert_eq!(field("HEMAT10 | 0 | 5"), "value");
        assert_eq!(field("HEMAT10 | 10% | banyak"), "max_uses");
        assert_eq!(field("HEMAT10 | 10% | 0"), "max_uses");
        assert_eq!(field("X | 10% | 5"), "code");
        assert_eq!(field("ada spasi | 10%"), "code");
    }
}

//! Pakasir's fee table (`shared/reference/pakasir.md`, pricing page of May 2026), used to choose
//! the base amount of an invoice whose fee the store bears: the customer then pays the listed
//! price or just under it, never more.
//!
//! Pakasir's own answer (`fee`, `total_payment`) stays the record of every invoice; the table
//! only picks the base, and the invoice Pakasir returns is checked against the price afterwards.
//! Fractions of a rupiah are rounded up here, so whichever way Pakasir rounds, a total computed
//! from this table is never below Pakasir's.

use super::{Method, client::MIN_AMOUNT};

/// The QRIS amount up to which the fee is 0.7% + Rp310; above it, 1%.
const QRIS_LOW_TIER_MAX: i64 = 105_000;

/// Pakasir's fee for a transaction of base `amount` (rupiah, rounded up).
pub fn fee(method: Method, amount: i64) -> i64 {
    match method {
        Method::Qris if amount <= QRIS_LOW_TIER_MAX => ceil_div(amount * 7, 1000) + 310,
        Method::Qris => ceil_div(amount, 100),
        Method::SampoernaVa | Method::ArthaGrahaVa => 2_000,
        _ => 3_500,
    }
}

/// The largest base amount whose total (base plus [`fee`]) is at most `price`; `None` when even
/// the smallest invoice Pakasir accepts would cost more.
pub fn base_within(method: Method, price: i64) -> Option<i64> {
    let total = |base: i64| base + fee(method, base);
    if total(MIN_AMOUNT) > price {
        return None;
    }
    // The total rises with the base (the fee never falls by more than the base rises, even at
    // the QRIS tier boundary), so a binary search finds the largest base that fits.
    let (mut fits, mut too_much) = (MIN_AMOUNT, price + 1);
    while too_much - fits > 1 {
        let middle = fits + (too_much - fits) / 2;
        if total(middle) <= price {
            fits = middle;
        } else {
            too_much = middle;
        }
    }
    Some(fits)
}

fn ceil_div(numerator: i64, denominator: i64) -> i64 {
    (numerator + denominator - 1) / denominator
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fee_follows_the_table_and_its_documented_example() {
        assert_eq!(fee(Method::Qris, 99_000), 1_003);
        assert_eq!(fee(Method::Qris, 105_000), 1_045);
        assert_eq!(fee(Method::Qris, 200_000), 2_000);
        assert_eq!(fee(Method::BniVa, 50_000), 3_500);
        assert_eq!(fee(Method::SampoernaVa, 50_000), 2_000);
    }

    #[test]
    fn the_base_within_a_price_is_the_largest_whose_total_fits() {
        for price in (1_000..300_000)
            .step_by(997)
            .chain([25_000, 106_045, 106_052])
        {
            let base = base_within(Method::Qris, price).expect("a price above the minimum fits");
            let total = base + fee(Method::Qris, base);
            assert!(total <= price, "{price}: {base} + fee = {total}");
            let next = base + 1;
            assert!(
                next + fee(Method::Qris, next) > price,
                "{price}: {base} is not the largest"
            );
        }
        assert_eq!(base_within(Method::Qris, 25_000), Some(24_518));
    }

    #[test]
    fn a_price_below_the_smallest_invoice_has_no_base() {
        assert_eq!(base_within(Method::Qris, 500), None);
        assert_eq!(base_within(Method::Qris, 813), None);
        assert_eq!(base_within(Method::Qris, 814), Some(500));
    }
}

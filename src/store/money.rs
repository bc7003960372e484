//! Money: integer rupiah, shown the Indonesian way (`Rp 15.000`).

/// Formats rupiah with dots between thousands: `15000` → `Rp 15.000`.
pub fn rupiah(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    if amount < 0 {
        format!("-Rp {grouped}")
    } else {
        format!("Rp {grouped}")
    }
}

#[cfg(test)]
mod tests {
    use super::rupiah;

    #[test]
    fn thousands_are_grouped_with_dots() {
        assert_eq!(rupiah(0), "Rp 0");
        assert_eq!(rupiah(500), "Rp 500");
        assert_eq!(rupiah(15_000), "Rp 15.000");
        assert_eq!(rupiah(1_234_567), "Rp 1.234.567");
        assert_eq!(rupiah(-2_500), "-Rp 2.500");
    }
}

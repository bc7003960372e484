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

/// Reads an amount of rupiah as people type it: `25000`, `25.000`, `Rp 25.000`. `None` for
/// anything else (negative, fractional, letters, more than twelve digits).
pub fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text
        .strip_prefix("Rp")
        .or_else(|| text.strip_prefix("rp"))
        .unwrap_or(text);
    let digits: String = text.chars().filter(|c| !matches!(c, '.' | ' ')).collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 12 {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{parse, rupiah};

    #[test]
    fn amounts_are_read_as_people_type_them() {
        assert_eq!(parse("25000"), Some(25_000));
        assert_eq!(parse(" 25.000 "), Some(25_000));
        assert_eq!(parse("Rp 1.250.000"), Some(1_250_000));
        for bad in ["", "abc", "25k", "-5000", "1e5", "2,5", "9999999999999"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn thousands_are_grouped_with_dots() {
        assert_eq!(rupiah(0), "Rp 0");
        assert_eq!(rupiah(500), "Rp 500");
        assert_eq!(rupiah(15_000), "Rp 15.000");
        assert_eq!(rupiah(1_234_567), "Rp 1.234.567");
        assert_eq!(rupiah(-2_500), "-Rp 2.500");
    }
}

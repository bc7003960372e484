//! QRIS payloads: checking Pakasir's `payment_number` and rendering it as a PNG.
//!
//! A QRIS payload is an EMVCo tag-length-value string whose last field (tag `63`) is a
//! CRC-16/CCITT-FALSE over everything before it. A payload with a wrong CRC scans as garbage
//! or is refused by the customer's banking app, so the bot checks it before it renders
//! anything and the customer is never shown a QR code that cannot be paid.

use std::io::Cursor;

use image::{ImageFormat, Luma};
use qrcode::{EcLevel, QrCode};

/// The width the rendered QR code aims at: large enough to scan from a phone screen, small
/// enough to stay a light Telegram photo.
const TARGET_WIDTH: u32 = 700;

/// What a valid payload says about the payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrisInfo {
    /// Tag `54`, the amount to pay in rupiah (Pakasir's `total_payment`).
    pub amount: Option<i64>,
    /// Tag `53`, the ISO 4217 numeric currency code (`360` for IDR).
    pub currency: Option<String>,
    /// Tag `01` is `12`: a dynamic, single-use QR code.
    pub dynamic: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QrisError {
    #[error("malformed QRIS payload at character {at}: {reason}")]
    Malformed { at: usize, reason: &'static str },
    #[error("QRIS payload has no CRC field at its end")]
    MissingCrc,
    #[error("QRIS payload CRC is {found}, expected {expected:04X}")]
    WrongCrc { expected: u16, found: String },
    #[error("QRIS payload cannot be rendered: {0}")]
    Render(String),
}

/// CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR.
pub fn crc16_ccitt_false(data: &[u8]) -> u16 {
    data.iter().fold(0xFFFF_u16, |crc, &byte| {
        (0..8).fold(crc ^ (u16::from(byte) << 8), |crc, _| {
            if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            }
        })
    })
}

/// Checks the top-level TLV structure and the CRC, and extracts amount, currency and kind.
pub fn check(payload: &str) -> Result<QrisInfo, QrisError> {
    let fields = parse_fields(payload)?;
    let Some(&(crc_tag, crc_value, crc_at)) = fields.last() else {
        return Err(QrisError::MissingCrc);
    };
    if crc_tag != "63" || crc_value.len() != 4 {
        return Err(QrisError::MissingCrc);
    }
    // The CRC covers everything up to and including the CRC field's own tag and length.
    let expected = crc16_ccitt_false(&payload.as_bytes()[..crc_at]);
    if crc_value != format!("{expected:04X}") {
        return Err(QrisError::WrongCrc {
            expected,
            found: crc_value.to_owned(),
        });
    }
    let value_of = |tag: &str| fields.iter().find(|field| field.0 == tag);
    let amount = match value_of("54") {
        Some(&(_, value, at)) => Some(parse_amount(value, at)?),
        None => None,
    };
    Ok(QrisInfo {
        amount,
        currency: value_of("53").map(|field| field.1.to_owned()),
        dynamic: value_of("01").is_some_and(|field| field.1 == "12"),
    })
}

/// Splits the payload into `(tag, value, byte offset of the value)` at the top level.
///
/// EMVCo counts lengths in characters, so the walk is by characters; for the usual ASCII
/// payload that is the same as bytes.
fn parse_fields(payload: &str) -> Result<Vec<(&str, &str, usize)>, QrisError> {
    let mut fields = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() {
        let at = payload.len() - rest.len();
        let malformed = |reason| QrisError::Malformed { at, reason };
        let header = rest
            .get(..4)
            .filter(|h| h.bytes().all(|b| b.is_ascii_digit()));
        let header =
            header.ok_or_else(|| malformed("expected a 2-digit tag and 2-digit length"))?;
        let len: usize = header[2..].parse().map_err(|_| malformed("bad length"))?;
        let body = &rest[4..];
        // The offsets where characters start, and the end: the value ends at the `len`-th.
        let mut ends = body
            .char_indices()
            .map(|(index, _)| index)
            .chain([body.len()]);
        let end = ends
            .nth(len)
            .ok_or_else(|| malformed("value runs past the end"))?;
        fields.push((&header[..2], &body[..end], at + 4));
        rest = &body[end..];
    }
    Ok(fields)
}

/// Reads tag `54`: whole rupiah, optionally written with a zero decimal part (`100003.00`).
fn parse_amount(value: &str, at: usize) -> Result<i64, QrisError> {
    let malformed = |reason| QrisError::Malformed { at, reason };
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if !fraction.bytes().all(|b| b == b'0') {
        return Err(malformed("amount has a non-zero fractional part"));
    }
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("amount is not a number"));
    }
    whole
        .parse()
        .map_err(|_| malformed("amount is out of range"))
}

/// Builds a valid dynamic QRIS payload for `amount` rupiah, as a test Pakasir would send.
///
/// The merchant name is reduced to at most 25 ASCII letters, digits and spaces, as EMVCo
/// limits tag `59`. The account identifiers are made up and pay nobody.
pub fn build_test_payload(merchant: &str, amount: i64) -> String {
    let name: String = merchant
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .take(25)
        .collect();
    let name = if name.trim().is_empty() {
        "TOKOBOT TEST".to_owned()
    } else {
        name
    };
    let account = [
        tlv("00", "ID.CO.QRIS.WWW"),
        tlv("01", "936000000000000001"),
        tlv("02", "ID1000000000001"),
        tlv("03", "UMI"),
    ]
    .concat();
    let mut payload = [
        tlv("00", "01"),
        tlv("01", "12"),
        tlv("26", &account),
        tlv("52", "5999"),
        tlv("53", "360"),
        tlv("54", &amount.to_string()),
        tlv("58", "ID"),
        tlv("59", &name),
        tlv("60", "JAKARTA"),
        "6304".to_owned(),
    ]
    .concat();
    let crc = crc16_ccitt_false(payload.as_bytes());
    payload.push_str(&format!("{crc:04X}"));
    payload
}

fn tlv(tag: &str, value: &str) -> String {
    format!("{tag}{:02}{value}", value.chars().count())
}

/// Checks the payload and renders it byte for byte as a PNG QR code, error correction M,
/// with the standard 4-module quiet zone, about 700 px wide.
pub fn render_png(payload: &str) -> Result<Vec<u8>, QrisError> {
    check(payload)?;
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|err| QrisError::Render(err.to_string()))?;
    let modules = u32::try_from(code.width() + 8).unwrap_or(u32::MAX);
    // Rounding to the nearest whole module size keeps every QR version within 600–800 px.
    let scale = ((TARGET_WIDTH + modules / 2) / modules).max(1);
    let image = code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(scale, scale)
        .build();
    let mut png = Cursor::new(Vec::new());
    image
        .write_to(&mut png, ImageFormat::Png)
        .map_err(|err| QrisError::Render(err.to_string()))?;
    Ok(png.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_ccitt_false_check_value() {
        assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
        assert_eq!(crc16_ccitt_false(b""), 0xFFFF);
    }

    #[test]
    fn check_accepts_a_built_payload() {
        let payload = build_test_payload("Toko Maju", 100_003);
        let info = check(&payload).expect("a built payload is valid");
        assert_eq!(info.amount, Some(100_003));
        assert_eq!(info.currency.as_deref(), Some("360"));
        assert!(info.dynamic);
    }

    #[test]
    fn check_reads_a_decimal_amount() {
        let mut payload = "000201010212530336054091000.0000".to_owned() + "6304";
        payload += &format!("{:04X}", crc16_ccitt_false(payload.as_bytes()));
        assert_eq!(check(&payload).map(|info| info.amount), Ok(Some(1000)));
    }

    #[test]
    fn check_rejects_tampering_and_bad_structure() {
        let payload = build_test_payload("Toko Maju", 100_003);
        let tampered = payload.replace("100003", "000003");
        assert!(matches!(check(&tampered), Err(QrisError::WrongCrc { .. })));
        assert_eq!(
            check(&payload[..payload.len() - 8]),
            Err(QrisError::MissingCrc)
        );
        assert!(matches!(
            check(&payload[..payload.len() - 2]),
            Err(QrisError::Malformed { .. })
        ));
        assert!(matches!(
            check("00AB"),
            Err(QrisError::Malformed { at: 0, .. })
        ));
        assert_eq!(check(""), Err(QrisError::MissingCrc));
    }

    #[test]
    fn png_decodes_back_to_exactly_the_payload() {
        let payload = build_test_payload("Toko Maju Jaya", 100_003);
        let png = render_png(&payload).expect("renders");
        let image = image::load_from_memory_with_format(&png, ImageFormat::Png)
            .expect("is a PNG")
            .to_luma8();
        assert!(
            (600..=800).contains(&image.width()),
            "width {}",
            image.width()
        );
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().expect("decodes");
        assert_eq!(content, payload);
    }

    #[test]
    fn lengths_count_characters() {
        let mut payload = "0002015904Tökö6304".to_owned();
        payload += &format!("{:04X}", crc16_ccitt_false(payload.as_bytes()));
        assert!(check(&payload).is_ok());
    }

    #[test]
    fn render_refuses_a_payload_with_a_wrong_crc() {
        assert!(render_png("000201").is_err());
    }
}

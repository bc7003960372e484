//! Opaque list cursors: a page's last row id, wrapped so that callers pass it back unchanged
//! and never build one. The wrapping names the list, so a cursor of one list is refused by
//! another.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::error::ApiError;

/// The cursor after the row `id` of the list `kind`.
pub fn encode(kind: &str, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

/// The row id in a cursor of the list `kind`; a cursor that is not one is a bad query.
pub fn decode(kind: &str, cursor: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(kind)?.strip_prefix(':')?.parse().ok())
        .ok_or_else(|| ApiError::BadRequest {
            code: "invalid_query",
            message: "the cursor is not one this list gave out".into(),
        })
}

/// A page size from 1 to `maximum`, `default` when absent.
pub fn limit(requested: Option<i64>, default: i64, maximum: i64) -> Result<i64, ApiError> {
    let limit = requested.unwrap_or(default);
    if (1..=maximum).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::BadRequest {
            code: "invalid_query",
            message: format!("limit must be between 1 and {maximum}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_only_in_its_own_list() {
        let cursor = encode("orders", 42);
        assert_eq!(decode("orders", &cursor).unwrap(), 42);
        assert!(decode("customers", &cursor).is_err());
        assert!(decode("orders", "not-a-cursor").is_err());
        assert!(decode("orders", "%00").is_err());
    }
}

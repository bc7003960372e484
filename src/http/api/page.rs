//! Paginated lists: an opaque cursor and a `limit` (default 50, at most 200).
//!
//! A cursor is the key of the last row of a page (an id, a code), base64url-encoded so callers
//! treat it as opaque and the key's form can change without breaking them.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// One page of a list.
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The query of a list that takes nothing but its page.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// The limit asked for, checked.
pub fn limit(asked: Option<i64>) -> Result<i64, ApiError> {
    limit_within(asked, MAX_LIMIT)
}

/// The limit asked for, checked against a list's own maximum.
pub fn limit_within(asked: Option<i64>, max: i64) -> Result<i64, ApiError> {
    let limit = asked.unwrap_or(DEFAULT_LIMIT);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(bad_query(format!("limit must be between 1 and {max}")))
    }
}

/// A query parameter the handler refuses: every list and report words it the same way.
pub fn bad_query(message: String) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_query",
        message,
    }
}

/// The key a cursor carries.
pub fn decode(cursor: Option<&str>) -> Result<Option<String>, ApiError> {
    cursor
        .map(|c| {
            B64.decode(c)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| bad_query("cursor is not one this API gave out".into()))
        })
        .transpose()
}

/// A cursor after the row `id` of the list `kind`: naming the list, so that a cursor of one
/// list is refused by another (orders and customers page by different ids).
pub fn encode_for(kind: &str, id: i64) -> String {
    B64.encode(format!("{kind}:{id}"))
}

/// The row id in a cursor of the list `kind` made by [`encode_for`].
pub fn decode_for(kind: &str, cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    cursor
        .map(|cursor| {
            decode(Some(cursor))?
                .and_then(|key| key.strip_prefix(kind)?.strip_prefix(':')?.parse().ok())
                .ok_or_else(|| bad_query("the cursor is not one this list gave out".into()))
        })
        .transpose()
}

/// The id a cursor carries.
pub fn decode_id(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    decode(cursor)?
        .map(|key| {
            key.parse()
                .map_err(|_| bad_query("cursor is not one this API gave out".into()))
        })
        .transpose()
}

/// Builds a page from up to `limit + 1` rows: the extra row only says there is a next page.
pub fn page<T>(rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Page<T> {
    let (items, next_cursor) = split(rows, limit, |last| B64.encode(key(last)));
    Page { items, next_cursor }
}

/// Cuts up to `limit + 1` rows to `limit`, with the cursor `after` makes of the last row kept
/// when the extra row says there is a next page; for lists whose cursors are made otherwise
/// than by [`page`].
pub fn split<T>(
    mut rows: Vec<T>,
    limit: i64,
    after: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more.then(|| rows.last().map(&after)).flatten();
    (rows, next_cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_cursor_reads_back_only_in_its_own_list() {
        let cursor = encode_for("orders", 42);
        assert_eq!(decode_for("orders", Some(&cursor)).unwrap(), Some(42));
        assert!(decode_for("customers", Some(&cursor)).is_err());
        assert!(decode_for("orders", Some("not-a-cursor")).is_err());
        assert!(decode_for("orders", Some("%00")).is_err());
        assert_eq!(decode_for("orders", None).unwrap(), None);
    }

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let p = page(vec![1i64, 2, 3], 2, |n| n.to_string());
        assert_eq!(p.items, [1, 2]);
        let cursor = p.next_cursor.unwrap();
        assert_eq!(decode_id(Some(&cursor)).unwrap(), Some(2));
        assert!(decode_id(Some("!!")).is_err());
        assert!(page(vec![1i64], 2, |n| n.to_string()).next_cursor.is_none());
        assert!(limit(Some(0)).is_err() && limit(Some(201)).is_err());
        assert_eq!(limit(None).unwrap(), 50);
    }
}

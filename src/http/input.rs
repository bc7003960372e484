//! Text at the boundary: what every request body and query goes through before a handler.
//!
//! PostgreSQL cannot store the NUL character (U+0000) in text, so a NUL that reached a query
//! would fail it with a database error (and an answer of 500). It is refused here, once, for
//! every JSON body and query string of the API, naming the field; Telegram updates, which the
//! host cannot refuse without Telegram retrying them forever, have their NULs removed instead.
//!
//! JSON numbers such as `15239671.0` are integers to JSON Schema (and to the OpenAPI document)
//! but not to serde; [`normalize_integers`] makes them the integers they are.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

/// How NUL looks inside a JSON document (a raw NUL byte is not valid JSON at all).
const ESCAPED_NUL: &[u8] = b"\\u0000";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The path (`branding.description`, `products[2].name`) of the first string or key in
/// `value` that holds a NUL character.
pub fn first_nul(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &mut String) -> Option<String> {
        match value {
            Value::String(s) if s.contains('\0') => Some(path.clone()),
            Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                path.truncate(len);
                found
            }),
            Value::Object(map) => map.iter().find_map(|(key, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.replace('\0', "\\u0000"));
                let found = if key.contains('\0') {
                    Some(path.clone())
                } else {
                    walk(item, path)
                };
                path.truncate(len);
                found
            }),
            _ => None,
        }
    }
    walk(value, &mut String::new())
}

/// Whether a JSON body may hold a NUL anywhere (cheap: a byte search for its escape).
pub fn may_hold_nul(body: &[u8]) -> bool {
    contains(body, ESCAPED_NUL)
}

/// Turns numbers with no fractional part (`15239671.0`) into integers, everywhere in `value`.
pub fn normalize_integers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.007_199_254_740_992e15
            {
                *n = Number::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_integers),
        Value::Object(map) => map.values_mut().for_each(normalize_integers),
        _ => {}
    }
}

/// A Telegram update without NUL characters in any of its texts (the common case costs one
/// byte search and no copy).
pub fn strip_nul(body: &[u8]) -> Cow<'_, [u8]> {
    if !may_hold_nul(body) {
        return Cow::Borrowed(body);
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return Cow::Borrowed(body);
    };
    fn clean(value: &mut Value) {
        match value {
            Value::String(s) => s.retain(|c| c != '\0'),
            Value::Array(items) => items.iter_mut().for_each(clean),
            Value::Object(map) => {
                let cleaned: Map<String, Value> = std::mem::take(map)
                    .into_iter()
                    .map(|(key, mut item)| {
                        clean(&mut item);
                        (key.replace('\0', ""), item)
                    })
                    .collect();
                *map = cleaned;
            }
            _ => {}
        }
    }
    clean(&mut value);
    Cow::Owned(serde_json::to_vec(&value).unwrap_or_else(|_| body.to_vec()))
}

/// The name of the first query parameter whose name or value holds a NUL (`%00`).
pub fn nul_in_query(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let has_nul = |s: &str| s.to_ascii_lowercase().contains("%00") || s.contains('\0');
        (has_nul(name) || has_nul(value)).then(|| name.replace("%00", ""))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_first_nul_is_named_by_its_path() {
        let value = json!({"branding": {"description": "t\u{0}"}, "slug": "ok"});
        assert_eq!(first_nul(&value).as_deref(), Some("branding.description"));
        let value = json!({"products": [{"name": "a"}, {"name": "b\u{0}"}]});
        assert_eq!(first_nul(&value).as_deref(), Some("products[1].name"));
        assert_eq!(first_nul(&json!({"a": ["x", 1, null]})), None);
    }

    #[test]
    fn integral_floats_become_integers() {
        let mut value = json!({"price": 15239671.0, "ratio": 0.5, "list": [2.0]});
        normalize_integers(&mut value);
        assert_eq!(value, json!({"price": 15239671, "ratio": 0.5, "list": [2]}));
    }

    #[test]
    fn telegram_texts_lose_their_nuls_and_nothing_else() {
        let body = br#"{"message":{"text":"a\u0000b","date":1}}"#;
        let cleaned: Value = serde_json::from_slice(&strip_nul(body)).unwrap();
        assert_eq!(cleaned, json!({"message": {"text": "ab", "date": 1}}));
        let plain = br#"{"text":"ab"}"#;
        assert!(matches!(strip_nul(plain), Cow::Borrowed(_)));
    }

    #[test]
    fn a_nul_in_a_query_names_its_parameter() {
        assert_eq!(
            nul_in_query("limit=5&cursor=%00").as_deref(),
            Some("cursor")
        );
        assert_eq!(nul_in_query("limit=5"), None);
    }
}

//! The rules of a catalog document: those the schema's checks enforce and those that keep the
//! document itself coherent (unique names and codes, categories that exist, limits). Every
//! failure is reported at once, named by a JSON-path-like field such as `products[2].price`.

use std::collections::{HashMap, HashSet};

use super::{CatalogDocument, CategoryEntry, ProductEntry, READABLE};
use crate::{
    store::{error::OpError, templates},
    tenants::model::FieldErrors,
};

/// At most this many categories: more would not fit a Telegram menu anyway.
pub const MAX_CATEGORIES: usize = 500;
/// At most this many products in one store.
pub const MAX_PRODUCTS: usize = 5_000;
/// At most this many stock lines in one document, across all products, so one import stays
/// one reasonable transaction.
pub const MAX_STOCK_LINES: usize = 100_000;
/// The largest price, in rupiah (the schema's check).
pub const MAX_PRICE: i64 = 1_000_000_000;

/// Checks a whole document; `Err` lists every bad field.
pub fn validate(doc: &CatalogDocument) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    if !READABLE.contains(&doc.version) {
        errors.push("version", "must be 2 (or 1 for an older document)");
    }
    validate_categories(&doc.categories, &mut errors);
    validate_products(doc, &mut errors);
    validate_templates(doc, &mut errors);
    validate_coupons(doc, &mut errors);
    if let Some(settings) = &doc.settings {
        if doc.version < 2 {
            errors.push("settings", "needs version 2 of the document");
        }
        settings.validate(&mut errors);
    }
    errors.into_result()
}

/// Each coupon obeys the rules of creating one (`store::coupons`), and codes are unique as
/// stored (upper-case).
fn validate_coupons(doc: &CatalogDocument, errors: &mut FieldErrors) {
    if doc.version < 2 && !doc.coupons.is_empty() {
        errors.push("coupons", "needs version 2 of the document");
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, coupon) in doc.coupons.iter().enumerate() {
        match coupon.to_coupon() {
            Ok(checked) => {
                if let Some(first) = seen.insert(checked.code, i) {
                    errors.push(
                        &format!("coupons[{i}].code"),
                        format!("repeats the code of coupons[{first}]"),
                    );
                }
            }
            Err(OpError::Invalid { field, message }) => {
                errors.push(&format!("coupons[{i}].{field}"), message);
            }
            Err(other) => errors.push(&format!("coupons[{i}]"), other.to_string()),
        }
    }
}

fn validate_categories(categories: &[CategoryEntry], errors: &mut FieldErrors) {
    if categories.len() > MAX_CATEGORIES {
        errors.push(
            "categories",
            format!("must list at most {MAX_CATEGORIES} categories"),
        );
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, category) in categories.iter().enumerate() {
        let field = format!("categories[{i}].name");
        text(&field, &category.name, 64, errors);
        if let Some(first) = seen.insert(&category.name, i) {
            errors.push(&field, format!("repeats the name of categories[{first}]"));
        }
        if let Some(emoji) = category.emoji()
            && emoji.chars().count() > 16
        {
            errors.push(
                &format!("categories[{i}].emoji"),
                "must be at most 16 characters",
            );
        }
    }
}

fn validate_products(doc: &CatalogDocument, errors: &mut FieldErrors) {
    if doc.products.len() > MAX_PRODUCTS {
        errors.push(
            "products",
            format!("must list at most {MAX_PRODUCTS} products"),
        );
    }
    let stock_lines: usize = doc.products.iter().map(|p| p.stock.len()).sum();
    if stock_lines > MAX_STOCK_LINES {
        errors.push(
            "products",
            format!("must hold at most {MAX_STOCK_LINES} stock lines in all"),
        );
    }
    let categories: HashSet<&str> = doc.categories.iter().map(|c| c.name.as_str()).collect();
    let mut codes: HashMap<&str, usize> = HashMap::new();
    for (i, product) in doc.products.iter().enumerate() {
        if let Some(first) = codes.insert(&product.code, i) {
            errors.push(
                &format!("products[{i}].code"),
                format!("repeats the code of products[{first}]"),
            );
        }
        validate_product(i, product, &categories, errors);
    }
}

fn validate_product(
    i: usize,
    product: &ProductEntry,
    categories: &HashSet<&str>,
    errors: &mut FieldErrors,
) {
    let field = |name: &str| format!("products[{i}].{name}");
    if !is_code(&product.code) {
        errors.push(
            &field("code"),
            "must be 1 to 32 characters of A-Z, a-z, 0-9, _ and -",
        );
    }
    text(&field("name"), &product.name, 100, errors);
    if product.description.chars().count() > 2000 {
        errors.push(&field("description"), "must be at most 2000 characters");
    }
    if !(1..=MAX_PRICE).contains(&product.price) {
        errors.push(
            &field("price"),
            format!("must be between 1 and {MAX_PRICE} rupiah"),
        );
    }
    if let Some(category) = product.category()
        && !categories.contains(category)
    {
        errors.push(
            &field("category"),
            "must be the name of a category in this document",
        );
    }
    if let Some(snk) = product.snk()
        && snk.chars().count() > 4000
    {
        errors.push(&field("snk"), "must be at most 4000 characters");
    }
    validate_stock(i, &product.stock, errors);
}

/// Stock lines are compared trimmed, as they are stored.
fn validate_stock(i: usize, stock: &[String], errors: &mut FieldErrors) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (j, line) in stock.iter().enumerate() {
        let field = format!("products[{i}].stock[{j}]");
        let line = line.trim();
        if line.is_empty() {
            errors.push(&field, "must not be empty");
        } else if line.contains(['\n', '\r']) {
            errors.push(&field, "must be one line");
        } else if line.chars().count() > 4000 {
            errors.push(&field, "must be at most 4000 characters");
        } else if let Some(first) = seen.insert(line, j) {
            errors.push(
                &field,
                format!("repeats products[{i}].stock[{first}]; every item must be unique"),
            );
        }
    }
}

fn validate_templates(doc: &CatalogDocument, errors: &mut FieldErrors) {
    // The same rule as the bot's template editor: names, length, placeholders.
    for (name, body) in &doc.templates {
        if let Err(error) = templates::check(name, body) {
            let message = match error {
                OpError::Invalid { message, .. } => message,
                other => other.to_string(),
            };
            errors.push(&format!("templates.{name}"), message);
        }
    }
}

/// A required text: not blank (a blank name or message cannot be shown in Telegram) and at
/// most `max` characters, counted as PostgreSQL's `length` counts them.
fn text(field: &str, value: &str, max: usize, errors: &mut FieldErrors) {
    if value.trim().is_empty() {
        errors.push(field, "must not be empty");
    } else if value.chars().count() > max {
        errors.push(field, format!("must be at most {max} characters"));
    }
}

/// `^[A-Za-z0-9_-]{1,32}$`, the schema's check on product codes.
fn is_code(code: &str) -> bool {
    (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(value: serde_json::Value) -> CatalogDocument {
        serde_json::from_value(value).expect("a well-formed document")
    }

    fn bad_fields(value: serde_json::Value) -> Vec<String> {
        match validate(&doc(value)) {
            Ok(()) => Vec::new(),
            Err(errors) => errors.0.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn a_sound_document_passes() {
        let fields = bad_fields(serde_json::json!({
            "version": 1,
            "categories": [{"name": "Akun Premium", "emoji": "👑"}],
            "products": [{"code": "NFX-1B", "name": "Netflix", "price": 25000,
                          "category": "Akun Premium", "stock": ["a:b", " c:d "]}],
            "templates": {"info": "Buka 24 jam"}
        }));
        assert!(fields.is_empty(), "{fields:?}");
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let fields = bad_fields(serde_json::json!({
            "version": 3,
            "categories": [{"name": "A"}, {"name": "A"}, {"name": " "}],
            "products": [
                {"code": "ok", "name": "x", "price": 0, "category": "B"},
                {"code": "ok", "name": "", "price": 1, "stock": ["a", "", "a ", "x\ny"]},
                {"code": "no spaces", "name": "y", "price": 1_000_000_001, "snk": "s".repeat(4001)}
            ],
            "templates": {"nope": "x", "info": " "}
        }));
        assert_eq!(
            fields,
            [
                "version",
                "categories[1].name",
                "categories[2].name",
                "products[0].price",
                "products[0].category",
                "products[1].code",
                "products[1].name",
                "products[1].stock[1]",
                "products[1].stock[2]",
                "products[1].stock[3]",
                "products[2].code",
                "products[2].price",
                "products[2].snk",
                "templates.info",
                "templates.nope",
            ]
        );
    }

    #[test]
    fn coupons_and_settings_need_version_2_and_obey_their_rules() {
        let v1 = bad_fields(serde_json::json!({
            "version": 1,
            "coupons": [{"code": "HEMAT", "kind": "flat", "value": 1000}],
            "settings": {"invoice_ttl_minutes": 15}
        }));
        assert_eq!(v1, ["coupons", "settings"]);
        let v2 = bad_fields(serde_json::json!({
            "version": 2,
            "coupons": [
                {"code": "hemat", "kind": "percent", "value": 10},
                {"code": "HEMAT", "kind": "flat", "value": 1000},
                {"code": "LEBIH", "kind": "percent", "value": 120}
            ],
            "settings": {"invoice_ttl_minutes": 1}
        }));
        assert_eq!(
            v2,
            [
                "coupons[1].code",
                "coupons[2].value",
                "settings.invoice_ttl_minutes"
            ]
        );
    }

    #[test]
    fn empty_optional_texts_mean_absent() {
        let fields = bad_fields(serde_json::json!({
            "version": 1,
            "products": [{"code": "A", "name": "a", "price": 1, "category": "", "snk": ""}]
        }));
        assert!(fields.is_empty(), "{fields:?}");
    }
}

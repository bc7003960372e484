//! The catalog document: a store's whole configuration (categories, products with their
//! available stock and SNK texts, message templates and, since version 2, coupons and the
//! store's settings) as one JSON document.
//!
//! The provisioning API's `GET/PUT .../catalog` and the admin menu's backup and restore speak
//! it. Import replaces the store's catalog with the document, all or nothing; export writes
//! the catalog back out. Export is canonical (categories by sort then name, products by sort
//! then code, templates by name, coupons by code, absent optional fields left out), so
//! exporting what was just imported gives the same document back when that document was
//! canonical itself. Export always writes version 2; version 1 documents (no coupons, no
//! settings) still import, and leave the store's coupons and settings as they are.
//!
//! - `validate.rs`: every rule a document must obey, all failures reported at once.
//! - `import.rs`: the document into the database, inside the caller's tenant transaction.
//! - `export.rs`: the database into a document.

mod export;
mod import;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use export::export;
pub use import::{ImportError, ImportSummary, import};
pub use validate::{MAX_PRICE, validate};

use crate::{
    store::{coupons::NewCoupon, fields::yes},
    tenants::model::Settings,
};

/// The version export writes: 2 added coupons and settings.
pub const VERSION: u32 = 2;
/// The versions import reads, so backups made before a format change stay readable.
pub const READABLE: [u32; 2] = [1, 2];

/// A store's whole catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogDocument {
    /// The format version: 2 (1 is still read).
    pub version: u32,
    #[serde(default)]
    pub categories: Vec<CategoryEntry>,
    #[serde(default)]
    pub products: Vec<ProductEntry>,
    /// Message templates by name (`info`, `how_to_order`, `welcome`, `payment_received`,
    /// `goods_delivered`, `invoice_expired`); names left out have no template.
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
    /// Version 2: the store's coupons; a coupon left out is deleted, or deactivated when
    /// orders used it. How often each was used is the store's history and stays.
    #[serde(default)]
    pub coupons: Vec<NewCoupon>,
    /// Version 2: the store's settings; absent leaves them as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
}

/// A category; products name it by `name`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryEntry {
    /// Unique in the store; it is the category's identity in the document.
    pub name: String,
    /// Shown before the name on the category button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    /// Categories are listed by sort, then name.
    #[serde(default)]
    pub sort: i32,
    /// An inactive category is hidden from customers but kept.
    #[serde(default = "yes")]
    pub active: bool,
}

/// A product, its available stock and its terms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductEntry {
    /// The owner's product code, unique in the store; imports match products by it, so a
    /// product keeps its id (and its order history) across imports.
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Integer rupiah.
    pub price: i64,
    /// The `name` of one of the document's categories; absent for an uncategorised product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// An inactive product is hidden from customers but kept.
    #[serde(default = "yes")]
    pub active: bool,
    /// Products are listed by sort, then code.
    #[serde(default)]
    pub sort: i32,
    /// Syarat dan ketentuan (terms) sent to the buyer after delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snk: Option<String>,
    /// The available items, one line each, in plain text (sealed at rest). Reserved and sold
    /// items are history and are neither exported nor replaced.
    #[serde(default)]
    pub stock: Vec<String>,
}

/// An optional text where an empty string means absent, so `"emoji": ""` and no emoji at all
/// store the same thing.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

impl CategoryEntry {
    pub fn emoji(&self) -> Option<&str> {
        present(&self.emoji)
    }
}

impl ProductEntry {
    pub fn category(&self) -> Option<&str> {
        present(&self.category)
    }

    pub fn snk(&self) -> Option<&str> {
        present(&self.snk)
    }

    /// The stock lines as they are stored: trimmed, so a stray space never makes a second copy
    /// of the same item.
    pub fn stock_lines(&self) -> Vec<String> {
        self.stock.iter().map(|l| l.trim().to_owned()).collect()
    }
}

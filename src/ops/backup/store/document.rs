//! The store document: one store's data as a portable JSON document, the plain text inside a
//! store backup file.
//!
//! Its configuration is the catalog document (version 2: categories, products with their
//! available stock, templates, coupons, settings), so a store backup and the admin menu's
//! catalog backup never disagree on what a catalog is. Around it the store document carries
//! what the catalog leaves out: the store's profile, the archived products that old orders
//! still name, and the history (customers, balances and their ledger, orders with their lines,
//! the goods each order holds, payments). History rows are kept as the database writes them,
//! each keyed by its old id, so the restore can give them new ids and point every reference at
//! the new rows. Goods and secrets are in plain text here: the document only ever exists
//! inside the encrypted backup file.

use std::collections::BTreeMap;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::{
    db,
    store::catalog_doc::{CatalogDocument, ProductEntry},
    tenants::model::{Branding, Locale, Profile, Settings, TenantStatus},
};

/// What the first field of every store document says, so that a store backup is never taken
/// for a whole-host dump and the other way round.
pub const FORMAT: &str = "tokobot-store";
/// The document version this tokobot writes; it reads every version from 1 up to this one.
/// Version 2 added `schema`.
pub const VERSION: u32 = 2;

/// One store, whole.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreDocument {
    /// Always [`FORMAT`].
    pub format: String,
    pub version: u32,
    /// The database schema the store was read under: the version of its newest migration.
    /// History rows are kept as that schema wrote them, so a tokobot that does not know the
    /// schema refuses the document rather than drop what it cannot place. Absent in version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<i64>,
    /// The slug the store had when it was backed up.
    pub slug: String,
    #[serde(with = "time::serde::rfc3339")]
    pub taken_at: OffsetDateTime,
    pub status: TenantStatus,
    pub profile: StoreProfile,
    /// The bot's id and username as getMe last reported them.
    pub bot: Option<(i64, String)>,
    /// The store's secrets, only when the backup was asked to carry them.
    pub secrets: Option<StoreSecrets>,
    pub catalog: CatalogDocument,
    /// Products out of the catalog that orders still name (their stock field is empty).
    pub archived_products: Vec<ProductEntry>,
    /// How many items of each product were sold, by product code.
    pub sold_counts: BTreeMap<String, i64>,
    /// How often each coupon was used, by coupon code.
    pub coupon_uses: BTreeMap<String, i32>,
    /// Product codes by the product ids the history rows name.
    pub product_codes: BTreeMap<i64, String>,
    pub history: History,
}

/// The profile of [`Profile`], in a form that reads back.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreProfile {
    pub display_name: String,
    pub branding: Branding,
    pub settings: Settings,
    pub locale: Locale,
    pub timezone: String,
    pub owner_telegram_id: i64,
    pub admin_telegram_ids: Vec<i64>,
}

impl From<Profile> for StoreProfile {
    fn from(p: Profile) -> Self {
        Self {
            display_name: p.display_name,
            branding: p.branding,
            settings: p.settings,
            locale: p.locale,
            timezone: p.timezone,
            owner_telegram_id: p.owner_telegram_id,
            admin_telegram_ids: p.admin_telegram_ids,
        }
    }
}

impl From<StoreProfile> for Profile {
    fn from(p: StoreProfile) -> Self {
        Self {
            display_name: p.display_name,
            branding: p.branding,
            settings: p.settings,
            locale: p.locale,
            timezone: p.timezone,
            owner_telegram_id: p.owner_telegram_id,
            admin_telegram_ids: p.admin_telegram_ids,
        }
    }
}

/// The bot token and the Pakasir keys. The webhook secret is not carried: a restored store
/// gets a fresh one when its webhook is registered again.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSecrets {
    pub bot_token: String,
    pub pakasir_project: String,
    pub pakasir_api_key: String,
}

impl std::fmt::Debug for StoreSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreSecrets(..)")
    }
}

/// The store's history, table by table, rows as JSON objects without their `tenant_id`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    pub customers: Vec<Value>,
    pub balances: Vec<Value>,
    pub balance_ledger: Vec<Value>,
    pub orders: Vec<Value>,
    pub order_items: Vec<Value>,
    pub payments: Vec<Value>,
    /// Items reserved or sold, opened: available ones are in the catalog.
    pub held_stock: Vec<HeldItem>,
}

/// A stock item that belongs to an order.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldItem {
    pub product_id: i64,
    pub order_id: i64,
    pub content: String,
    pub status: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reserved_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sold_at: Option<OffsetDateTime>,
}

impl StoreDocument {
    /// Reads a document, naming what kind of file it is when it is not one, and refusing one
    /// written by a newer tokobot (a newer document version or database schema) before
    /// anything is restored from it.
    pub fn parse(plain: &[u8]) -> anyhow::Result<Self> {
        #[derive(Deserialize)]
        struct Kind {
            format: Option<String>,
            version: Option<u32>,
            schema: Option<i64>,
        }
        let kind: Kind = serde_json::from_slice(plain).map_err(|_| {
            anyhow::anyhow!(
                "this is a backup of a whole host, not of one store: restore it without --tenant"
            )
        })?;
        if kind.format.as_deref() != Some(FORMAT) {
            anyhow::bail!("this backup holds no store document");
        }
        match kind.version {
            Some(version) if (1..=VERSION).contains(&version) => {}
            Some(version) if version > VERSION => anyhow::bail!(
                "this store backup was written by a newer tokobot (document version {version}; \
                 this one reads up to {VERSION}): restore it with that tokobot or a newer one; \
                 nothing was changed"
            ),
            other => anyhow::bail!(
                "this store backup has document version {other:?}, which this tokobot cannot read"
            ),
        }
        let known = db::newest_schema();
        if let Some(schema) = kind.schema.filter(|schema| *schema > known) {
            anyhow::bail!(
                "this store backup was taken under a newer database schema ({schema}) than this \
                 tokobot knows ({known}): restore it with the tokobot that took it or a newer \
                 one; nothing was changed"
            );
        }
        serde_json::from_slice(plain).context("the store document is damaged")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{FORMAT, StoreDocument, VERSION};
    use crate::db;

    fn refusal(doc: serde_json::Value) -> String {
        format!(
            "{:#}",
            StoreDocument::parse(doc.to_string().as_bytes()).unwrap_err()
        )
    }

    #[test]
    fn a_document_of_a_newer_version_or_schema_is_refused_before_it_is_read() {
        let newer = refusal(json!({"format": FORMAT, "version": VERSION + 1}));
        assert!(
            newer.contains("newer tokobot") && newer.contains("nothing was changed"),
            "{newer}"
        );
        let schema = db::newest_schema() + 1;
        let newer = refusal(json!({"format": FORMAT, "version": VERSION, "schema": schema}));
        assert!(
            newer.contains(&format!("newer database schema ({schema})")),
            "{newer}"
        );
        // The schema this binary knows is read on: the document fails later, on its content.
        let known =
            refusal(json!({"format": FORMAT, "version": VERSION, "schema": db::newest_schema()}));
        assert!(known.contains("damaged"), "{known}");
        let dump = format!(
            "{:#}",
            StoreDocument::parse(b"PGDMP\x01\x0e\x00").unwrap_err()
        );
        assert!(dump.contains("whole host"), "{dump}");
    }
}

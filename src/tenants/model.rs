//! What a store is: its profile, branding, settings and the rules its fields obey.
//!
//! Validation lives here, next to the types, so the API, the tenants file and the admin menu
//! all refuse the same bad input with the same messages.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::{db::TenantId, secret::Secret};

/// The language of the bot's texts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// Bahasa Indonesia, the default.
    #[default]
    Id,
    En,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Id => "id",
            Locale::En => "en",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "id" => Some(Locale::Id),
            "en" => Some(Locale::En),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    /// The bot runs and answers customers.
    Active,
    /// Stopped by an operator; data and configuration are kept.
    Suspended,
    /// Soft-deleted: the bot is stopped and the slug stays taken while the data is kept.
    Deleted,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
            TenantStatus::Deleted => "deleted",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(TenantStatus::Active),
            "suspended" => Some(TenantStatus::Suspended),
            "deleted" => Some(TenantStatus::Deleted),
            _ => None,
        }
    }
}

/// How a store presents itself in its bot. Every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Branding {
    /// Shown under the store's name in the `/start` welcome.
    #[schema(max_length = 1000)]
    pub welcome_text: Option<String>,
    /// A short description of what the store sells.
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// One emoji shown before the store's name.
    #[schema(max_length = 16)]
    pub emoji: Option<String>,
    /// A closing line under the welcome.
    #[schema(max_length = 500)]
    pub footer: Option<String>,
    /// Who customers contact for help, for example `@tokobudi_cs`.
    #[schema(max_length = 100)]
    pub support_contact: Option<String>,
    /// A Telegram file id of the store's logo.
    #[schema(max_length = 200)]
    pub logo_file_id: Option<String>,
}

impl Branding {
    /// Applies a patch: fields present in `patch` replace ours, and an empty string clears one.
    pub fn merge(&mut self, patch: Branding) {
        fn apply(slot: &mut Option<String>, value: Option<String>) {
            if let Some(v) = value {
                *slot = if v.trim().is_empty() { None } else { Some(v) };
            }
        }
        apply(&mut self.welcome_text, patch.welcome_text);
        apply(&mut self.description, patch.description);
        apply(&mut self.emoji, patch.emoji);
        apply(&mut self.footer, patch.footer);
        apply(&mut self.support_contact, patch.support_contact);
        apply(&mut self.logo_file_id, patch.logo_file_id);
    }

    fn validate(&self, errors: &mut FieldErrors) {
        let limits = [
            ("branding.welcome_text", &self.welcome_text, 1000),
            ("branding.description", &self.description, 1000),
            ("branding.emoji", &self.emoji, 16),
            ("branding.footer", &self.footer, 500),
            ("branding.support_contact", &self.support_contact, 100),
            ("branding.logo_file_id", &self.logo_file_id, 200),
        ];
        for (field, value, max) in limits {
            if let Some(v) = value
                && v.chars().count() > max
            {
                errors.push(field, format!("must be at most {max} characters"));
            }
        }
    }
}

/// Who pays Pakasir's fee for a QRIS payment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FeePayer {
    /// The customer pays the base amount plus the fee (the Pakasir default).
    #[default]
    Customer,
    /// The store absorbs the fee.
    Store,
}

/// Operational settings of a store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Minutes an unpaid invoice and its reserved stock are held (Pakasir's own expiry wins when earlier).
    #[schema(minimum = 5, maximum = 1440)]
    pub invoice_ttl_minutes: u32,
    /// Admins are told when a product's available stock falls to this number.
    #[schema(maximum = 100000)]
    pub low_stock_threshold: u32,
    pub fee_payer: FeePayer,
    /// The smallest balance top-up, in rupiah.
    #[schema(minimum = 1000, maximum = 100000000)]
    pub deposit_minimum: i64,
    /// Days an SNK submission (a customer's text or screenshot) is kept before it is erased.
    #[schema(minimum = 1, maximum = 3650)]
    pub snk_retention_days: u32,
    /// Which notices the owner (and the admins) receive.
    pub notifications: Notifications,
    /// Broadcast messages sent per second at most. Telegram lets a bot send about 30 a
    /// second; the rest is kept for the bot's replies to customers.
    #[schema(minimum = 1, maximum = 25)]
    pub broadcast_per_second: u32,
    /// Deliver goods with Telegram's `protect_content`, so the customer cannot forward or save
    /// the messages (accounts and licence keys then stay in the buyer's chat).
    pub protect_content: bool,
    /// Orders one customer may leave unpaid at once; a further checkout is refused until they
    /// pay or cancel one. Each unpaid order holds its stock, so this keeps one customer from
    /// reserving the shelf.
    #[schema(minimum = 1, maximum = 20)]
    pub max_unpaid_orders: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            invoice_ttl_minutes: 15,
            low_stock_threshold: 5,
            fee_payer: FeePayer::Customer,
            deposit_minimum: 10_000,
            snk_retention_days: 30,
            notifications: Notifications::default(),
            broadcast_per_second: 25,
            protect_content: false,
            max_unpaid_orders: 3,
        }
    }
}

/// The owner's notification switches, all on by default. Stored settings written before the
/// switches existed parse with every switch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Notifications {
    /// A new paid order, to the owner and the admins (code, items, total).
    pub new_order: bool,
    /// A product's available stock fell to the low-stock threshold (once per crossing).
    pub low_stock: bool,
    /// A customer sent something for a product's terms (SNK), forwarded for review.
    pub snk_submission: bool,
    /// The payment gateway failed several times in a row.
    pub gateway_failure: bool,
}

impl Default for Notifications {
    fn default() -> Self {
        Self {
            new_order: true,
            low_stock: true,
            snk_submission: true,
            gateway_failure: true,
        }
    }
}

/// One notification switch, named the way the bot's settings screen and the audit log name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Notification {
    NewOrder,
    LowStock,
    SnkSubmission,
    GatewayFailure,
}

impl Notification {
    pub const ALL: [Notification; 4] = [
        Notification::NewOrder,
        Notification::LowStock,
        Notification::SnkSubmission,
        Notification::GatewayFailure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Notification::NewOrder => "new_order",
            Notification::LowStock => "low_stock",
            Notification::SnkSubmission => "snk_submission",
            Notification::GatewayFailure => "gateway_failure",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.as_str() == value)
    }
}

impl Notifications {
    /// Whether the owner receives `which`.
    pub fn get(&self, which: Notification) -> bool {
        match which {
            Notification::NewOrder => self.new_order,
            Notification::LowStock => self.low_stock,
            Notification::SnkSubmission => self.snk_submission,
            Notification::GatewayFailure => self.gateway_failure,
        }
    }

    pub fn set(&mut self, which: Notification, on: bool) {
        let slot = match which {
            Notification::NewOrder => &mut self.new_order,
            Notification::LowStock => &mut self.low_stock,
            Notification::SnkSubmission => &mut self.snk_submission,
            Notification::GatewayFailure => &mut self.gateway_failure,
        };
        *slot = on;
    }
}

/// A partial [`Notifications`] for PATCH; absent switches keep their value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsPatch {
    pub new_order: Option<bool>,
    pub low_stock: Option<bool>,
    pub snk_submission: Option<bool>,
    pub gateway_failure: Option<bool>,
}

impl NotificationsPatch {
    /// A patch that turns one switch on or off.
    pub fn switch(which: Notification, on: bool) -> Self {
        let mut patch = Self::default();
        *patch.slot(which) = Some(on);
        patch
    }

    fn slot(&mut self, which: Notification) -> &mut Option<bool> {
        match which {
            Notification::NewOrder => &mut self.new_order,
            Notification::LowStock => &mut self.low_stock,
            Notification::SnkSubmission => &mut self.snk_submission,
            Notification::GatewayFailure => &mut self.gateway_failure,
        }
    }
}

impl From<Notifications> for NotificationsPatch {
    /// A patch that sets every switch to `switches`' value.
    fn from(switches: Notifications) -> Self {
        let mut patch = Self::default();
        for which in Notification::ALL {
            *patch.slot(which) = Some(switches.get(which));
        }
        patch
    }
}

/// A partial [`Settings`] for PATCH; absent fields keep their value.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SettingsPatch {
    // The ranges repeat those of `Settings` so that the OpenAPI document states what a PATCH
    // enforces, not only what a read returns.
    #[schema(minimum = 5, maximum = 1440)]
    pub invoice_ttl_minutes: Option<u32>,
    #[schema(maximum = 100000)]
    pub low_stock_threshold: Option<u32>,
    pub fee_payer: Option<FeePayer>,
    #[schema(minimum = 1000, maximum = 100000000)]
    pub deposit_minimum: Option<i64>,
    #[schema(minimum = 1, maximum = 3650)]
    pub snk_retention_days: Option<u32>,
    pub notifications: Option<NotificationsPatch>,
    #[schema(minimum = 1, maximum = 25)]
    pub broadcast_per_second: Option<u32>,
    pub protect_content: Option<bool>,
    #[schema(minimum = 1, maximum = 20)]
    pub max_unpaid_orders: Option<u32>,
}

impl From<Settings> for SettingsPatch {
    /// A patch that sets every field to `settings`' value.
    fn from(settings: Settings) -> Self {
        SettingsPatch {
            invoice_ttl_minutes: Some(settings.invoice_ttl_minutes),
            low_stock_threshold: Some(settings.low_stock_threshold),
            fee_payer: Some(settings.fee_payer),
            deposit_minimum: Some(settings.deposit_minimum),
            snk_retention_days: Some(settings.snk_retention_days),
            notifications: Some(settings.notifications.into()),
            broadcast_per_second: Some(settings.broadcast_per_second),
            protect_content: Some(settings.protect_content),
            max_unpaid_orders: Some(settings.max_unpaid_orders),
        }
    }
}

impl Settings {
    pub fn merge(&mut self, patch: SettingsPatch) {
        if let Some(v) = patch.invoice_ttl_minutes {
            self.invoice_ttl_minutes = v;
        }
        if let Some(v) = patch.low_stock_threshold {
            self.low_stock_threshold = v;
        }
        if let Some(v) = patch.fee_payer {
            self.fee_payer = v;
        }
        if let Some(v) = patch.deposit_minimum {
            self.deposit_minimum = v;
        }
        if let Some(v) = patch.snk_retention_days {
            self.snk_retention_days = v;
        }
        if let Some(v) = patch.broadcast_per_second {
            self.broadcast_per_second = v;
        }
        if let Some(v) = patch.protect_content {
            self.protect_content = v;
        }
        if let Some(v) = patch.max_unpaid_orders {
            self.max_unpaid_orders = v;
        }
        if let Some(mut switches) = patch.notifications {
            for which in Notification::ALL {
                if let Some(on) = *switches.slot(which) {
                    self.notifications.set(which, on);
                }
            }
        }
    }

    pub fn validate(&self, errors: &mut FieldErrors) {
        if !(5..=1440).contains(&self.invoice_ttl_minutes) {
            errors.push(
                "settings.invoice_ttl_minutes",
                "must be between 5 and 1440 minutes",
            );
        }
        if self.low_stock_threshold > 100_000 {
            errors.push("settings.low_stock_threshold", "must be at most 100000");
        }
        // Pakasir refuses amounts under Rp500; a top-up below Rp1.000 is never useful.
        if !(1_000..=100_000_000).contains(&self.deposit_minimum) {
            errors.push(
                "settings.deposit_minimum",
                "must be between 1000 and 100000000 rupiah",
            );
        }
        if !(1..=3650).contains(&self.snk_retention_days) {
            errors.push(
                "settings.snk_retention_days",
                "must be between 1 and 3650 days",
            );
        }
        if !(1..=25).contains(&self.broadcast_per_second) {
            errors.push(
                "settings.broadcast_per_second",
                "must be between 1 and 25 messages a second",
            );
        }
        if !(1..=20).contains(&self.max_unpaid_orders) {
            errors.push(
                "settings.max_unpaid_orders",
                "must be between 1 and 20 orders",
            );
        }
    }
}

/// A store as the registry knows it (secrets excluded).
#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub display_name: String,
    pub status: TenantStatus,
    pub bot_id: Option<i64>,
    pub bot_username: Option<String>,
    pub bot_error: Option<String>,
    /// When `bot_error` was first recorded (kept by the database).
    pub bot_error_since: Option<OffsetDateTime>,
    pub webhook_url: Option<String>,
    pub branding: Branding,
    pub settings: Settings,
    pub locale: Locale,
    pub timezone: String,
    pub owner_telegram_id: i64,
    pub admin_telegram_ids: Vec<i64>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Tenant {
    /// Whether `user_id` may use the store's admin menu.
    pub fn is_admin(&self, user_id: i64) -> bool {
        user_id == self.owner_telegram_id || self.admin_telegram_ids.contains(&user_id)
    }

    /// Whether `user_id` owns the store: only the owner appoints and removes admins.
    pub fn is_owner(&self, user_id: i64) -> bool {
        user_id == self.owner_telegram_id
    }

    /// The owner and the admins, each once, the owner first: who hears of the store's business.
    pub fn staff(&self) -> Vec<i64> {
        let mut staff = vec![self.owner_telegram_id];
        for &admin in &self.admin_telegram_ids {
            if !staff.contains(&admin) {
                staff.push(admin);
            }
        }
        staff
    }
}

/// A store's secrets, opened.
#[derive(Clone, Debug)]
pub struct TenantSecrets {
    pub bot_token: Secret,
    pub pakasir_project: Secret,
    pub pakasir_api_key: Secret,
    pub webhook_secret: Secret,
}

/// The editable profile of a store, validated as a whole.
#[derive(Clone, Debug, Serialize)]
pub struct Profile {
    pub display_name: String,
    pub branding: Branding,
    pub settings: Settings,
    pub locale: Locale,
    pub timezone: String,
    pub owner_telegram_id: i64,
    pub admin_telegram_ids: Vec<i64>,
}

impl Profile {
    /// The editable part of `tenant`.
    pub fn of(tenant: &Tenant) -> Self {
        Self {
            display_name: tenant.display_name.clone(),
            branding: tenant.branding.clone(),
            settings: tenant.settings.clone(),
            locale: tenant.locale,
            timezone: tenant.timezone.clone(),
            owner_telegram_id: tenant.owner_telegram_id,
            admin_telegram_ids: tenant.admin_telegram_ids.clone(),
        }
    }

    /// The profile as a JSON object, for audit rows.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub fn validate(&self, errors: &mut FieldErrors) {
        let name = self.display_name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            errors.push("display_name", "must be 1 to 64 characters");
        }
        self.branding.validate(errors);
        self.settings.validate(errors);
        if jiff::tz::TimeZone::get(&self.timezone).is_err() {
            errors.push("timezone", "must be an IANA time zone such as Asia/Jakarta");
        }
        if self.owner_telegram_id <= 0 {
            errors.push("owner_telegram_id", "must be a Telegram user id");
        }
        if self.admin_telegram_ids.iter().any(|id| *id <= 0) {
            errors.push("admin_telegram_ids", "must all be Telegram user ids");
        }
        if self.admin_telegram_ids.len() > 50 {
            errors.push("admin_telegram_ids", "must list at most 50 admins");
        }
    }
}

/// Checks a store slug: `[a-z0-9-]{3,32}`.
pub fn validate_slug(slug: &str, errors: &mut FieldErrors) {
    let ok = (3..=32).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        errors.push("slug", "must be 3 to 32 characters of a-z, 0-9 and -");
    }
}

/// Checks the shape of a BotFather token (`<bot id>:<secret>`); Telegram's getMe decides the rest.
pub fn validate_bot_token(token: &str, errors: &mut FieldErrors) {
    let ok = token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.len() <= 20
            && id.bytes().all(|b| b.is_ascii_digit())
            && (20..=100).contains(&secret.len())
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    if !ok {
        errors.push(
            "bot_token",
            "must be a BotFather token such as 123456789:AA...",
        );
    }
}

/// Checks a Pakasir project slug and API key.
pub fn validate_pakasir(project: &str, api_key: &str, errors: &mut FieldErrors) {
    let project_ok = (1..=64).contains(&project.len())
        && project
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !project_ok {
        errors.push(
            "pakasir.project",
            "must be the Pakasir project slug (letters, digits, - and _)",
        );
    }
    let key_ok = (8..=200).contains(&api_key.len()) && !api_key.contains(char::is_whitespace);
    if !key_ok {
        errors.push(
            "pakasir.api_key",
            "must be the Pakasir API key (8 to 200 characters, no spaces)",
        );
    }
}

/// One field that failed validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The validation failures of one request, all reported at once.
#[derive(Clone, Debug, Default)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing failed.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(f: impl FnOnce(&mut FieldErrors)) -> Vec<String> {
        let mut errors = FieldErrors::default();
        f(&mut errors);
        errors.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn slugs_follow_the_contract() {
        assert!(errors_of(|e| validate_slug("toko-budi-1", e)).is_empty());
        for bad in ["ab", "Toko", "toko_budi", "toko budi", &"a".repeat(33)] {
            assert_eq!(errors_of(|e| validate_slug(bad, e)), ["slug"], "{bad}");
        }
    }

    #[test]
    fn bot_tokens_must_look_like_botfather_tokens() {
        assert!(
            errors_of(|e| validate_bot_token("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", e))
                .is_empty()
        );
        for bad in [
            "",
            "123456789",
            ":AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
            "12a:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
            "1:short",
        ] {
            assert_eq!(
                errors_of(|e| validate_bot_token(bad, e)),
                ["bot_token"],
                "{bad}"
            );
        }
    }

    #[test]
    fn profiles_report_every_bad_field() {
        let profile = Profile {
            display_name: " ".into(),
            branding: Branding {
                emoji: Some("x".repeat(40)),
                ..Branding::default()
            },
            settings: Settings {
                invoice_ttl_minutes: 1,
                ..Settings::default()
            },
            locale: Locale::Id,
            timezone: "Mars/Olympus".into(),
            owner_telegram_id: 0,
            admin_telegram_ids: vec![-1],
        };
        let fields = errors_of(|e| profile.validate(e));
        assert_eq!(
            fields,
            [
                "display_name",
                "branding.emoji",
                "settings.invoice_ttl_minutes",
                "timezone",
                "owner_telegram_id",
                "admin_telegram_ids"
            ]
        );
    }

    #[test]
    fn branding_patches_replace_and_clear() {
        let mut branding = Branding {
            footer: Some("old".into()),
            emoji: Some("🛒".into()),
            ..Branding::default()
        };
        branding.merge(Branding {
            footer: Some("new".into()),
            emoji: Some(String::new()),
            ..Branding::default()
        });
        assert_eq!(branding.footer.as_deref(), Some("new"));
        assert_eq!(branding.emoji, None);
    }
}

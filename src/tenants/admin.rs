//! What a store's own people change of their store from its bot: one setting at a time, and
//! (the owner only) who the admins are.
//!
//! Every change goes through [`service::change_profile`], the path `PATCH /api/v1/tenants/{slug}`
//! takes, so the same validation applies, the audit row lands in the store's log, and running
//! hosts swap the new profile in at once. The actor's role is checked on the store's row as it
//! is when the change is made, not as it was when the admin opened the screen.

use super::{
    model::{FeePayer, Locale, Notification, NotificationsPatch, SettingsPatch, Tenant},
    service::{ProvisionError, TenantPatch, change_profile},
};
use crate::{
    db::Db,
    store::{
        audit::Actor,
        error::{OpError, OpResult},
    },
};

/// One setting an admin changes in the bot's settings screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingChange {
    InvoiceTtlMinutes(u32),
    LowStockThreshold(u32),
    DepositMinimum(i64),
    FeePayer(FeePayer),
    Locale(Locale),
    Notification(Notification, bool),
    ProtectContent(bool),
    MaxUnpaidOrders(u32),
    BroadcastPerSecond(u32),
}

impl SettingChange {
    fn patch(self) -> TenantPatch {
        let mut settings = SettingsPatch::default();
        match self {
            SettingChange::InvoiceTtlMinutes(v) => settings.invoice_ttl_minutes = Some(v),
            SettingChange::LowStockThreshold(v) => settings.low_stock_threshold = Some(v),
            SettingChange::DepositMinimum(v) => settings.deposit_minimum = Some(v),
            SettingChange::FeePayer(v) => settings.fee_payer = Some(v),
            SettingChange::ProtectContent(v) => settings.protect_content = Some(v),
            SettingChange::MaxUnpaidOrders(v) => settings.max_unpaid_orders = Some(v),
            SettingChange::BroadcastPerSecond(v) => settings.broadcast_per_second = Some(v),
            SettingChange::Notification(which, on) => {
                settings.notifications = Some(NotificationsPatch::switch(which, on));
            }
            SettingChange::Locale(locale) => {
                return TenantPatch {
                    locale: Some(locale),
                    ..TenantPatch::default()
                };
            }
        }
        TenantPatch {
            settings: Some(settings),
            ..TenantPatch::default()
        }
    }
}

/// Changes one setting of the store `slug` for the admin `admin`.
pub async fn change_setting(
    db: &Db,
    slug: &str,
    admin: i64,
    change: SettingChange,
) -> OpResult<Tenant> {
    change_profile(
        db,
        slug,
        &Actor::Admin(admin),
        |tenant| {
            if !tenant.is_admin(admin) {
                return Err(not_permitted(
                    "only the store's admins may change its settings",
                ));
            }
            Ok(change.patch())
        },
        false,
    )
    .await
}

/// Makes `new_admin` an admin of the store `slug`; only its owner may.
pub async fn add_admin(db: &Db, slug: &str, owner: i64, new_admin: i64) -> OpResult<Tenant> {
    if new_admin <= 0 {
        return Err(OpError::invalid(
            "telegram_id",
            "must be a Telegram user id",
        ));
    }
    change_profile(
        db,
        slug,
        &Actor::Admin(owner),
        |tenant| {
            owner_only(tenant, owner)?;
            if tenant.is_admin(new_admin) {
                return Err(OpError::conflict(
                    "already_admin",
                    format!("{new_admin} is already an admin of this store"),
                ));
            }
            let mut admins = tenant.admin_telegram_ids.clone();
            admins.push(new_admin);
            Ok(TenantPatch {
                admin_telegram_ids: Some(admins),
                ..TenantPatch::default()
            })
        },
        false,
    )
    .await
}

/// Takes `admin` off the admins of the store `slug`; only its owner may.
pub async fn remove_admin(db: &Db, slug: &str, owner: i64, admin: i64) -> OpResult<Tenant> {
    change_profile(
        db,
        slug,
        &Actor::Admin(owner),
        |tenant| {
            owner_only(tenant, owner)?;
            if !tenant.admin_telegram_ids.contains(&admin) {
                return Err(OpError::not_found("admin"));
            }
            let admins = tenant
                .admin_telegram_ids
                .iter()
                .copied()
                .filter(|id| *id != admin)
                .collect();
            Ok(TenantPatch {
                admin_telegram_ids: Some(admins),
                ..TenantPatch::default()
            })
        },
        false,
    )
    .await
}

fn owner_only(tenant: &Tenant, user: i64) -> OpResult<()> {
    if tenant.is_owner(user) {
        Ok(())
    } else {
        Err(not_permitted(
            "only the store's owner may appoint or remove admins",
        ))
    }
}

fn not_permitted(why: &str) -> OpError {
    OpError::conflict("not_permitted", why)
}

impl From<ProvisionError> for OpError {
    fn from(error: ProvisionError) -> Self {
        match error {
            ProvisionError::Invalid(errors) => {
                let message = errors
                    .0
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                OpError::invalid("profile", message)
            }
            ProvisionError::NotFound => OpError::not_found("store"),
            ProvisionError::Forbidden(what) => {
                not_permitted(&format!("only an operator may {what}"))
            }
            ProvisionError::Conflict(message) => OpError::conflict("conflict", message),
            ProvisionError::TokenRejected | ProvisionError::TelegramUnavailable => {
                OpError::conflict("telegram", error.to_string())
            }
            // Profile changes fail inside only on the database.
            ProvisionError::Internal(cause) => match cause.downcast::<sqlx::Error>() {
                Ok(error) => OpError::Database(error),
                Err(cause) => OpError::Database(sqlx::Error::Protocol(format!("{cause:#}"))),
            },
        }
    }
}

//! Texts of the admins area.

use crate::tenants::model::Locale;

pub struct AdminsTexts {}

pub const ID: AdminsTexts = AdminsTexts {};

pub const EN: AdminsTexts = AdminsTexts {};

pub fn of(locale: Locale) -> &'static AdminsTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}

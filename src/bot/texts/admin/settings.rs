//! Texts of the settings area.

use crate::tenants::model::Locale;

pub struct SettingsTexts {}

pub const ID: SettingsTexts = SettingsTexts {};

pub const EN: SettingsTexts = SettingsTexts {};

pub fn of(locale: Locale) -> &'static SettingsTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}

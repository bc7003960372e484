//! Texts of the message templates area.

use crate::tenants::model::Locale;

pub struct TemplatesTexts {}

pub const ID: TemplatesTexts = TemplatesTexts {};

pub const EN: TemplatesTexts = TemplatesTexts {};

pub fn of(locale: Locale) -> &'static TemplatesTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}

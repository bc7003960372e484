//! Texts of the coupons area.

use crate::tenants::model::Locale;

pub struct CouponsTexts {}

pub const ID: CouponsTexts = CouponsTexts {};

pub const EN: CouponsTexts = CouponsTexts {};

pub fn of(locale: Locale) -> &'static CouponsTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}

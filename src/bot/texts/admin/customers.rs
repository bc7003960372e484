//! Texts of the customers area.

use crate::tenants::model::Locale;

pub struct CustomersTexts {}

pub const ID: CustomersTexts = CustomersTexts {};

pub const EN: CustomersTexts = CustomersTexts {};

pub fn of(locale: Locale) -> &'static CustomersTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}

//! Texts of the products and categories area.

use crate::tenants::model::Locale;

pub struct ProductsTexts {}

pub const ID: ProductsTexts = ProductsTexts {};

pub const EN: ProductsTexts = ProductsTexts {};

pub fn of(locale: Locale) -> &'static ProductsTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}

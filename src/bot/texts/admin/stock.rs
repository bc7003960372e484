//! Texts of the stock area.

use crate::tenants::model::Locale;

pub struct StockTexts {}

pub const ID: StockTexts = StockTexts {};

pub const EN: StockTexts = StockTexts {};

pub fn of(locale: Locale) -> &'static StockTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}

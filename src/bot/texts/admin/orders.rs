//! Texts of the orders area.

use crate::tenants::model::Locale;

pub struct OrdersTexts {}

pub const ID: OrdersTexts = OrdersTexts {};

pub const EN: OrdersTexts = OrdersTexts {};

pub fn of(locale: Locale) -> &'static OrdersTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}

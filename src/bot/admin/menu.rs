//! The admin menu: the store at a glance and a button for every area.

use teloxide::{
    types::{InlineKeyboardButton, InlineKeyboardMarkup},
    utils::html::escape,
};

use super::{Area, Cx};
use crate::{
    bot::{HandlerResult, texts::fill},
    store::{money::rupiah, stats},
};

/// The areas of the menu, in the order shown.
const MENU: [Area; 12] = [
    Area::Products,
    Area::Stock,
    Area::Orders,
    Area::Customers,
    Area::Coupons,
    Area::Templates,
    Area::Settings,
    Area::Admins,
    Area::Snk,
    Area::Backup,
    Area::Audit,
    Area::Broadcast,
];

/// Whether the menu offers `area` yet: each area says so in its own file while it is built.
fn ready(area: Area) -> bool {
    use super::*;
    match area {
        Area::Products => products::READY,
        Area::Stock => stock::READY,
        Area::Orders => orders::READY,
        Area::Customers => customers::READY,
        Area::Templates => templates::READY,
        Area::Coupons => coupons::READY,
        Area::Settings => settings::READY,
        Area::Admins => admins::READY,
        Area::Broadcast => broadcast::READY,
        Area::Menu | Area::Snk | Area::Backup | Area::Audit => true,
    }
}

pub async fn open(cx: &Cx) -> HandlerResult {
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    cx.ctx.customers.settle_store(&mut tx, tenant.id).await?;
    let summary = stats::summary(&mut tx).await?;
    tx.commit().await?;
    let catalog = cx.ctx.catalog.get(&cx.ctx.db, tenant.id).await?;
    let threshold = i64::from(tenant.settings.low_stock_threshold);
    let low: Vec<String> = catalog
        .products
        .iter()
        .filter(|p| p.available <= threshold)
        .take(10)
        .map(|p| format!("{} ({})", escape(&p.name), p.available))
        .collect();
    let t = cx.t();
    let text = fill(
        t.menu_title,
        &[
            ("customers", &summary.customers.to_string()),
            ("active", &summary.active.to_string()),
            ("orders", &summary.orders.to_string()),
            ("revenue", &rupiah(summary.revenue)),
            ("products", &catalog.products.len().to_string()),
            (
                "low",
                &if low.is_empty() {
                    "-".to_owned()
                } else {
                    low.join(", ")
                },
            ),
        ],
    );
    let buttons: Vec<InlineKeyboardButton> = MENU
        .into_iter()
        .filter(|area| ready(*area))
        .map(|area| InlineKeyboardButton::callback(label(cx, area), area.data(&[])))
        .collect();
    let rows: Vec<Vec<InlineKeyboardButton>> = buttons.chunks(2).map(<[_]>::to_vec).collect();
    cx.show(text, InlineKeyboardMarkup::new(rows)).await
}

/// An area's name as its menu button shows it.
pub fn label(cx: &Cx, area: Area) -> &'static str {
    let t = cx.t();
    match area {
        Area::Menu => t.back_to_menu,
        Area::Products => t.area_products,
        Area::Stock => t.area_stock,
        Area::Orders => t.area_orders,
        Area::Customers => t.area_customers,
        Area::Templates => t.area_templates,
        Area::Coupons => t.area_coupons,
        Area::Settings => t.area_settings,
        Area::Admins => t.area_admins,
        Area::Backup => t.area_backup,
        Area::Snk => t.area_snk,
        Area::Audit => t.area_audit,
        Area::Broadcast => t.area_broadcast,
    }
}

//! Browsing: categories, pages of products, a product with its quantity controls, and the
//! stock board. Everything here reads the cached catalog snapshot; nothing writes.

use teloxide::{
    types::{CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup},
    utils::html::escape,
};

use super::Reply;
use crate::{
    bot::{
        HandlerResult, StoreBot, StoreCtx,
        callbacks::Callback,
        texts::{Texts, fill},
        ui::{self, button},
    },
    store::{
        catalog::{Product, Snapshot},
        money::rupiah,
    },
};

/// Products per page; Telegram shows about ten buttons comfortably.
const PER_PAGE: usize = 8;
/// Quantity presets under a product.
const PRESETS: [u32; 3] = [2, 5, 10];

/// The category list (or, for a store without categories, the first page of all products).
pub fn categories(t: &Texts, catalog: &Snapshot) -> Reply {
    if catalog.products.is_empty() {
        return Reply::text(t.catalog_empty.to_owned());
    }
    if catalog.categories.is_empty() {
        return products(t, catalog, None, 0);
    }
    let mut rows: Vec<Vec<InlineKeyboardButton>> = catalog
        .categories
        .iter()
        .map(|c| {
            let count = catalog
                .products
                .iter()
                .filter(|p| p.category_id == Some(c.id))
                .count();
            let label = match &c.emoji {
                Some(emoji) => format!("{emoji} {} ({count})", c.name),
                None => format!("{} ({count})", c.name),
            };
            vec![button(
                label,
                Callback::Category {
                    id: Some(c.id),
                    page: 0,
                },
            )]
        })
        .collect();
    rows.push(vec![button(
        t.all_products,
        Callback::Category { id: None, page: 0 },
    )]);
    rows.push(vec![button(t.cart_button, Callback::Cart)]);
    Reply::with(
        t.categories_title.to_owned(),
        InlineKeyboardMarkup::new(rows),
    )
}

/// One page of products.
pub fn products(t: &Texts, catalog: &Snapshot, category: Option<i64>, page: usize) -> Reply {
    let listing = catalog.page(category, page, PER_PAGE);
    let name = category
        .and_then(|id| catalog.category(id))
        .map_or(t.all_products.to_owned(), |c| c.name.clone());
    let mut text = fill(
        t.products_title,
        &[
            ("category", &escape(&name)),
            ("page", &(listing.page + 1).to_string()),
            ("pages", &listing.pages.to_string()),
        ],
    );
    let mut rows = Vec::new();
    for product in &listing.products {
        text.push_str(&format!(
            "\n• {} — {} ({} {})",
            escape(&product.name),
            rupiah(product.price),
            t.stock_label.to_lowercase(),
            product.available
        ));
        rows.push(vec![button(
            format!("{} · {}", product.name, rupiah(product.price)),
            Callback::Product {
                id: product.id,
                qty: 1,
            },
        )]);
    }
    let mut nav = Vec::new();
    if listing.page > 0 {
        nav.push(button(
            "◀️",
            Callback::Category {
                id: category,
                page: listing.page as u32 - 1,
            },
        ));
    }
    if listing.page + 1 < listing.pages {
        nav.push(button(
            "▶️",
            Callback::Category {
                id: category,
                page: listing.page as u32 + 1,
            },
        ));
    }
    if !nav.is_empty() {
        rows.push(nav);
    }
    rows.push(vec![
        button(t.back, Callback::Categories),
        button(t.cart_button, Callback::Cart),
    ]);
    Reply::with(text, InlineKeyboardMarkup::new(rows))
}

/// A product page with quantity controls.
pub fn product(t: &Texts, product: &Product, qty: u32) -> Reply {
    let max = product
        .available
        .clamp(0, i64::from(crate::store::cart::MAX_QUANTITY)) as u32;
    let qty = qty.clamp(1, max.max(1));
    let mut text = format!(
        "<b>{}</b>\n💵 {}\n📦 {}: {}",
        escape(&product.name),
        rupiah(product.price),
        t.stock_label,
        if product.available > 0 {
            product.available.to_string()
        } else {
            t.sold_out.to_owned()
        }
    );
    if !product.description.is_empty() {
        text.push_str(&format!("\n\n{}", escape(&product.description)));
    }
    if let Some(snk) = &product.snk {
        let summary: String = snk.chars().take(200).collect();
        text.push_str(&format!(
            "\n\n📜 <i>{}: {}</i>",
            t.snk_label,
            escape(&summary)
        ));
    }
    let back = Callback::Category {
        id: product.category_id,
        page: 0,
    };
    let mut rows = Vec::new();
    if max > 0 {
        let id = product.id;
        rows.push(vec![
            button(
                "➖",
                Callback::Product {
                    id,
                    qty: qty.saturating_sub(1).max(1),
                },
            ),
            button(qty.to_string(), Callback::Noop),
            button(
                "➕",
                Callback::Product {
                    id,
                    qty: (qty + 1).min(max),
                },
            ),
        ]);
        rows.push(
            PRESETS
                .iter()
                .map(|n| {
                    button(
                        format!("x{n}"),
                        Callback::Product {
                            id,
                            qty: (*n).min(max),
                        },
                    )
                })
                .collect(),
        );
        rows.push(vec![button(
            format!(
                "{} ({})",
                t.add_to_cart,
                rupiah(product.price * i64::from(qty))
            ),
            Callback::Add {
                id,
                qty,
                price: product.price,
            },
        )]);
    }
    rows.push(vec![
        button(t.back, back),
        button(t.cart_button, Callback::Cart),
    ]);
    Reply::with(text, InlineKeyboardMarkup::new(rows))
}

/// The stock board: every product with how many are available.
pub fn stock_board(t: &Texts, catalog: &Snapshot) -> Reply {
    if catalog.products.is_empty() {
        return Reply::text(t.catalog_empty.to_owned());
    }
    let mut text = t.stock_title.to_owned();
    for product in &catalog.products {
        let stock = if product.available > 0 {
            product.available.to_string()
        } else {
            t.sold_out.to_owned()
        };
        text.push_str(&format!("\n• {}: {}", escape(&product.name), stock));
    }
    Reply::text(text)
}

/// Handles the browsing buttons.
pub async fn on_callback(
    bot: &StoreBot,
    q: &CallbackQuery,
    ctx: &StoreCtx,
    t: &Texts,
    callback: Callback,
) -> HandlerResult {
    let catalog = ctx.catalog.get(&ctx.db, ctx.tenant_id()).await?;
    let reply = match callback {
        Callback::Categories => categories(t, &catalog),
        Callback::Category { id, page } => {
            if id.is_some_and(|id| catalog.category(id).is_none()) {
                return Ok(ui::notice(bot, q, t.stale_button, true).await?);
            }
            products(t, &catalog, id, page as usize)
        }
        Callback::Product { id, qty } => match catalog.product(id) {
            Some(p) => product(t, p, qty),
            None => return Ok(ui::notice(bot, q, t.product_gone, true).await?),
        },
        _ => return Ok(()),
    };
    reply.show(bot, q).await
}

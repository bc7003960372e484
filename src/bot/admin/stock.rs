//! The stock area: the board of products with their counts, adding items by pasting lines or
//! sending a `.txt` file, removing an available item, and the available items as a `.txt`.
//!
//! Every change goes through `store::inventory` (the API's functions, the same audit rows) and
//! then drops the store's cached catalog, so customers see the new counts at once.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use teloxide::{
    types::{InlineKeyboardButton, InlineKeyboardMarkup, Message},
    utils::html::escape,
};

use super::{
    Area, Args, Cx,
    page::{PER_PAGE, nav_row, paginate},
};
use crate::{
    bot::{
        HandlerResult,
        texts::{
            admin::stock::{self as texts, StockTexts},
            fill,
        },
    },
    store::{
        error::OpError,
        inventory::{self, LinesProblem, MAX_ITEMS, MAX_LINE, RefusalReason, Upload},
        products,
    },
};

/// The largest `.txt` of stock the chat takes.
pub const FILE_LIMIT: usize = 5 * 1024 * 1024;
/// Refused lines listed after an upload; the rest are counted, so the answer stays one message.
const REFUSED_SHOWN: usize = 30;
/// Characters of an item shown on a button or in a list.
const ITEM_PREVIEW: usize = 40;

#[derive(Debug, Serialize, Deserialize)]
enum Step {
    /// Waiting for the lines (text or a file) of product `code`.
    Items { code: String },
    /// Waiting for ✅ to remove item `id` of product `code`.
    Remove { code: String, id: i64 },
}

/// Whether the menu offers this area yet.
pub const READY: bool = true;

pub async fn open(cx: &Cx) -> HandlerResult {
    board(cx, 0).await
}

pub async fn on_callback(cx: &Cx, args: &mut Args<'_>) -> HandlerResult {
    match args.word() {
        Some("l") => board(cx, args.num().unwrap_or(0)).await,
        Some("p") => match args.word() {
            Some(code) => product(cx, code).await,
            None => cx.toast(cx.t().stale).await,
        },
        Some("a") => match args.word() {
            Some(code) => ask_items(cx, code).await,
            None => cx.toast(cx.t().stale).await,
        },
        Some("r") => match args.word() {
            Some(code) => pick_item(cx, code, args.num().unwrap_or(0)).await,
            None => cx.toast(cx.t().stale).await,
        },
        Some("x") => match (args.word(), args.num::<i64>()) {
            (Some(code), Some(id)) => confirm_remove(cx, code, id).await,
            _ => cx.toast(cx.t().stale).await,
        },
        Some("d") => match args.word() {
            Some(code) => download(cx, code).await,
            None => cx.toast(cx.t().stale).await,
        },
        _ => cx.toast(cx.t().stale).await,
    }
}

pub async fn on_input(cx: &Cx, step: Value, msg: &Message) -> HandlerResult {
    let Some(Step::Items { code }) = Cx::step(step) else {
        return cx.stale().await;
    };
    let t = texts::of(cx.locale);
    let text = if let Some(document) = msg.document() {
        let Some(bytes) = cx.download(&document.file, FILE_LIMIT).await? else {
            return cx.again(fill(t.too_large, &[("limit", "5 MB")])).await;
        };
        match String::from_utf8(bytes) {
            // A BOM is how some editors mark UTF-8; it is not part of the first item.
            Ok(text) => text.trim_start_matches('\u{feff}').to_owned(),
            Err(_) => return cx.again(t.not_utf8.to_owned()).await,
        }
    } else if let Some(text) = msg.text() {
        text.to_owned()
    } else {
        return cx.again(t.not_text.to_owned()).await;
    };
    if let Err(problem) = inventory::parse_lines(&[&text]) {
        return cx.again(explain_lines(t, problem)).await;
    }
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let upload = inventory::upload(
        &mut tx,
        &cx.ctx.sealer,
        tenant.id,
        &cx.actor(),
        &code,
        &[text],
    )
    .await;
    let upload = match upload {
        Ok(upload) => upload,
        Err(error) => return cx.fail(error, Area::Stock).await,
    };
    let product = products::product(&mut tx, &code).await?;
    tx.commit().await?;
    cx.ctx.catalog.invalidate(tenant.id);
    cx.finish(report(t, &product.name, &upload), Area::Stock)
        .await
}

pub async fn on_confirm(cx: &Cx, step: Value) -> HandlerResult {
    let t = texts::of(cx.locale);
    let Some(Step::Remove { id, .. }) = Cx::step(step) else {
        return cx.stale().await;
    };
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    if let Err(error) = inventory::remove(&mut tx, tenant.id, &cx.actor(), id).await {
        return cx.fail(error, Area::Stock).await;
    }
    tx.commit().await?;
    cx.ctx.catalog.invalidate(tenant.id);
    cx.finish(fill(t.removed, &[("id", &id.to_string())]), Area::Stock)
        .await
}

/// The products with their counts, a page at a time.
async fn board(cx: &Cx, page: u32) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let lines = inventory::board(&mut tx).await?;
    tx.commit().await?;
    if lines.is_empty() {
        return cx
            .show(t.empty.to_owned(), cx.back_keyboard(Area::Menu))
            .await;
    }
    let paged = paginate(lines.len(), page, PER_PAGE);
    let mut keyboard: Vec<Vec<InlineKeyboardButton>> = lines[paged.start..paged.end]
        .iter()
        .map(|line| {
            let label = fill(
                t.row,
                &[
                    ("inactive", if line.active { "" } else { t.inactive }),
                    ("name", &line.name),
                    ("available", &line.available.to_string()),
                    ("reserved", &line.reserved.to_string()),
                    ("sold", &line.sold.to_string()),
                ],
            );
            vec![InlineKeyboardButton::callback(
                label,
                Area::Stock.data(&[&"p", &line.code]),
            )]
        })
        .collect();
    let nav = nav_row(cx.t(), paged, |p| Area::Stock.data(&[&"l", &p]));
    if !nav.is_empty() {
        keyboard.push(nav);
    }
    keyboard.extend(cx.back_keyboard(Area::Menu).inline_keyboard);
    cx.show(t.title.to_owned(), InlineKeyboardMarkup::new(keyboard))
        .await
}

/// One product's counts and what can be done with its stock.
async fn product(cx: &Cx, code: &str) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let found = inventory::counts(&mut tx, code).await;
    tx.commit().await?;
    let (product, counts) = match found {
        Ok(found) => found,
        Err(error) => return cx.fail(error, Area::Stock).await,
    };
    let text = fill(
        t.product,
        &[
            ("name", &escape(&product.name)),
            ("code", &product.code),
            ("available", &counts.available.to_string()),
            ("reserved", &counts.reserved.to_string()),
            ("sold", &counts.sold.to_string()),
        ],
    );
    let button = |label: &str, action: &str| {
        vec![InlineKeyboardButton::callback(
            label.to_owned(),
            Area::Stock.data(&[&action, &product.code]),
        )]
    };
    let mut keyboard = vec![
        button(t.add, "a"),
        button(t.remove, "r"),
        button(t.download, "d"),
    ];
    keyboard.extend(cx.back_keyboard(Area::Stock).inline_keyboard);
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

async fn ask_items(cx: &Cx, code: &str) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let found = products::product(&mut tx, code).await;
    tx.commit().await?;
    let product = match found {
        Ok(product) => product,
        Err(error) => return cx.fail(error, Area::Stock).await,
    };
    let prompt = fill(
        t.ask_items,
        &[("name", &escape(&product.name)), ("limit", "5 MB")],
    );
    let step = Step::Items { code: product.code };
    cx.ask(Area::Stock, &step, prompt).await
}

/// A page of the product's available items as buttons, each removing that item after ✅.
async fn pick_item(cx: &Cx, code: &str, page: u32) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let product = match products::product(&mut tx, code).await {
        Ok(product) => product,
        Err(error) => return cx.fail(error, Area::Stock).await,
    };
    let offset = i64::from(page) * PER_PAGE as i64;
    let (total, items) = inventory::available_page(
        &mut tx,
        &cx.ctx.sealer,
        tenant.id,
        code,
        offset,
        PER_PAGE as i64,
    )
    .await?;
    tx.commit().await?;
    if total == 0 {
        return cx.toast(t.no_unsold).await;
    }
    let paged = paginate(total as usize, page, PER_PAGE);
    let mut keyboard: Vec<Vec<InlineKeyboardButton>> = items
        .iter()
        .map(|(id, item)| {
            vec![InlineKeyboardButton::callback(
                format!("#{id} · {}", preview(item)),
                Area::Stock.data(&[&"x", &product.code, id]),
            )]
        })
        .collect();
    let nav = nav_row(cx.t(), paged, |p| {
        Area::Stock.data(&[&"r", &product.code, &p])
    });
    if !nav.is_empty() {
        keyboard.push(nav);
    }
    keyboard.extend(cx.back_keyboard(Area::Stock).inline_keyboard);
    let text = fill(
        t.pick_item,
        &[
            ("name", &escape(&product.name)),
            ("count", &total.to_string()),
        ],
    );
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

async fn confirm_remove(cx: &Cx, code: &str, id: i64) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let product = match products::product(&mut tx, code).await {
        Ok(product) => product,
        Err(error) => return cx.fail(error, Area::Stock).await,
    };
    let item = inventory::available_item(&mut tx, &cx.ctx.sealer, tenant.id, id).await?;
    tx.commit().await?;
    let Some(item) = item else {
        return cx.fail(OpError::not_found("stock item"), Area::Stock).await;
    };
    let summary = fill(
        t.confirm_remove,
        &[
            ("id", &id.to_string()),
            ("name", &escape(&product.name)),
            ("item", &escape(&preview(&item))),
        ],
    );
    let step = Step::Remove {
        code: product.code,
        id,
    };
    cx.confirm(Area::Stock, &step, summary).await
}

/// Sends the product's available items as a `.txt`, one per line.
async fn download(cx: &Cx, code: &str) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let found = inventory::unsold_text(&mut tx, &cx.ctx.sealer, tenant.id, &cx.actor(), code).await;
    let (product, text) = match found {
        Ok(found) => found,
        Err(error) => return cx.fail(error, Area::Stock).await,
    };
    let count = text.lines().count();
    if count == 0 {
        return cx.toast(t.no_unsold).await;
    }
    tx.commit().await?;
    let caption = fill(
        t.file_caption,
        &[
            ("name", &escape(&product.name)),
            ("count", &count.to_string()),
        ],
    );
    cx.send_document(
        format!("stok-{}.txt", product.code),
        text.into_bytes(),
        caption,
    )
    .await
}

fn explain_lines(t: &StockTexts, problem: LinesProblem) -> String {
    match problem {
        LinesProblem::Empty => t.no_lines.to_owned(),
        LinesProblem::TooMany => fill(t.too_many, &[("limit", &MAX_ITEMS.to_string())]),
        LinesProblem::Nul(line) => fill(t.line_nul, &[("line", &line.to_string())]),
        LinesProblem::TooLong(line) => fill(
            t.line_too_long,
            &[
                ("line", &line.to_string()),
                ("limit", &MAX_LINE.to_string()),
            ],
        ),
    }
}

/// What an upload did: the count added and the refused lines, the first few listed.
fn report(t: &StockTexts, name: &str, upload: &Upload) -> String {
    let mut text = fill(
        t.added,
        &[
            ("added", &upload.added.to_string()),
            ("name", &escape(name)),
            ("available", &upload.counts.available.to_string()),
        ],
    );
    if upload.refused.is_empty() {
        return text;
    }
    text.push_str(&fill(
        t.refused_title,
        &[("count", &upload.refused.len().to_string())],
    ));
    for refused in upload.refused.iter().take(REFUSED_SHOWN) {
        let reason = match refused.reason {
            RefusalReason::RepeatedInUpload => t.repeated,
            RefusalReason::AlreadyInStock => t.already,
        };
        text.push_str(&format!(
            "\n• <code>{}</code> ({reason})",
            escape(&preview(&refused.line))
        ));
    }
    if upload.refused.len() > REFUSED_SHOWN {
        text.push_str(&format!("\n… +{}", upload.refused.len() - REFUSED_SHOWN));
    }
    text
}

/// The start of an item, for a button or a list line.
fn preview(item: &str) -> String {
    if item.chars().count() <= ITEM_PREVIEW {
        item.to_owned()
    } else {
        let start: String = item.chars().take(ITEM_PREVIEW - 1).collect();
        format!("{start}…")
    }
}

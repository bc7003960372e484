//! Categories, inside the products area (their buttons are `a:pr:c…`): the list with product
//! counts, a new one by name, renaming, its emoji and sort order, deleting an empty one, and
//! picking a product's category. Every change is a `store::categories` operation with its audit row.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use teloxide::{
    types::{InlineKeyboardButton, InlineKeyboardMarkup, Message},
    utils::html::escape,
};

use super::{Area, Args, Cx};
use crate::{
    bot::{
        HandlerResult,
        texts::{admin::products as texts, fill},
    },
    store::{
        categories::{self, Category, CategoryInput, MAX_NAME},
        error::OpError,
        products::{self, check_text},
    },
};

#[derive(Debug, Serialize, Deserialize)]
enum CategoryStep {
    /// Waiting for a new category's name.
    NewCategory,
    /// Waiting for category `id`'s new name.
    Rename { id: i64 },
    /// Waiting for category `id`'s emoji (`-` removes it).
    Emoji { id: i64 },
    /// Waiting for category `id`'s place in the list.
    Sort { id: i64 },
    /// Waiting for ✅ to delete category `id`.
    DeleteCategory { id: i64 },
}

/// The category buttons: `c` the list, `cn` new, `cv:<id>` one, `cr:<id>` rename,
/// `ce:<id>` emoji, `cs:<id>` sort order, `cd:<id>` delete.
pub async fn on_callback(cx: &Cx, word: &str, args: &mut Args<'_>) -> HandlerResult {
    let t = texts::of(cx.locale);
    match (word, args.num::<i64>()) {
        ("c", _) => list(cx).await,
        ("cn", _) => {
            let prompt = t.ask_category_name.to_owned();
            cx.ask(Area::Products, &CategoryStep::NewCategory, prompt)
                .await
        }
        ("cv", Some(id)) => view(cx, id).await,
        ("cr", Some(id)) => {
            let prompt = t.ask_category_name.to_owned();
            cx.ask(Area::Products, &CategoryStep::Rename { id }, prompt)
                .await
        }
        ("ce", Some(id)) => {
            let prompt = t.ask_category_emoji.to_owned();
            cx.ask(Area::Products, &CategoryStep::Emoji { id }, prompt)
                .await
        }
        ("cs", Some(id)) => {
            let prompt = t.ask_category_sort.to_owned();
            cx.ask(Area::Products, &CategoryStep::Sort { id }, prompt)
                .await
        }
        ("cd", Some(id)) => {
            let Some(category) = find(cx, id).await? else {
                return Ok(());
            };
            let summary = fill(
                t.confirm_category_delete,
                &[("name", &escape(&category.name))],
            );
            cx.confirm(
                Area::Products,
                &CategoryStep::DeleteCategory { id },
                summary,
            )
            .await
        }
        _ => cx.toast(cx.t().stale).await,
    }
}

pub async fn on_input(cx: &Cx, step: Value, msg: &Message) -> HandlerResult {
    let t = texts::of(cx.locale);
    let Some(step) = Cx::step::<CategoryStep>(step) else {
        return cx.stale().await;
    };
    let Some(text) = msg.text().map(str::trim) else {
        return cx.again(cx.t().text_expected.to_owned()).await;
    };
    let (id, input, done, done_shows_label) = match step {
        CategoryStep::NewCategory | CategoryStep::Rename { .. } => {
            if check_text("name", text, MAX_NAME).is_err() {
                return cx.again(t.bad_category_name.to_owned()).await;
            }
            let id = match step {
                CategoryStep::Rename { id } => Some(id),
                _ => None,
            };
            let done = match id {
                Some(_) => t.category_renamed,
                None => t.category_created,
            };
            let input = CategoryInput {
                name: Some(text.to_owned()),
                ..CategoryInput::default()
            };
            (id, input, done, false)
        }
        CategoryStep::Emoji { id } => {
            // An empty emoji removes it, as in the API.
            let emoji = if text == "-" { "" } else { text };
            let input = CategoryInput {
                emoji: Some(emoji.to_owned()),
                ..CategoryInput::default()
            };
            if input.validate().is_err() {
                return cx.again(t.bad_category_emoji.to_owned()).await;
            }
            (Some(id), input, t.category_updated, true)
        }
        CategoryStep::Sort { id } => {
            let Ok(sort) = text.parse::<i32>() else {
                return cx.again(t.bad_category_sort.to_owned()).await;
            };
            let input = CategoryInput {
                sort: Some(sort),
                ..CategoryInput::default()
            };
            (Some(id), input, t.category_updated, true)
        }
        CategoryStep::DeleteCategory { .. } => return cx.stale().await,
    };
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let changed = match id {
        None => categories::create(&mut tx, tenant.id, &cx.actor(), input).await,
        Some(id) => categories::update(&mut tx, tenant.id, &cx.actor(), id, input).await,
    };
    match changed {
        Ok(category) => {
            tx.commit().await?;
            cx.ctx.catalog.invalidate(tenant.id);
            // A new name is shown as typed; an emoji or a new place with the emoji.
            let name = if done_shows_label {
                label(&category)
            } else {
                category.name
            };
            let text = fill(done, &[("name", &escape(&name))]);
            cx.finish(text, Area::Products).await
        }
        // A name taken is a typing matter: the question stands.
        Err(OpError::Conflict { .. }) => {
            let line = fill(t.category_taken, &[("name", &escape(text))]);
            cx.again(line).await
        }
        Err(error) => cx.fail(error, Area::Products).await,
    }
}

pub async fn on_confirm(cx: &Cx, step: Value) -> HandlerResult {
    let t = texts::of(cx.locale);
    let Some(CategoryStep::DeleteCategory { id }) = Cx::step(step) else {
        return cx.stale().await;
    };
    let Some(category) = find(cx, id).await? else {
        return Ok(());
    };
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let name = escape(&category.name);
    let text = match categories::delete(&mut tx, tenant.id, &cx.actor(), id).await {
        Ok(()) => {
            tx.commit().await?;
            cx.ctx.catalog.invalidate(tenant.id);
            fill(t.category_deleted, &[("name", &name)])
        }
        Err(OpError::Conflict { .. }) => fill(
            t.category_not_empty,
            &[
                ("name", &name),
                ("products", &category.products.to_string()),
            ],
        ),
        Err(error) => return cx.fail(error, Area::Products).await,
    };
    cx.finish(text, Area::Products).await
}

/// The category buttons for a product: choosing one saves it at once.
pub async fn pick_for(cx: &Cx, code: &str) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let product = products::product(&mut tx, code).await;
    let all = categories::list(&mut tx).await?;
    tx.commit().await?;
    let product = match product {
        Ok(product) => product,
        Err(error) => return cx.fail(error, Area::Products).await,
    };
    let mut keyboard: Vec<Vec<InlineKeyboardButton>> = all
        .iter()
        .map(|c| {
            vec![InlineKeyboardButton::callback(
                label(c),
                Area::Products.data(&[&"kc", &product.code, &c.id]),
            )]
        })
        .collect();
    keyboard.push(vec![InlineKeyboardButton::callback(
        t.no_category,
        Area::Products.data(&[&"kc", &product.code, &0]),
    )]);
    keyboard.extend(cx.back_keyboard(Area::Products).inline_keyboard);
    let text = fill(t.pick_category, &[("name", &escape(&product.name))]);
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

async fn list(cx: &Cx) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let all = categories::list(&mut tx).await?;
    tx.commit().await?;
    let mut keyboard = vec![vec![InlineKeyboardButton::callback(
        t.new_category,
        Area::Products.data(&[&"cn"]),
    )]];
    // The catalog document allows 500 categories; a page of buttons that long is still one
    // message, since the text itself stays short.
    keyboard.extend(all.iter().map(|c| {
        let row = fill(
            t.category_row,
            &[("name", &label(c)), ("products", &c.products.to_string())],
        );
        vec![InlineKeyboardButton::callback(
            row,
            Area::Products.data(&[&"cv", &c.id]),
        )]
    }));
    keyboard.extend(cx.back_keyboard(Area::Products).inline_keyboard);
    let text = fill(t.categories_title, &[("count", &all.len().to_string())]);
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

async fn view(cx: &Cx, id: i64) -> HandlerResult {
    let t = texts::of(cx.locale);
    let Some(category) = find(cx, id).await? else {
        return Ok(());
    };
    let text = fill(
        t.category_view,
        &[
            ("name", &escape(&label(&category))),
            ("products", &category.products.to_string()),
            ("sort", &category.sort.to_string()),
        ],
    );
    let mut keyboard = vec![
        vec![
            InlineKeyboardButton::callback(t.rename, Area::Products.data(&[&"cr", &id])),
            InlineKeyboardButton::callback(t.delete, Area::Products.data(&[&"cd", &id])),
        ],
        vec![
            InlineKeyboardButton::callback(t.category_emoji, Area::Products.data(&[&"ce", &id])),
            InlineKeyboardButton::callback(t.category_sort, Area::Products.data(&[&"cs", &id])),
        ],
    ];
    keyboard.extend(cx.back_keyboard(Area::Products).inline_keyboard);
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

/// The category, or the "not found" answer already given.
async fn find(cx: &Cx, id: i64) -> anyhow::Result<Option<Category>> {
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let found = categories::list(&mut tx)
        .await?
        .into_iter()
        .find(|c| c.id == id);
    tx.commit().await?;
    if found.is_none() {
        cx.fail(OpError::not_found("category"), Area::Products)
            .await?;
    }
    Ok(found)
}

fn label(category: &Category) -> String {
    match &category.emoji {
        Some(emoji) => format!("{emoji} {}", category.name),
        None => category.name.clone(),
    }
}

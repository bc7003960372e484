//! The products area: the list a page at a time, a new product in three steps (code, name,
//! price), each field edited on its own with the change shown before ✅, shown or hidden with
//! one press, and deleted (a product orders name is hidden instead). Categories, which live in
//! the same area, are in `categories.rs`.
//!
//! Every change is a `store::products` operation, the API's own, with its audit row; the
//! store's cached catalog is dropped after it, so customers see it at once.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use teloxide::{
    types::{InlineKeyboardButton, InlineKeyboardMarkup, Message},
    utils::html::escape,
};

use super::{
    Area, Args, Cx, categories,
    page::{PER_PAGE, nav_row, paginate},
};
use crate::{
    bot::{
        HandlerResult,
        texts::{
            admin::products::{self as texts, ProductsTexts},
            fill,
        },
    },
    store::{
        categories as store_categories,
        error::OpError,
        money::{self, rupiah},
        products::{
            self, MAX_DESCRIPTION, MAX_NAME, MAX_SNK, NewProduct, Product, ProductPatch, Removal,
        },
    },
};

/// Whether the menu offers this area yet.
pub const READY: bool = true;

/// Every product of a store fits (the catalog document allows 5000); the list is paged on screen.
const ALL: i64 = 10_000;

/// A field an admin edits by typing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Field {
    Name,
    Description,
    Price,
    Sort,
    Snk,
}

impl Field {
    fn code(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Description => "desc",
            Field::Price => "price",
            Field::Sort => "sort",
            Field::Snk => "snk",
        }
    }

    fn from_code(code: &str) -> Option<Field> {
        [
            Field::Name,
            Field::Description,
            Field::Price,
            Field::Sort,
            Field::Snk,
        ]
        .into_iter()
        .find(|f| f.code() == code)
    }
}

/// A typed value, checked, ready to save.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Change {
    Name(String),
    Description(String),
    Price(i64),
    Sort(i32),
    Snk(Option<String>),
}

impl Change {
    fn into_patch(self) -> ProductPatch {
        let mut patch = ProductPatch::default();
        match self {
            Change::Name(v) => patch.name = Some(v),
            Change::Description(v) => patch.description = Some(v),
            Change::Price(v) => patch.price = Some(v),
            Change::Sort(v) => patch.sort = Some(v),
            Change::Snk(v) => patch.snk = Some(v),
        }
        patch
    }
}

#[derive(Debug, Serialize, Deserialize)]
enum Step {
    /// Waiting for the new value of a field.
    Edit {
        code: String,
        field: Field,
    },
    /// Waiting for ✅ to save a change.
    Save {
        code: String,
        change: Change,
    },
    /// A new product: its code, then its name, then its price, then ✅.
    NewCode,
    NewName {
        code: String,
    },
    NewPrice {
        code: String,
        name: String,
    },
    Create {
        code: String,
        name: String,
        price: i64,
    },
    /// Waiting for ✅ to delete.
    Delete {
        code: String,
    },
}

pub async fn open(cx: &Cx) -> HandlerResult {
    list(cx, 0).await
}

pub async fn on_callback(cx: &Cx, args: &mut Args<'_>) -> HandlerResult {
    let t = texts::of(cx.locale);
    match args.word() {
        Some("l") => list(cx, args.num().unwrap_or(0)).await,
        Some("n") => {
            cx.ask(Area::Products, &Step::NewCode, t.ask_code.to_owned())
                .await
        }
        Some("v") => match args.word() {
            Some(code) => view(cx, code).await,
            None => cx.toast(cx.t().stale).await,
        },
        Some("e") => match (args.word(), args.word().and_then(Field::from_code)) {
            (Some(code), Some(field)) => ask_field(cx, code, field).await,
            _ => cx.toast(cx.t().stale).await,
        },
        Some("k") => match args.word() {
            Some(code) => categories::pick_for(cx, code).await,
            None => cx.toast(cx.t().stale).await,
        },
        Some("kc") => match (args.word(), args.num::<i64>()) {
            (Some(code), Some(category)) => {
                let patch = ProductPatch {
                    category_id: Some((category > 0).then_some(category)),
                    ..ProductPatch::default()
                };
                save(cx, code, patch).await
            }
            _ => cx.toast(cx.t().stale).await,
        },
        Some("t") => match args.word() {
            Some(code) => toggle(cx, code).await,
            None => cx.toast(cx.t().stale).await,
        },
        Some("d") => match args.word() {
            Some(code) => confirm_delete(cx, code).await,
            None => cx.toast(cx.t().stale).await,
        },
        Some(word) if word.starts_with('c') => categories::on_callback(cx, word, args).await,
        _ => cx.toast(cx.t().stale).await,
    }
}

pub async fn on_input(cx: &Cx, step: Value, msg: &Message) -> HandlerResult {
    let Some(step) = Cx::step::<Step>(step.clone()) else {
        return categories::on_input(cx, step, msg).await;
    };
    let t = texts::of(cx.locale);
    let Some(text) = msg.text().map(str::trim) else {
        return cx.again(cx.t().text_expected.to_owned()).await;
    };
    match step {
        Step::Edit { code, field } => match read(field, text) {
            Ok(change) => confirm_change(cx, code, change).await,
            Err(()) => cx.again(bad_line(t, field).to_owned()).await,
        },
        Step::NewCode => {
            if products::check_code(text).is_err() {
                return cx.again(t.bad_code.to_owned()).await;
            }
            let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
            let taken = products::product(&mut tx, text).await.is_ok();
            tx.commit().await?;
            if taken {
                return cx.again(fill(t.code_taken, &[("code", text)])).await;
            }
            let step = Step::NewName {
                code: text.to_owned(),
            };
            cx.ask(Area::Products, &step, t.ask_new_name.to_owned())
                .await
        }
        Step::NewName { code } => match read(Field::Name, text) {
            Ok(Change::Name(name)) => {
                let step = Step::NewPrice { code, name };
                cx.ask(Area::Products, &step, t.ask_new_price.to_owned())
                    .await
            }
            _ => cx.again(t.bad_name.to_owned()).await,
        },
        Step::NewPrice { code, name } => match read(Field::Price, text) {
            Ok(Change::Price(price)) => {
                let summary = fill(
                    t.new_summary,
                    &[
                        ("code", &code),
                        ("name", &escape(&name)),
                        ("price", &rupiah(price)),
                    ],
                );
                let step = Step::Create { code, name, price };
                cx.confirm(Area::Products, &step, summary).await
            }
            _ => cx.again(t.bad_price.to_owned()).await,
        },
        Step::Save { .. } | Step::Create { .. } | Step::Delete { .. } => cx.stale().await,
    }
}

pub async fn on_confirm(cx: &Cx, step: Value) -> HandlerResult {
    let t = texts::of(cx.locale);
    let Some(step) = Cx::step::<Step>(step.clone()) else {
        return categories::on_confirm(cx, step).await;
    };
    match step {
        Step::Save { code, change } => save(cx, &code, change.into_patch()).await,
        Step::Create { code, name, price } => {
            let new = NewProduct {
                code,
                name,
                description: String::new(),
                price,
                category_id: None,
                active: true,
                sort: 0,
                snk: None,
            };
            let tenant = cx.tenant();
            let mut tx = cx.ctx.db.tenant(tenant.id).await?;
            let created = match products::create_product(&mut tx, tenant.id, &cx.actor(), new).await
            {
                Ok(created) => created,
                Err(error) => return cx.fail(error, Area::Products).await,
            };
            tx.commit().await?;
            cx.ctx.catalog.invalidate(tenant.id);
            let text = fill(t.created, &[("name", &escape(&created.name))]);
            cx.finish(text, Area::Products).await
        }
        Step::Delete { code } => delete(cx, &code).await,
        _ => cx.stale().await,
    }
}

/// The products, a page at a time, each a button that opens it.
async fn list(cx: &Cx, page: u32) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let mut all = products::list_products(&mut tx, None, None, ALL).await?;
    tx.commit().await?;
    all.sort_by(|a, b| (a.sort, &a.name, a.id).cmp(&(b.sort, &b.name, b.id)));
    let mut keyboard = vec![vec![
        InlineKeyboardButton::callback(t.new_product, Area::Products.data(&[&"n"])),
        InlineKeyboardButton::callback(t.categories, Area::Products.data(&[&"c"])),
    ]];
    let text = if all.is_empty() {
        t.empty.to_owned()
    } else {
        let paged = paginate(all.len(), page, PER_PAGE);
        keyboard.extend(all[paged.start..paged.end].iter().map(|p| {
            let label = fill(
                t.row,
                &[
                    ("inactive", if p.active { "" } else { t.inactive_mark }),
                    ("name", &p.name),
                    ("price", &rupiah(p.price)),
                ],
            );
            vec![InlineKeyboardButton::callback(
                label,
                Area::Products.data(&[&"v", &p.code]),
            )]
        }));
        let nav = nav_row(cx.t(), paged, |p| Area::Products.data(&[&"l", &p]));
        if !nav.is_empty() {
            keyboard.push(nav);
        }
        fill(t.title, &[("count", &all.len().to_string())])
    };
    keyboard.extend(cx.back_keyboard(Area::Menu).inline_keyboard);
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

/// One product, every field, and a button per field.
pub(super) async fn view(cx: &Cx, code: &str) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let found = products::product(&mut tx, code).await;
    let product = match found {
        Ok(product) => product,
        Err(error) => return cx.fail(error, Area::Products).await,
    };
    let category = match product.category_id {
        Some(id) => store_categories::list(&mut tx)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .map(|c| c.name),
        None => None,
    };
    tx.commit().await?;
    let text = fill(
        t.view,
        &[
            ("name", &escape(&product.name)),
            ("code", &product.code),
            ("price", &rupiah(product.price)),
            (
                "category",
                &category.map_or_else(|| t.none.to_owned(), |c| escape(&c)),
            ),
            ("state", if product.active { t.active } else { t.inactive }),
            ("sort", &product.sort.to_string()),
            ("description", &shown(t, &product.description, 600)),
            ("snk", &shown(t, product.snk.as_deref().unwrap_or(""), 600)),
        ],
    );
    let data = |action: &str, extra: Option<&str>| {
        let mut parts: Vec<&dyn std::fmt::Display> = vec![&action, &product.code];
        if let Some(extra) = &extra {
            parts.push(extra);
        }
        Area::Products.data(&parts)
    };
    let button = |label: &str, action: &str, extra: Option<&str>| {
        InlineKeyboardButton::callback(label.to_owned(), data(action, extra))
    };
    let mut keyboard = vec![
        vec![
            button(t.edit_name, "e", Some(Field::Name.code())),
            button(t.edit_price, "e", Some(Field::Price.code())),
        ],
        vec![
            button(t.edit_description, "e", Some(Field::Description.code())),
            button(t.edit_snk, "e", Some(Field::Snk.code())),
        ],
        vec![
            button(t.edit_category, "k", None),
            button(t.edit_sort, "e", Some(Field::Sort.code())),
        ],
        vec![
            button(
                if product.active {
                    t.deactivate
                } else {
                    t.activate
                },
                "t",
                None,
            ),
            button(t.delete, "d", None),
        ],
    ];
    keyboard.extend(cx.back_keyboard(Area::Products).inline_keyboard);
    cx.show(text, InlineKeyboardMarkup::new(keyboard)).await
}

async fn ask_field(cx: &Cx, code: &str, field: Field) -> HandlerResult {
    let t = texts::of(cx.locale);
    let Some(product) = find(cx, code).await? else {
        return Ok(());
    };
    let prompt = match field {
        Field::Name => t.ask_name,
        Field::Description => t.ask_description,
        Field::Price => t.ask_price,
        Field::Sort => t.ask_sort,
        Field::Snk => t.ask_snk,
    };
    let prompt = fill(prompt, &[("name", &escape(&product.name))]);
    let step = Step::Edit {
        code: product.code,
        field,
    };
    cx.ask(Area::Products, &step, prompt).await
}

/// Shows the field's value before and after, with ✅ and ❌.
async fn confirm_change(cx: &Cx, code: String, change: Change) -> HandlerResult {
    let t = texts::of(cx.locale);
    let Some(product) = find(cx, &code).await? else {
        return Ok(());
    };
    let (label, before, after) = match &change {
        Change::Name(v) => (t.field_name, product.name.clone(), v.clone()),
        Change::Description(v) => (t.field_description, product.description.clone(), v.clone()),
        Change::Price(v) => (t.field_price, rupiah(product.price), rupiah(*v)),
        Change::Sort(v) => (t.field_sort, product.sort.to_string(), v.to_string()),
        Change::Snk(v) => (
            t.field_snk,
            product.snk.clone().unwrap_or_default(),
            v.clone().unwrap_or_default(),
        ),
    };
    let summary = fill(
        t.change,
        &[
            ("field", label),
            ("before", &shown(t, &before, 1500)),
            ("after", &shown(t, &after, 1500)),
        ],
    );
    cx.confirm(Area::Products, &Step::Save { code, change }, summary)
        .await
}

/// Saves a change and shows the product again.
async fn save(cx: &Cx, code: &str, patch: ProductPatch) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let saved = match products::update_product(&mut tx, tenant.id, &cx.actor(), code, patch).await {
        Ok(saved) => saved,
        Err(error) => return cx.fail(error, Area::Products).await,
    };
    tx.commit().await?;
    cx.ctx.catalog.invalidate(tenant.id);
    let text = fill(t.saved, &[("name", &escape(&saved.name))]);
    cx.finish(text, Area::Products).await
}

async fn toggle(cx: &Cx, code: &str) -> HandlerResult {
    let Some(product) = find(cx, code).await? else {
        return Ok(());
    };
    let patch = ProductPatch {
        active: Some(!product.active),
        ..ProductPatch::default()
    };
    save(cx, code, patch).await
}

async fn confirm_delete(cx: &Cx, code: &str) -> HandlerResult {
    let t = texts::of(cx.locale);
    let Some(product) = find(cx, code).await? else {
        return Ok(());
    };
    let summary = fill(t.confirm_delete, &[("name", &escape(&product.name))]);
    let step = Step::Delete { code: product.code };
    cx.confirm(Area::Products, &step, summary).await
}

async fn delete(cx: &Cx, code: &str) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let name = match products::product(&mut tx, code).await {
        Ok(product) => product.name,
        Err(error) => return cx.fail(error, Area::Products).await,
    };
    let removal = match products::delete_product(&mut tx, tenant.id, &cx.actor(), code).await {
        Ok(removal) => removal,
        Err(error) => return cx.fail(error, Area::Products).await,
    };
    tx.commit().await?;
    cx.ctx.catalog.invalidate(tenant.id);
    let text = match removal {
        Removal::Deleted => t.deleted,
        Removal::DeactivatedOpenOrders => t.deactivated_open,
        Removal::DeactivatedSoldHistory => t.deactivated_history,
    };
    cx.finish(fill(text, &[("name", &escape(&name))]), Area::Products)
        .await
}

/// The product, or the "not found" answer already given.
async fn find(cx: &Cx, code: &str) -> anyhow::Result<Option<Product>> {
    let mut tx = cx.ctx.db.tenant(cx.ctx.tenant_id()).await?;
    let found = products::product(&mut tx, code).await;
    tx.commit().await?;
    match found {
        Ok(product) => Ok(Some(product)),
        Err(error @ OpError::NotFound { .. }) => {
            cx.fail(error, Area::Products).await?;
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// Reads a typed value for `field` with the same rules the domain applies.
fn read(field: Field, text: &str) -> Result<Change, ()> {
    let cleared = |text: &str| (text != "-").then(|| text.to_owned());
    match field {
        Field::Name => products::check_text("name", text, MAX_NAME)
            .map(|()| Change::Name(text.to_owned()))
            .map_err(drop),
        Field::Description => {
            let value = cleared(text).unwrap_or_default();
            products::check_optional_text("description", &value, MAX_DESCRIPTION)
                .map(|()| Change::Description(value))
                .map_err(drop)
        }
        Field::Price => money::parse(text)
            .filter(|price| products::check_price(*price).is_ok())
            .map(Change::Price)
            .ok_or(()),
        Field::Sort => text.parse().map(Change::Sort).map_err(drop),
        Field::Snk => {
            let value = cleared(text);
            products::check_optional_text("snk", value.as_deref().unwrap_or(""), MAX_SNK)
                .map(|()| Change::Snk(value))
                .map_err(drop)
        }
    }
}

fn bad_line(t: &ProductsTexts, field: Field) -> &'static str {
    match field {
        Field::Name => t.bad_name,
        Field::Description => t.bad_description,
        Field::Price => t.bad_price,
        Field::Sort => t.bad_sort,
        Field::Snk => t.bad_snk,
    }
}

/// A text for a screen: escaped, cut at `max` characters, `-` when empty.
fn shown(t: &ProductsTexts, text: &str, max: usize) -> String {
    if text.is_empty() {
        return t.none.to_owned();
    }
    if text.chars().count() <= max {
        return escape(text);
    }
    let cut: String = text.chars().take(max).collect();
    format!("{}…", escape(&cut))
}

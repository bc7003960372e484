//! Backup and restore in the chat: the store's catalog document (`store::catalog_doc`, the
//! same document as `GET/PUT .../catalog`) as a JSON file, and a file sent back restored all
//! or nothing after a summary and a confirmation.
//!
//! The confirmation remembers the file's Telegram id, not its contents: a backup can be
//! megabytes, and dialogue states are small rows. ✅ fetches the file again and imports it in
//! one transaction, so a file that changed, vanished or broke in between changes nothing.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use teloxide::{
    prelude::*,
    types::{FileId, FileMeta, InlineKeyboardButton, InlineKeyboardMarkup, Message},
    utils::html::escape,
};
use time::OffsetDateTime;

use super::{Area, Args, Cx};
use crate::{
    bot::{
        HandlerResult,
        texts::{
            admin::{backup as texts, refusals},
            fill,
        },
    },
    store::catalog_doc::{self, CatalogDocument, ImportError},
};

/// The largest backup the chat takes: the API's limit for the same document.
const FILE_LIMIT: usize = crate::http::api::catalog::BODY_LIMIT;
/// How many of a refused document's problems the admin is shown.
const ERRORS_SHOWN: usize = 10;

#[derive(Debug, Serialize, Deserialize)]
enum Step {
    /// Waiting for the file.
    File,
    /// A valid file, waiting for ✅.
    Confirm { file_id: String },
}

pub async fn open(cx: &Cx) -> HandlerResult {
    let t = texts::of(cx.locale);
    let mut keyboard = vec![
        vec![InlineKeyboardButton::callback(
            t.download,
            Area::Backup.data(&[&"d"]),
        )],
        vec![InlineKeyboardButton::callback(
            t.restore,
            Area::Backup.data(&[&"r"]),
        )],
    ];
    keyboard.extend(cx.back_keyboard(Area::Menu).inline_keyboard);
    cx.show(t.title.to_owned(), InlineKeyboardMarkup::new(keyboard))
        .await
}

pub async fn on_callback(cx: &Cx, args: &mut Args<'_>) -> HandlerResult {
    let t = texts::of(cx.locale);
    match args.word() {
        Some("d") => download(cx).await,
        Some("r") => {
            let prompt = fill(t.ask_file, &[("limit", &megabytes(FILE_LIMIT))]);
            cx.ask(Area::Backup, &Step::File, prompt).await
        }
        _ => cx.toast(cx.t().stale).await,
    }
}

pub async fn on_input(cx: &Cx, step: Value, msg: &Message) -> HandlerResult {
    let t = texts::of(cx.locale);
    if !matches!(
        Cx::step(step),
        Some(Step::File) | Some(Step::Confirm { .. })
    ) {
        return cx.stale().await;
    }
    let Some(document) = msg.document() else {
        return cx.again(t.not_a_file.to_owned()).await;
    };
    let doc = match read(cx, &document.file).await? {
        Ok(doc) => doc,
        Err(line) => return cx.again(line).await,
    };
    let draft = Step::Confirm {
        file_id: document.file.id.0.clone(),
    };
    let summary = fill_counts(t, t.summary, &doc);
    cx.confirm(Area::Backup, &draft, summary).await
}

pub async fn on_confirm(cx: &Cx, step: Value) -> HandlerResult {
    let t = texts::of(cx.locale);
    let Some(Step::Confirm { file_id }) = Cx::step(step) else {
        return cx.stale().await;
    };
    let file = cx.bot.get_file(FileId(file_id)).await;
    let Ok(file) = file else {
        return cx.finish(t.file_gone.to_owned(), Area::Backup).await;
    };
    let doc = match read(cx, &file.meta).await? {
        Ok(doc) => doc,
        Err(line) => return cx.finish(line, Area::Backup).await,
    };
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    // The import writes its own audit row (`catalog.import`) in this transaction.
    let actor = cx.actor();
    let summary = match catalog_doc::import(&mut tx, &cx.ctx.sealer, tenant.id, &actor, &doc).await
    {
        Ok(summary) => summary,
        Err(ImportError::Invalid(errors)) => {
            drop(tx);
            return cx.finish(invalid(cx, &errors.0), Area::Backup).await;
        }
        Err(ImportError::Database(error)) => return Err(error.into()),
        Err(ImportError::Settings(error)) => return Err(error.into()),
    };
    tx.commit().await?;
    cx.ctx.catalog.invalidate(tenant.id);
    let text = fill(
        t.restored,
        &[
            ("categories", &summary.categories.to_string()),
            ("products", &summary.products.to_string()),
            ("stock", &summary.stock_items.to_string()),
            ("archived", &summary.archived.to_string()),
            ("deleted", &summary.deleted.to_string()),
        ],
    );
    cx.finish(text, Area::Backup).await
}

/// Sends the store's catalog as a JSON file.
async fn download(cx: &Cx) -> HandlerResult {
    let t = texts::of(cx.locale);
    let tenant = cx.tenant();
    let mut tx = cx.ctx.db.tenant(tenant.id).await?;
    let doc = catalog_doc::export(&mut tx, &cx.ctx.sealer, tenant.id).await?;
    tx.commit().await?;
    let bytes = serde_json::to_vec_pretty(&doc)?;
    let now = OffsetDateTime::now_utc();
    let name = format!(
        "backup-{}-{:04}{:02}{:02}-{:02}{:02}.json",
        tenant.slug,
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    );
    cx.send_document(name, bytes, fill_counts(t, t.caption, &doc))
        .await
}

/// Downloads and checks a backup file; `Err` is the one line that says what is wrong with it.
async fn read(cx: &Cx, file: &FileMeta) -> anyhow::Result<Result<CatalogDocument, String>> {
    let t = texts::of(cx.locale);
    let Some(bytes) = cx.download(file, FILE_LIMIT).await? else {
        return Ok(Err(fill(t.too_large, &[("limit", &megabytes(FILE_LIMIT))])));
    };
    let doc: CatalogDocument = match serde_json::from_slice(&bytes) {
        Ok(doc) => doc,
        // serde's own wording is English and names Rust types: the admin gets what kind of
        // file it is and, for JSON of another shape, where it stops fitting.
        Err(error) if error.is_data() => {
            let line = error.line().to_string();
            return Ok(Err(fill(t.not_a_backup, &[("line", &line)])));
        }
        Err(_) => return Ok(Err(t.not_json.to_owned())),
    };
    if let Err(errors) = catalog_doc::validate(&doc) {
        return Ok(Err(invalid(cx, &errors.0)));
    }
    Ok(Ok(doc))
}

/// The document's problems, each as its path and what is wrong there in the admin's language
/// (the messages themselves are the API's English).
fn invalid(cx: &Cx, errors: &[crate::tenants::model::FieldError]) -> String {
    let t = texts::of(cx.locale);
    let mut lines: Vec<String> = errors
        .iter()
        .take(ERRORS_SHOWN)
        .map(|e| {
            let what = refusals::document_field(cx.locale, &e.field);
            format!("• <code>{}</code>: {what}", escape(&e.field))
        })
        .collect();
    if errors.len() > ERRORS_SHOWN {
        lines.push(format!("… +{}", errors.len() - ERRORS_SHOWN));
    }
    fill(t.invalid, &[("errors", &lines.join("\n"))])
}

/// Fills `{categories}`, `{products}`, `{stock}`, `{templates}`, `{coupons}` and `{settings}`
/// with what the document carries, so the admin sees everything a restore would replace.
fn fill_counts(t: &texts::BackupTexts, template: &str, doc: &CatalogDocument) -> String {
    let stock: usize = doc.products.iter().map(|p| p.stock_lines().len()).sum();
    let settings = match doc.settings {
        Some(_) => t.settings_included,
        None => t.settings_absent,
    };
    fill(
        template,
        &[
            ("categories", &doc.categories.len().to_string()),
            ("products", &doc.products.len().to_string()),
            ("stock", &stock.to_string()),
            ("templates", &doc.templates.len().to_string()),
            ("coupons", &doc.coupons.len().to_string()),
            ("settings", settings),
        ],
    )
}

fn megabytes(bytes: usize) -> String {
    format!("{} MB", bytes / (1024 * 1024))
}

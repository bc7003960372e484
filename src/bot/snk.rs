//! SNK: the customer fulfils a product's terms after delivery (`✅ Penuhi SNK`), the
//! submission is stored sealed and forwarded to the store's admins, who approve or reject it.

use std::sync::Arc;

use teloxide::{
    payloads::{SendMessageSetters, SendPhotoSetters},
    prelude::*,
    types::{CallbackQuery, ChatId, FileId, InlineKeyboardMarkup, InputFile, ParseMode},
    utils::html::escape,
};

use super::{
    CustomerDialogue, HandlerResult, StoreBot, StoreCtx,
    callbacks::Callback,
    customer::{Reply, start, texts_for},
    dialogue::State,
    texts::{Texts, fill, menu_button, texts},
    ui::{self, button},
};
use crate::store::{
    audit::Actor,
    customers::Customer,
    error::OpError,
    orders,
    snk::{self, Status},
};

/// Telegram allows 1024 characters in a photo caption; a long text is cut for the admins.
const CAPTION_LIMIT: usize = 900;

/// Handles `✅ Penuhi SNK` and the admins' approve and reject buttons.
pub async fn on_callback(
    bot: &StoreBot,
    q: &CallbackQuery,
    ctx: &StoreCtx,
    t: &Texts,
    dialogue: &CustomerDialogue,
    callback: Callback,
) -> HandlerResult {
    let user = q.from.id.0 as i64;
    match callback {
        Callback::SnkFulfil { order, product } => {
            let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
            let name = snk::fulfillable(&mut tx, user, order, product).await?;
            tx.commit().await?;
            let Some(name) = name else {
                return Ok(ui::notice(bot, q, t.snk_not_available, true).await?);
            };
            dialogue
                .update(State::SubmittingSnk {
                    order_id: order,
                    product_id: product,
                })
                .await?;
            ui::notice(bot, q, "", false).await?;
            let text = fill(t.snk_prompt, &[("product", &escape(&name))]);
            Reply::text(text).send(bot, ChatId(user)).await
        }
        Callback::SnkApprove { id } => decide(bot, q, ctx, t, id, Status::Approved).await,
        Callback::SnkReject { id } => decide(bot, q, ctx, t, id, Status::Rejected).await,
        _ => Ok(()),
    }
}

/// What the customer sent after `✅ Penuhi SNK`: a text, a screenshot, or a screenshot with a
/// caption.
pub async fn submitted(
    bot: StoreBot,
    msg: Message,
    ctx: Arc<StoreCtx>,
    customer: Customer,
    dialogue: CustomerDialogue,
    (order_id, product_id): (i64, i64),
) -> HandlerResult {
    if msg.text().and_then(menu_button).is_some() {
        // The customer moved on to the menu instead of sending a submission.
        dialogue.exit().await?;
        return start::text(bot, msg, ctx, customer, dialogue).await;
    }
    let t = texts_for(&ctx, &customer);
    let user = msg.chat.id.0;
    let text = msg
        .text()
        .or(msg.caption())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let photo = msg
        .photo()
        .and_then(|sizes| sizes.last())
        .map(|size| size.file.id.0.clone());
    if text.is_none() && photo.is_none() {
        return Reply::text(t.snk_empty.to_owned())
            .send(&bot, msg.chat.id)
            .await;
    }
    let tenant = ctx.tenant();
    let mut tx = ctx.db.tenant(tenant.id).await?;
    let Some(product) = snk::fulfillable(&mut tx, user, order_id, product_id).await? else {
        drop(tx);
        dialogue.exit().await?;
        return Reply::text(t.snk_not_available.to_owned())
            .send(&bot, msg.chat.id)
            .await;
    };
    let code = orders::get(&mut tx, order_id)
        .await?
        .map(|o| o.code)
        .unwrap_or_default();
    let id = snk::submit(
        &mut tx,
        &ctx.sealer,
        tenant.id,
        user,
        order_id,
        product_id,
        text,
        photo.as_deref(),
    )
    .await?;
    tx.commit().await?;
    dialogue.exit().await?;
    Reply::text(t.snk_received.to_owned())
        .send(&bot, msg.chat.id)
        .await?;
    // The submission waits in the store's pending list either way; the switch only decides
    // whether the staff are told at once.
    let forward_to = if tenant.settings.notifications.snk_submission {
        tenant.staff()
    } else {
        Vec::new()
    };
    for admin in forward_to {
        let t = texts(ctx.locale_of(admin));
        let summary = fill(
            t.snk_admin,
            &[
                ("customer", &user.to_string()),
                ("code", &code),
                ("product", &escape(&product)),
                ("text", &escape(text.unwrap_or("-"))),
            ],
        );
        let keyboard = InlineKeyboardMarkup::new([[
            button(t.snk_approve_button, Callback::SnkApprove { id }),
            button(t.snk_reject_button, Callback::SnkReject { id }),
        ]]);
        let sent = match &photo {
            Some(file) => bot
                .send_photo(ChatId(admin), InputFile::file_id(FileId(file.clone())))
                .caption(cut(&summary))
                .parse_mode(ParseMode::Html)
                .reply_markup(keyboard)
                .await
                .map(drop),
            None => bot
                .send_message(ChatId(admin), summary)
                .parse_mode(ParseMode::Html)
                .reply_markup(keyboard)
                .await
                .map(drop),
        };
        // One admin who blocked the bot must not keep the others from hearing of it.
        if let Err(error) = sent {
            tracing::warn!(%error, admin, "could not forward an SNK submission to an admin");
        }
    }
    Ok(())
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(CAPTION_LIMIT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// An admin approves or rejects a submission from the buttons under the forwarded copy.
async fn decide(
    bot: &StoreBot,
    q: &CallbackQuery,
    ctx: &StoreCtx,
    t: &Texts,
    id: i64,
    status: Status,
) -> HandlerResult {
    let admin = q.from.id.0 as i64;
    if !ctx.tenant().is_admin(admin) {
        return Ok(ui::notice(bot, q, t.admins_only, true).await?);
    }
    match review(bot, ctx, id, status, None, &Actor::Admin(admin)).await? {
        Ok(()) => {
            ui::notice(bot, q, t.snk_decided, false).await?;
            if let Some(message) = q.regular_message() {
                // The buttons go once the decision is made; an old message may refuse the edit.
                bot.edit_message_reply_markup(message.chat.id, message.id)
                    .await
                    .ok();
            }
            Ok(())
        }
        Err(_) => Ok(ui::notice(bot, q, t.snk_already_decided, true).await?),
    }
}

/// Records a decision (once, audited) and tells the customer, with the admin's note if any.
/// The inner `Err` is the operation's refusal (decided before, not found, a bad note).
pub async fn review(
    bot: &StoreBot,
    ctx: &StoreCtx,
    id: i64,
    status: Status,
    note: Option<&str>,
    actor: &Actor,
) -> anyhow::Result<Result<(), OpError>> {
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let decided = match snk::review(&mut tx, ctx.tenant_id(), id, status, note, actor).await {
        Ok(decided) => decided,
        Err(OpError::Database(e)) => return Err(e.into()),
        Err(refused) => return Ok(Err(refused)),
    };
    tx.commit().await?;
    let customer_texts = texts(ctx.locale_of(decided.customer_id));
    let template = if status == Status::Approved {
        customer_texts.snk_approved
    } else {
        customer_texts.snk_rejected
    };
    let mut text = fill(
        template,
        &[
            ("product", &escape(&decided.product)),
            ("code", &decided.order_code),
        ],
    );
    if let Some(note) = note.map(str::trim).filter(|n| !n.is_empty()) {
        text.push_str("\n\n");
        text.push_str(&fill(customer_texts.snk_note, &[("note", &escape(note))]));
    }
    // The decision stands even when the customer blocked the bot meanwhile.
    if let Err(error) = ui::send(bot, ChatId(decided.customer_id), text, None).await {
        tracing::warn!(%error, "could not tell a customer of an SNK decision");
    }
    Ok(Ok(()))
}

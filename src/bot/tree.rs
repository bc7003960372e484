//! The handler tree and the middleware around it.

use std::{
    collections::{BTreeMap, BTreeSet},
    ops::ControlFlow,
    sync::Arc,
    time::Instant,
};

use dptree::{HandlerDescription, HandlerSignature, di::DependencyMap};
use teloxide::{
    ApiError, RequestError,
    dispatching::{DpHandlerDescription, UpdateHandler},
    prelude::*,
    types::{CallbackQuery, ChatMemberUpdated, Update},
};
use tracing::Instrument;

use super::{
    HandlerResult, StoreBot, StoreCtx, admin, antispam,
    customer::{self, Command},
    dialogue::{State, TenantDialogues},
    payments, snk,
};
use crate::store::customers::{Contact, Customer};

/// Builds the handler tree that every store's dispatcher shares.
pub fn handler_tree() -> UpdateHandler<anyhow::Error> {
    let private_messages = Update::filter_message()
        .filter(|msg: Message| msg.chat.is_private() && msg.from.is_some())
        .map_async(touch_customer)
        .enter_dialogue::<Message, TenantDialogues, State>()
        .branch(
            dptree::entry()
                .filter_command::<Command>()
                .endpoint(customer::command),
        )
        .branch(dptree::case![State::ChoosingLanguage].endpoint(customer::language_chosen))
        .branch(dptree::case![State::EnteringCoupon].endpoint(customer::coupon_entered))
        .branch(
            dptree::case![State::EnteringDepositAmount]
                .endpoint(payments::handlers::deposit_amount_entered),
        )
        .branch(
            dptree::case![State::SubmittingSnk {
                order_id,
                product_id
            }]
            .endpoint(snk::submitted),
        )
        .branch(dptree::case![State::Admin(step)].endpoint(admin::on_input))
        .branch(dptree::endpoint(customer::start::text));
    let buttons = Update::filter_callback_query()
        .map_async(touch_customer)
        .enter_dialogue::<CallbackQuery, TenantDialogues, State>()
        .endpoint(customer::callback);
    let membership = Update::filter_my_chat_member().endpoint(membership_changed);

    observed().chain(
        dptree::entry().branch(membership).branch(
            dptree::filter_async(not_spam)
                .branch(private_messages)
                .branch(buttons),
        ),
    )
}

/// Records the customer behind an update and hands what is known of them to the handlers.
///
/// A database failure here must not make the bot mute: the customer is answered in the store's
/// language and recorded on a later update.
async fn touch_customer(update: Update, ctx: Arc<StoreCtx>) -> Customer {
    let contact = update.from().map(|user| Contact {
        user_id: user.id.0 as i64,
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        username: user.username.clone(),
        language_code: user.language_code.clone(),
    });
    let Some(contact) = contact else {
        return Customer { language: None };
    };
    match ctx
        .customers
        .touch(&ctx.db, ctx.tenant_id(), &contact)
        .await
    {
        Ok(customer) => customer,
        Err(error) => {
            tracing::warn!(%error, "could not record the customer");
            Customer { language: None }
        }
    }
}

/// The anti-spam gate for what customers send and press, when the store's updates were not
/// already counted on arrival (polling mode).
async fn not_spam(update: Update, ctx: Arc<StoreCtx>, bot: StoreBot) -> bool {
    ctx.gated_on_arrival || antispam::gate(&ctx, &bot, &update)
}

/// Telegram reports that a customer blocked (or unblocked) the bot.
async fn membership_changed(update: ChatMemberUpdated, ctx: Arc<StoreCtx>) -> HandlerResult {
    if !update.chat.is_private() {
        return Ok(());
    }
    let blocked = update.new_chat_member.is_banned() || update.new_chat_member.is_left();
    ctx.customers
        .mark_blocked(&ctx.db, ctx.tenant_id(), update.from.id.0 as i64, blocked)
        .await?;
    Ok(())
}

/// Middleware around the whole tree: a tracing span carrying the store's slug, the per-store
/// update counter, the latency histogram and the error counter.
fn observed() -> UpdateHandler<anyhow::Error> {
    let signature = HandlerSignature::Other {
        obligations: BTreeMap::new(),
        guaranteed_outcomes: BTreeSet::new(),
        conditional_outcomes: BTreeSet::new(),
        continues: true,
    };
    dptree::from_fn_with_description(
        DpHandlerDescription::entry(),
        |deps: DependencyMap, cont| async move {
            let ctx = deps.try_get::<Arc<StoreCtx>>().map(|ctx| Arc::clone(&ctx));
            let update = deps.try_get::<Update>();
            let slug = ctx
                .as_ref()
                .map(|ctx| ctx.tenant().slug.clone())
                .unwrap_or_default();
            let span = tracing::info_span!(
                "update",
                store = %slug,
                update_id = update.as_ref().map(|u| u.id.0).unwrap_or_default()
            );
            let started = Instant::now();
            let outcome = cont(deps).instrument(span.clone()).await;
            metrics::counter!("tokobot_updates_total", "store" => slug.clone()).increment(1);
            metrics::histogram!("tokobot_update_duration_seconds", "store" => slug.clone())
                .record(started.elapsed().as_secs_f64());
            if let ControlFlow::Break(Err(error)) = &outcome {
                let blocked_by = update
                    .as_ref()
                    .and_then(|u| u.from())
                    .map(|u| u.id.0 as i64);
                match (ctx, blocked_by) {
                    (Some(ctx), Some(user)) if is_blocked(error) => {
                        // Not a fault of ours: the customer blocked the bot. Stop writing to them.
                        metrics::counter!("tokobot_blocked_customers_total", "store" => slug)
                            .increment(1);
                        if let Err(error) = ctx
                            .customers
                            .mark_blocked(&ctx.db, ctx.tenant_id(), user, true)
                            .await
                        {
                            span.in_scope(
                                || tracing::warn!(%error, "could not mark a customer as blocked"),
                            );
                        }
                    }
                    (ctx, _) => {
                        if let Some(ctx) = ctx {
                            ctx.note_handler_error();
                        }
                        metrics::counter!("tokobot_handler_errors_total", "store" => slug)
                            .increment(1);
                        span.in_scope(|| {
                            tracing::error!(error = format!("{error:#}"), "update handler failed")
                        });
                    }
                }
            }
            outcome
        },
        signature,
    )
}

/// Whether Telegram refused a send because the customer blocked the bot or left Telegram.
fn is_blocked(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<RequestError>(),
            Some(RequestError::Api(
                ApiError::BotBlocked | ApiError::UserDeactivated
            ))
        )
    })
}

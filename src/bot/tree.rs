//! The handler tree and the middleware around it.

use std::{ops::ControlFlow, sync::Arc, time::Instant};

use dptree::{HandlerDescription, Type, di::DependencyMap};
use teloxide::{
    ApiError, RequestError,
    dispatching::{DpHandlerDescription, UpdateHandler},
    prelude::*,
    types::{CallbackQuery, ChatMemberUpdated, Update, UpdateId, UpdateKind},
};
use tracing::Instrument;

use super::{
    HandlerResult, StoreBot, StoreCtx, admin, antispam,
    customer::{self, Command},
    dialogue::{self, State},
    nodes::{self, pass_on},
    retry, snk,
};
use crate::{
    host::{Admission, TokenWatch, telegram::is_token_rejection},
    store::customers::{Contact, Customer},
};

/// Builds the handler tree that every store's dispatcher shares.
///
/// Its filters look at the update in place (`nodes`), since dptree's own clone what they
/// look at; the handlers at the leaves take their arguments as usual.
pub fn handler_tree() -> UpdateHandler<anyhow::Error> {
    let private_messages = nodes::part(|update| match &update.kind {
        UpdateKind::Message(msg) if msg.chat.is_private() && msg.from.is_some() => Some(msg),
        _ => None,
    })
    .chain(touch_customer())
    .chain(dialogue::enter::<Message>())
    .branch(nodes::command::<Command>().endpoint(customer::command))
    .branch(dptree::case![State::ChoosingLanguage].endpoint(customer::language_chosen))
    .branch(dptree::case![State::EnteringCoupon].endpoint(customer::coupon_entered))
    .branch(
        dptree::case![State::EnteringDepositAmount { prompt }]
            .endpoint(customer::deposit::deposit_amount_entered),
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
    let buttons = nodes::part(|update| match &update.kind {
        UpdateKind::CallbackQuery(q) => Some(q),
        _ => None,
    })
    .chain(touch_customer())
    .chain(dialogue::enter::<CallbackQuery>())
    .endpoint(customer::callback);
    let membership = nodes::part(|update| match &update.kind {
        UpdateKind::MyChatMember(change) => Some(change),
        _ => None,
    })
    .endpoint(membership_changed);

    observed(
        dptree::entry()
            .branch(membership)
            .branch(not_spam().branch(private_messages).branch(buttons)),
    )
}

/// Passes on the [`Customer`] behind the update ([`touch`]).
fn touch_customer() -> UpdateHandler<anyhow::Error> {
    let needs = [Type::of::<Update>(), Type::of::<Arc<StoreCtx>>()];
    dptree::from_fn_with_description(
        DpHandlerDescription::user_defined(),
        |deps: DependencyMap, cont| async move {
            let (update, ctx) = (deps.get::<Update>(), deps.get::<Arc<StoreCtx>>());
            let customer = touch(&update, &ctx).await;
            drop((update, ctx));
            pass_on(deps, customer, cont).await
        },
        nodes::signature(&needs, &[Type::of::<Customer>()]),
    )
}

/// Records the customer behind an update and tells what is known of them.
///
/// A database failure here must not make the bot mute: the customer is answered in the store's
/// language and recorded on a later update.
async fn touch(update: &Update, ctx: &StoreCtx) -> Customer {
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
/// already counted on arrival (polling mode); an update it stops reaches none of the branches
/// behind it.
fn not_spam() -> UpdateHandler<anyhow::Error> {
    let needs = [
        Type::of::<Update>(),
        Type::of::<Arc<StoreCtx>>(),
        Type::of::<StoreBot>(),
    ];
    dptree::from_fn_with_description(
        DpHandlerDescription::user_defined(),
        |deps: DependencyMap, cont| async move {
            let allowed = {
                let ctx = deps.get::<Arc<StoreCtx>>();
                ctx.gated_on_arrival
                    || antispam::gate(
                        &ctx,
                        &deps.get::<StoreBot>(),
                        &deps.get::<Update>(),
                        &tokio::runtime::Handle::current(),
                    )
            };
            if allowed {
                cont(deps).await
            } else {
                ControlFlow::Continue(deps)
            }
        },
        // A filter adds nothing to the map.
        nodes::signature(&needs, &[]),
    )
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

/// Middleware around the whole tree: a tracing span carrying the store's slug, the retry of
/// an update that failed on a transient database fault, the per-store update counter, the
/// latency histogram and the error counter; and, once the tree is done with the update, its
/// admission place given back.
fn observed(tree: UpdateHandler<anyhow::Error>) -> UpdateHandler<anyhow::Error> {
    // The middleware runs the tree itself (as often as a retry needs), so it stands for the
    // tree: the same description (the updates the bot asks Telegram for) and the same
    // signature (what the dispatcher must provide).
    let description = tree.description().clone();
    let signature = tree.sig().clone();
    dptree::from_fn_with_description(
        description,
        move |deps: DependencyMap, cont| {
            let tree = tree.clone();
            async move {
                let ctx = deps.try_get::<Arc<StoreCtx>>().map(|ctx| Arc::clone(&*ctx));
                let update = deps.try_get::<Update>();
                // Dropped last, even if a handler panics: the place goes back in every case.
                let _place = update.as_ref().and_then(|update| {
                    let admission = deps.try_get::<Arc<Admission>>()?;
                    Some(HeldPlace(Arc::clone(&admission), update.id))
                });
                let token_watch = deps.try_get::<TokenWatch>();
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
                // The tree's database round trips are counted as the update's.
                let outcome = crate::db::on_update_path(retry::dispatch(&tree, deps, &slug))
                    .instrument(span.clone())
                    .await;
                metrics::counter!("tokobot_updates_total", "store" => slug.clone()).increment(1);
                metrics::histogram!("tokobot_update_duration_seconds", "store" => slug.clone())
                    .record(started.elapsed().as_secs_f64());
                match outcome {
                    ControlFlow::Break(Err(error)) if is_token_rejection(&error) => {
                        // Revoked since the store started: stop the store, as a start would.
                        if let Some(watch) = token_watch {
                            watch.rejected();
                        }
                        ControlFlow::Break(Err(error))
                    }
                    ControlFlow::Break(Err(error)) => {
                        failed(&error, ctx, update.as_deref(), slug, &span).await;
                        ControlFlow::Break(Err(error))
                    }
                    ControlFlow::Break(Ok(())) => ControlFlow::Break(Ok(())),
                    // Nothing in the tree took the update: whatever follows the tree may.
                    ControlFlow::Continue(deps) => cont(deps).await,
                }
            }
        },
        signature,
    )
}

/// An update's admission place, given back when dropped.
struct HeldPlace(Arc<Admission>, UpdateId);

impl Drop for HeldPlace {
    fn drop(&mut self) {
        self.0.finished(self.1);
    }
}

/// Logs and counts an update that failed for good; a customer who blocked the bot is marked
/// instead, since that is not a fault of ours.
async fn failed(
    error: &anyhow::Error,
    ctx: Option<Arc<StoreCtx>>,
    update: Option<&Update>,
    slug: String,
    span: &tracing::Span,
) {
    let blocked_by = update.and_then(|u| u.from()).map(|u| u.id.0 as i64);
    match (ctx, blocked_by) {
        (Some(ctx), Some(user)) if is_blocked(error) => {
            metrics::counter!("tokobot_blocked_customers_total", "store" => slug).increment(1);
            if let Err(error) = ctx
                .customers
                .mark_blocked(&ctx.db, ctx.tenant_id(), user, true)
                .await
            {
                span.in_scope(|| tracing::warn!(%error, "could not mark a customer as blocked"));
            }
        }
        (ctx, _) => {
            if let Some(ctx) = ctx {
                ctx.note_handler_error();
            }
            metrics::counter!("tokobot_handler_errors_total", "store" => slug).increment(1);
            span.in_scope(|| {
                tracing::error!(error = format!("{error:#}"), "update handler failed")
            });
        }
    }
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

//! Nodes of the handler tree that look at an update where it lies instead of cloning it.
//!
//! dptree hands a closure its arguments by cloning them out of the dependency map. So
//! teloxide's `Update::filter_message()` and its kin clone the whole update to look at its
//! kind, a `filter` taking a `Message` clones the message again, and `filter_command` clones
//! it once more with the bot's identity: a browse update was cloned deeply about seven times
//! before its handler ran, each clone dozens of allocations (a button's update carries the
//! message it belongs to, with its text and keyboard). These nodes borrow from the map and
//! clone only the part they pass on, once. Like dptree's `filter_map`, a node whose
//! continuation takes nothing hands the next branch the map it was given.
//!
//! Their descriptions are dptree's "user defined": the updates the bot asks Telegram for are
//! `host::telegram::ALLOWED_UPDATES`, never derived from the tree.

use std::{collections::BTreeSet, ops::ControlFlow, panic::Location};

use teloxide::{
    dispatching::{DpHandlerDescription, UpdateHandler},
    dptree::{self, HandlerDescription, HandlerSignature, Type, di::DependencyMap},
    types::{Me, Message, Update},
    utils::command::BotCommands,
};

/// The part of an update that `project` finds (its message, its button press), cloned once
/// and passed on; an update without one goes to the next branch.
#[track_caller]
pub fn part<T>(project: fn(&Update) -> Option<&T>) -> UpdateHandler<anyhow::Error>
where
    T: Clone + Send + Sync + 'static,
{
    let signature = signature(&[Type::of::<Update>()], &[Type::of::<T>()]);
    dptree::from_fn_with_description(
        DpHandlerDescription::user_defined(),
        move |deps: DependencyMap, cont| async move {
            let part = project(&deps.get::<Update>()).cloned();
            match part {
                Some(part) => pass_on(deps, part, cont).await,
                None => ControlFlow::Continue(deps),
            }
        },
        signature,
    )
}

/// The message's command `C`, parsed as teloxide's `filter_command` parses it (the text or
/// the caption, addressed to no bot or to this one); a message without one goes on.
#[track_caller]
pub fn command<C>() -> UpdateHandler<anyhow::Error>
where
    C: BotCommands + Send + Sync + 'static,
{
    let signature = signature(
        &[Type::of::<Message>(), Type::of::<Me>()],
        &[Type::of::<C>()],
    );
    dptree::from_fn_with_description(
        DpHandlerDescription::user_defined(),
        |deps: DependencyMap, cont| async move {
            let parsed = {
                let (message, me) = (deps.get::<Message>(), deps.get::<Me>());
                let bot_name = me.user.username.as_deref().unwrap_or_default();
                message
                    .text()
                    .or_else(|| message.caption())
                    .and_then(|text| C::parse(text, bot_name).ok())
            };
            match parsed {
                Some(command) => pass_on(deps, command, cont).await,
                None => ControlFlow::Continue(deps),
            }
        },
        signature,
    )
}

/// Runs the continuation with `value` added; when it takes nothing, the next branch gets the
/// map without it, as after dptree's own `filter_map` and `map`.
pub async fn pass_on<T: Send + Sync + 'static>(
    deps: DependencyMap,
    value: T,
    cont: dptree::Cont<'static, anyhow::Result<()>>,
) -> ControlFlow<anyhow::Result<()>, DependencyMap> {
    let mut given = deps.clone();
    given.insert(value);
    match cont(given).await {
        ControlFlow::Continue(_) => ControlFlow::Continue(deps),
        ControlFlow::Break(result) => ControlFlow::Break(result),
    }
}

/// What a node needs from the map and what it adds to it, for dptree's type check.
#[track_caller]
pub fn signature(needs: &[Type], gives: &[Type]) -> HandlerSignature {
    let location = Location::caller();
    HandlerSignature::Other {
        obligations: needs.iter().map(|&needed| (needed, location)).collect(),
        guaranteed_outcomes: gives.iter().copied().collect(),
        conditional_outcomes: BTreeSet::new(),
        continues: true,
    }
}

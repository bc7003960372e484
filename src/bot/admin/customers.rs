//! The customers area of the admin menu.

use serde_json::Value;
use teloxide::types::Message;

use super::{Args, Cx};
use crate::bot::HandlerResult;

/// Whether the menu offers this area yet.
pub const READY: bool = false;

pub async fn open(cx: &Cx) -> HandlerResult {
    cx.toast(cx.t().stale).await
}

pub async fn on_callback(cx: &Cx, _args: &mut Args<'_>) -> HandlerResult {
    cx.toast(cx.t().stale).await
}

pub async fn on_input(cx: &Cx, _step: Value, _msg: &Message) -> HandlerResult {
    cx.stale().await
}

pub async fn on_confirm(cx: &Cx, _step: Value) -> HandlerResult {
    cx.stale().await
}

//! The update listener of a store in webhook mode: a channel fed by the webhook route.
//!
//! teloxide's own webhook listeners each bind a router to a fixed path; a host with many
//! stores wants one route that looks the store up and pushes the update into that store's
//! channel. Stopping closes the channel for new updates but still drains the ones already
//! accepted (Telegram was told 200 for them), then the stream ends and the dispatcher returns.

use std::{convert::Infallible, future::Future, pin::Pin, task::Poll};

use futures::Stream;
use teloxide::{
    stop::{StopFlag, StopToken, mk_stop_token},
    types::Update,
    update_listeners::{StatefulListener, UpdateListener},
};
use tokio::sync::mpsc;

pub struct Inbox {
    rx: mpsc::Receiver<Update>,
    token: StopToken,
    flag: StopFlag,
    closed: bool,
}

/// A sender for the webhook route, the listener for the dispatcher, and the token that stops it.
///
/// `capacity` is the store's share of admission places (`host::admission`): the route sends
/// only updates that hold a place, so the channel is never the one to refuse them.
pub fn channel(
    capacity: usize,
) -> (
    mpsc::Sender<Update>,
    impl UpdateListener<Err = Infallible> + Send,
    StopToken,
) {
    let (tx, rx) = mpsc::channel(capacity);
    let (token, flag) = mk_stop_token();
    let inbox = Inbox {
        rx,
        token: token.clone(),
        flag,
        closed: false,
    };
    let listener = StatefulListener::new(inbox, updates, |inbox: &mut Inbox| inbox.token.clone());
    (tx, listener, token)
}

fn updates(inbox: &mut Inbox) -> impl Stream<Item = Result<Update, Infallible>> + Send + '_ {
    futures::stream::poll_fn(move |cx| {
        if !inbox.closed && Pin::new(&mut inbox.flag).poll(cx).is_ready() {
            inbox.rx.close();
            inbox.closed = true;
        }
        match inbox.rx.poll_recv(cx) {
            Poll::Ready(update) => Poll::Ready(update.map(Ok)),
            Poll::Pending => Poll::Pending,
        }
    })
}

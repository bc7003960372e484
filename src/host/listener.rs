//! The update listeners of a store, both bounded by the store's admission places.
//!
//! In webhook mode the listener is a channel fed by the webhook route: teloxide's own webhook
//! listeners each bind a router to a fixed path; a host with many stores wants one route that
//! looks the store up and pushes the update into that store's channel. Stopping closes the
//! channel for new updates but still drains the ones already accepted (Telegram was told 200
//! for them), then the stream ends and the dispatcher returns.
//!
//! In polling mode teloxide's `Polling` is wrapped so that each update waits for a place before
//! it is handed on: a store that holds all it may stops fetching, and Telegram keeps the rest.

use std::{convert::Infallible, future::Future, pin::Pin, sync::Arc, task::Poll};

use futures::{Stream, StreamExt};
use teloxide::{
    RequestError,
    stop::{StopFlag, StopToken, mk_stop_token},
    types::Update,
    update_listeners::{AsUpdateStream, Polling, StatefulListener, UpdateListener},
};
use tokio::sync::mpsc;

use super::admission::Admission;
use crate::bot::StoreBot;

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

/// `polling`, each update holding a place of `admission` before the dispatcher gets it.
pub fn admitted(
    polling: Polling<StoreBot>,
    admission: Arc<Admission>,
) -> impl UpdateListener<Err = RequestError> + Send {
    StatefulListener::new(
        (polling, admission),
        admitted_updates,
        |(polling, _): &mut (Polling<StoreBot>, Arc<Admission>)| polling.stop_token(),
    )
}

fn admitted_updates(
    (polling, admission): &mut (Polling<StoreBot>, Arc<Admission>),
) -> impl Stream<Item = Result<Update, RequestError>> + Send + '_ {
    let admission = Arc::clone(admission);
    polling.as_stream().then(move |update| {
        let admission = Arc::clone(&admission);
        async move {
            if let Ok(update) = &update {
                let place = admission.wait().await;
                admission.hold(update.id, place);
            }
            update
        }
    })
}

//! Making an invoice off the update path. Pakasir may take many seconds to make an invoice (up
//! to the client's timeout, and its retries); a handler that waited for it would hold its chat's
//! queue and one of the store's admission places all that time. The handler does the quick part
//! and answers the customer, then hands the invoice to a [`Creation`], which makes it in a task
//! of its own and reports what it came to when it is ready: the same mechanism for an order's
//! invoice and a deposit's.
//!
//! One invoice per order, and one deposit per customer, is made at a time in a process, so a
//! second press (or a second amount typed) while Pakasir works asks it for nothing more. The
//! database still holds the rules across processes (one pending invoice per order, one pending
//! deposit per customer).

use std::{
    collections::HashSet,
    future::Future,
    sync::{LazyLock, Mutex},
};

use super::{Requested, Wanted, deposit, order};
use crate::{
    bot::{HandlerResult, StoreBot, texts::Texts},
    db::TenantId,
    service::payments::PayStore,
};

/// What an invoice being made is for: an order (by id), or a customer's deposit (by customer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Subject {
    Order(i64),
    Deposit(i64),
}

/// The invoices being made in this process.
static CREATING: LazyLock<Mutex<HashSet<(TenantId, Subject)>>> = LazyLock::new(Default::default);

fn creating() -> std::sync::MutexGuard<'static, HashSet<(TenantId, Subject)>> {
    CREATING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Marks an invoice as being made until dropped, also when the task making it panics.
struct Mark((TenantId, Subject));

impl Drop for Mark {
    fn drop(&mut self) {
        creating().remove(&self.0);
    }
}

/// An invoice this process has undertaken to make.
pub struct Creation {
    mark: Mark,
    store: PayStore,
    customer: i64,
    wanted: Wanted,
}

impl Creation {
    /// Undertakes to make `wanted` for `customer`; `None` when the same invoice is being made
    /// already, which the caller tells the customer.
    pub fn begin(store: &PayStore, customer: i64, wanted: Wanted) -> Option<Self> {
        let subject = match &wanted {
            Wanted::Order(order) => Subject::Order(order.id),
            Wanted::Deposit(_) => Subject::Deposit(customer),
        };
        let key = (store.ctx.tenant_id(), subject);
        // The mark is built only when fresh: one dropped here would remove the other's.
        let fresh = creating().insert(key);
        fresh.then(|| Self {
            mark: Mark(key),
            store: store.clone(),
            customer,
            wanted,
        })
    }

    /// Makes the invoice in a task of its own (the photo is sent when it is ready) and hands
    /// what it came to to `report`, which tells the customer. An error, of the making or of the
    /// report, is logged and counted as a failed update of the store, as the update's own
    /// would have been.
    pub fn finish_soon<R, F>(self, bot: &StoreBot, t: &'static Texts, report: R)
    where
        R: FnOnce(anyhow::Result<Requested>) -> F + Send + 'static,
        F: Future<Output = HandlerResult> + Send,
    {
        let bot = bot.clone();
        tokio::spawn(async move {
            let Self {
                mark,
                store,
                customer,
                wanted,
            } = self;
            let outcome = match wanted {
                Wanted::Order(order) => order::create(&store, &bot, t, customer, order).await,
                Wanted::Deposit(amount) => deposit::create(&store, &bot, t, customer, amount).await,
            };
            // Done before the report, so that a customer who retries on the report's word
            // is not told the invoice is still being made.
            drop(mark);
            if let Err(error) = report(outcome).await {
                store.ctx.note_handler_error();
                tracing::error!(
                    store = %store.ctx.tenant().slug,
                    error = format!("{error:#}"),
                    customer,
                    "could not make a QRIS invoice"
                );
            }
        });
    }
}

//! A balance top-up's QRIS invoice. Deposits always carry Pakasir's fee on top: a top-up credits
//! its base amount. At most one is open per customer (the database holds the rule): asking again
//! shows the open one.

use rand::{Rng, distr::Alphanumeric};
use teloxide::types::ChatId;
use time::{Duration, OffsetDateTime};

use super::{Asked, Requested, Wanted, create_at_pakasir, record, send, withdraw};
use crate::{
    bot::{
        StoreBot,
        texts::{Texts, fill},
        ui,
    },
    pakasir::client::MIN_AMOUNT,
    service::payments::{self as service, Ending, PayStore},
    store::{
        customers::admin as customer_admin,
        money::rupiah,
        payments::{self, Payment, Status},
    },
};

/// The quick part of a top-up of `amount`, from the database alone: refuses an amount below
/// Pakasir's minimum or a blocked customer, shows the customer's open deposit again, or asks
/// for a new invoice.
pub async fn for_deposit(
    store: &PayStore,
    bot: &StoreBot,
    t: &Texts,
    customer: i64,
    amount: i64,
) -> anyhow::Result<Asked> {
    if amount < MIN_AMOUNT {
        return Ok(Asked::Answered(Requested::BelowMinimum));
    }
    let ctx = &store.ctx;
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let blocked = customer_admin::is_blocked(&mut tx, customer).await?;
    tx.commit().await?;
    if blocked {
        return Ok(Asked::Answered(Requested::Blocked));
    }
    Ok(match show_open_deposit(store, bot, t, customer).await? {
        Some(shown) => Asked::Answered(shown),
        None => Asked::Create(Wanted::Deposit(amount)),
    })
}

/// Shows the customer's open deposit invoice again, with a word on why, when they ask for a
/// top-up while it is open: the QR code they may be scanning stays valid, a script asking again
/// and again costs Pakasir nothing, and the invoice's own cancel button lets them start over.
///
/// `None` when no deposit is open or the open one's time is up: ending that one asks Pakasir,
/// which the creation of the next invoice does, off the update path.
pub async fn show_open_deposit(
    store: &PayStore,
    bot: &StoreBot,
    t: &Texts,
    customer: i64,
) -> anyhow::Result<Option<Requested>> {
    match open_deposit(store, customer).await? {
        Some(open) if open.expires_at > OffsetDateTime::now_utc() => {
            Ok(Some(show_again(store, bot, t, &open).await?))
        }
        _ => Ok(None),
    }
}

/// Creates a deposit invoice of `amount` at Pakasir, records it and sends it: the slow part of
/// a top-up, which [`super::Creation`] runs off the update path.
pub(super) async fn create(
    store: &PayStore,
    bot: &StoreBot,
    t: &Texts,
    customer: i64,
    amount: i64,
) -> anyhow::Result<Requested> {
    let ctx = &store.ctx;
    let tenant = ctx.tenant();
    // An open deposit whose time is up is ended first, as the payments job would (cancelled at
    // Pakasir, settled if paid meanwhile); one that is still open (another process made it
    // meanwhile) is shown instead of a second.
    if let Some(open) = open_deposit(store, customer).await? {
        if open.expires_at > OffsetDateTime::now_utc() {
            return show_again(store, bot, t, &open).await;
        }
        if let Ending::Unreachable = service::end(store, &open, Status::Expired).await? {
            return Ok(Requested::GatewayDown);
        }
    }
    let code = deposit_code();
    let Some(invoice) = create_at_pakasir(store, &code, amount).await else {
        return Ok(Requested::GatewayDown);
    };
    let hold = Duration::minutes(i64::from(tenant.settings.invoice_ttl_minutes));
    let new = record(&invoice, customer, None, OffsetDateTime::now_utc() + hold);
    let mut tx = ctx.db.tenant(tenant.id).await?;
    let payment = match payments::insert(&mut tx, tenant.id, &new).await {
        Ok(payment) => payment,
        Err(error) if payments::is_second_pending_deposit(&error) => {
            // Another request of this customer's recorded its invoice first (the database
            // keeps one pending deposit per customer): this invoice is withdrawn at Pakasir
            // and the customer is shown that one.
            drop(tx);
            withdraw(store, &invoice).await;
            return Ok(match open_deposit(store, customer).await? {
                Some(open) => show_again(store, bot, t, &open).await?,
                None => Requested::GatewayDown,
            });
        }
        Err(error) => return Err(error.into()),
    };
    tx.commit().await?;
    send(bot, ctx, t, &payment, None).await?;
    Ok(Requested::Sent(payment.id))
}

/// The customer's pending deposit, if any.
async fn open_deposit(store: &PayStore, customer: i64) -> anyhow::Result<Option<Payment>> {
    let ctx = &store.ctx;
    let mut tx = ctx.db.tenant(ctx.tenant_id()).await?;
    let open = payments::open_deposit(&mut tx, customer).await?;
    tx.commit().await?;
    Ok(open)
}

/// Sends the open deposit's invoice again under a line saying it is still open.
async fn show_again(
    store: &PayStore,
    bot: &StoreBot,
    t: &Texts,
    open: &Payment,
) -> anyhow::Result<Requested> {
    let ctx = &store.ctx;
    let note = fill(
        t.deposit_still_open,
        &[
            ("amount", &rupiah(open.amount)),
            ("until", &ui::local_time(&ctx.tenant(), open.expires_at)),
        ],
    );
    ui::Reply::text(note)
        .send(bot, ChatId(open.customer_id))
        .await?;
    send(bot, ctx, t, open, None).await?;
    Ok(Requested::Sent(open.id))
}

/// A deposit's order id at Pakasir: unique per store and hard to guess.
fn deposit_code() -> String {
    let suffix: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(10)
        .map(char::from)
        .collect();
    format!("DEP{}", suffix.to_uppercase())
}

//! Orders as a store's admins see and run them: the filtered list, the detail, a refund to the
//! buyer's balance, sending the goods again, and marking paid by hand.
//!
//! One function per operation, called alike by `bot/admin/` and `http/api/`: each validates its
//! input here (so both adapters refuse the same input with the same rule), works in the
//! caller's tenant transaction, writes its audit row there, and writes the messages that must
//! follow into the outbox, returning their ids for sending after the commit. Cancelling an
//! order with a pending invoice asks Pakasir first and lives in `service::orders`.
//!
//! - `view.rs`: what admins read: the filtered list and an order's detail.
//! - `change.rs`: what admins do: mark paid, refund, resend, cancel (without an invoice).

mod change;
mod view;

pub use change::{
    MarkedPaid, REASON_MAX_CHARS, RefundInput, Refunded, cancel_without_invoice, check_reason,
    mark_paid, not_cancellable, record_cancel, refund, refund_amount, refund_of, resend,
};
pub use view::{
    AWAITS_REVIEW, Buyer, Delivery, Detail, Filter, Invoice, Line, Summary, by_code, detail, list,
};

-- Money edge cases (issue 10, item 7): a payment held for review when Pakasir's record of it
-- keeps disagreeing with ours, and orders paid at checkout because their total is zero. (The
-- last look at Pakasir after an invoice is closed needs no column: a closed payment still in
-- payment_queue is due for it.)

-- 'review': Pakasir's record of the invoice (its base amount, project or order id) disagreed
-- with ours on several checks. Such a payment is neither settled nor retried: the owner is
-- alerted and decides by hand. Entering the state is a conditional update from 'pending', so
-- the owner's alert is written once.
alter table payments drop constraint payments_status_check;
alter table payments add constraint payments_status_check
    check (status in ('pending', 'completed', 'expired', 'cancelled', 'failed', 'review'));

-- How many answers of transactiondetail disagreed with the invoice, and, once the payment is
-- held for review, what the last one said.
alter table payments add column mismatches integer not null default 0 check (mismatches >= 0);
alter table payments add column review_reason text;
alter table payments add constraint payments_review_has_reason
    check (status <> 'review' or review_reason is not null);

-- An order whose total is zero (a coupon covered all of it) is paid at checkout without any
-- gateway: Pakasir takes no invoice under Rp500 and the ledger books no zero amounts. Only a
-- zero total may be paid so.
alter table orders drop constraint orders_payment_method_check;
alter table orders add constraint orders_payment_method_check
    check (payment_method in ('balance', 'qris', 'manual', 'free'));
alter table orders add constraint orders_free_only_at_zero
    check (payment_method is distinct from 'free' or total = 0);

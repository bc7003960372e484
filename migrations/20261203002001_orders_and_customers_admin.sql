-- Orders and customers as a store's admins run them (issue 7): refunds, balance adjustments
-- with a reason, and customers blocked by the store.

-- A store may block a customer: they are told politely and can neither check out nor top up
-- their balance. This is not blocked_bot, which records that the customer blocked the bot.
alter table customers
    add column blocked_by_store boolean not null default false,
    add column blocked_at timestamptz;

-- Why an admin changed a balance (the reason typed with a refund or an adjustment), kept on
-- the ledger row itself so the ledger explains every change without the audit log.
alter table balance_ledger
    add column note text check (char_length(note) between 1 and 500);

-- A paid order is refunded to its buyer's balance at most once, in full or in part. The
-- conditional update `where refunded_amount is null` under the order's row lock is the guard;
-- the ledger's unique (reason, reference) with the order code as reference is the second one.
alter table orders
    add column refunded_amount bigint,
    add column refunded_at timestamptz,
    add constraint orders_refund_check check (
        (refunded_amount is null) = (refunded_at is null)
        and (refunded_amount is null or (refunded_amount > 0 and refunded_amount <= total)));

-- The admins' order list filters by status, newest first.
create index orders_by_status on orders (tenant_id, status, id desc);

-- The outbox learns the messages of refunds, balance adjustments and orders the store cancelled.
alter table outbox drop constraint outbox_kind_check;
alter table outbox add constraint outbox_kind_check check (kind in (
    'deliver_order', 'text', 'payment_received', 'invoice_closed', 'snk', 'admin_payment',
    'gateway_alert', 'order_refunded', 'balance_adjusted', 'order_cancelled'));

-- Payments through Pakasir (QRIS invoices for orders and balance top-ups), the queue that
-- reconciles and expires them, the gateway's health per store, SNK submissions and the
-- audit log.

-- One row per invoice created at Pakasir. Every gateway field is kept exactly as Pakasir
-- returned it. (tenant_id, gateway_order_id) is unique: a webhook, a replay and the
-- reconciliation job all find the same row, and the conditional change of its status is the
-- exactly-once guard of crediting or delivering.
create table payments (
    id                  bigint generated always as identity primary key,
    tenant_id           uuid not null references tenants (id) on delete cascade,
    kind                text not null check (kind in ('order', 'deposit')),
    -- The order it pays; null for a deposit.
    order_id            bigint,
    customer_id         bigint not null,
    -- The order id at Pakasir: the order's code, or a deposit's own code.
    gateway_order_id    text not null check (gateway_order_id ~ '^[A-Za-z0-9_.~-]{5,64}$'),
    method              text not null default 'qris',
    -- The base amount: what the order costs or the deposit credits, and what the webhook and
    -- transactiondetail repeat.
    amount              bigint not null check (amount >= 500),
    fee                 bigint not null check (fee >= 0),
    -- What the customer pays (amount + fee), as in the QRIS payload's tag 54.
    total_payment       bigint not null check (total_payment >= amount),
    -- The QRIS payload (or a VA number).
    payment_number      text not null,
    -- Pakasir's expiry, exactly as returned.
    expired_at          timestamptz not null,
    -- When this host gives up on the invoice: Pakasir's expiry or the store's hold, whichever
    -- comes first. The expiry job cancels the invoice at Pakasir at this time.
    expires_at          timestamptz not null,
    status              text not null default 'pending'
                        check (status in ('pending', 'completed', 'expired', 'cancelled', 'failed')),
    -- What a completed payment turned into: the order delivered, delivered although it had
    -- expired, or credited to the balance (a deposit, or a late payment whose goods are gone).
    outcome             text check (outcome in ('delivered', 'late_delivered', 'credited', 'deposited')),
    -- The invoice photo in the customer's chat, removed once the invoice is settled.
    invoice_chat_id     bigint,
    invoice_message_id  integer,
    created_at          timestamptz not null default now(),
    completed_at        timestamptz,
    last_checked_at     timestamptz,
    unique (tenant_id, gateway_order_id),
    unique (tenant_id, id),
    -- One invoice per order: the gateway order id is the order's code.
    unique (tenant_id, order_id),
    foreign key (tenant_id, order_id) references orders (tenant_id, id),
    check ((kind = 'order') = (order_id is not null)),
    check ((status = 'completed') = (outcome is not null))
);

create index payments_by_customer on payments (tenant_id, customer_id, id desc);

-- The host-wide index of payments still pending: ids and due times only, no store data, so the
-- reconciliation and expiry job finds due work across stores and then opens each payment in
-- its store's own transaction. Like outbox_queue, a named cross-tenant path without RLS.
create table payment_queue (
    payment_id  bigint primary key references payments (id) on delete cascade,
    tenant_id   uuid not null references tenants (id) on delete cascade,
    due_at      timestamptz not null
);

create index payment_queue_due on payment_queue (due_at);

-- Consecutive failed calls to Pakasir per store; the owner is alerted once per streak.
create table gateway_health (
    tenant_id               uuid primary key references tenants (id) on delete cascade,
    consecutive_failures    integer not null default 0 check (consecutive_failures >= 0),
    last_error              text,
    last_failure_at         timestamptz,
    alerted_at              timestamptz
);

-- What customers send to fulfil a product's terms (SNK): sealed at rest, bound to the store
-- and the order, and reviewed by the store's admins.
create table snk_submissions (
    id              bigint generated always as identity primary key,
    tenant_id       uuid not null references tenants (id) on delete cascade,
    order_id        bigint not null,
    product_id      bigint not null,
    customer_id     bigint not null,
    -- The customer's text, sealed.
    text_sealed     bytea,
    -- The Telegram file id of the screenshot, sealed.
    photo_sealed    bytea,
    status          text not null default 'pending' check (status in ('pending', 'approved', 'rejected')),
    decided_by      bigint,
    decided_at      timestamptz,
    created_at      timestamptz not null default now(),
    unique (tenant_id, id),
    foreign key (tenant_id, order_id) references orders (tenant_id, id) on delete cascade,
    check (text_sealed is not null or photo_sealed is not null),
    check ((status = 'pending') = (decided_at is null))
);

create index snk_submissions_by_age on snk_submissions (tenant_id, created_at);

-- Who did what to the store, with the state before and after.
create table audit_log (
    id          bigint generated always as identity primary key,
    tenant_id   uuid not null references tenants (id) on delete cascade,
    -- The Telegram user who acted; null for the host itself.
    actor       bigint,
    action      text not null check (action ~ '^[a-z_.]{1,64}$'),
    subject     text,
    before      jsonb,
    after       jsonb,
    created_at  timestamptz not null default now()
);

create index audit_log_recent on audit_log (tenant_id, id desc);

-- The outbox learns the messages payments send.
alter table outbox drop constraint outbox_kind_check;
alter table outbox add constraint outbox_kind_check check (kind in (
    'deliver_order', 'text', 'payment_received', 'invoice_closed', 'snk', 'admin_payment',
    'gateway_alert'));

do $$
declare t text;
begin
    foreach t in array array['payments', 'gateway_health', 'snk_submissions', 'audit_log'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format(
            'create policy tenant_isolation on %I
                 using (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)
                 with check (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
    end loop;
end $$;

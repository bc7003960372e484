-- Orders, the balance ledger and the transactional outbox.

create table orders (
    id              bigint generated always as identity primary key,
    tenant_id       uuid not null references tenants (id) on delete cascade,
    customer_id     bigint not null,
    -- The public order number, also the gateway's order_id: unique per store.
    code            text not null check (code ~ '^[A-Za-z0-9_.~-]{5,64}$'),
    -- awaiting_payment -> paid -> delivered; awaiting_payment -> cancelled | expired.
    status          text not null default 'awaiting_payment'
                    check (status in ('awaiting_payment', 'paid', 'delivered', 'cancelled', 'expired')),
    subtotal        bigint not null check (subtotal > 0),
    discount        bigint not null default 0 check (discount >= 0 and discount <= subtotal),
    total           bigint not null check (total = subtotal - discount),
    coupon_code     text,
    payment_method  text check (payment_method in ('balance', 'qris', 'manual')),
    expires_at      timestamptz not null,
    created_at      timestamptz not null default now(),
    paid_at         timestamptz,
    delivered_at    timestamptz,
    closed_at       timestamptz,
    unique (tenant_id, code),
    unique (tenant_id, id)
);

create index orders_by_customer on orders (tenant_id, customer_id, id desc);
create index orders_awaiting on orders (tenant_id, expires_at) where status = 'awaiting_payment';

create table order_items (
    tenant_id       uuid not null references tenants (id) on delete cascade,
    order_id        bigint not null,
    product_id      bigint not null,
    -- Copied at checkout: the order keeps what was bought even if the product changes.
    product_code    text not null,
    product_name    text not null,
    unit_price      bigint not null check (unit_price > 0),
    quantity        integer not null check (quantity between 1 and 100),
    primary key (tenant_id, order_id, product_id),
    foreign key (tenant_id, order_id) references orders (tenant_id, id) on delete cascade,
    foreign key (tenant_id, product_id) references products (tenant_id, id)
);

alter table stock_items
    add foreign key (tenant_id, order_id) references orders (tenant_id, id);

-- One row per customer with their current balance; the check keeps it from going negative and
-- the row lock of the conditional update serialises concurrent spending.
create table balances (
    tenant_id   uuid not null references tenants (id) on delete cascade,
    customer_id bigint not null,
    balance     bigint not null default 0 check (balance >= 0),
    primary key (tenant_id, customer_id)
);

-- Every balance change, with why and what for. The sum of a customer's amounts equals their
-- balance; (reason, reference) is unique, so a deposit or refund can be credited only once.
create table balance_ledger (
    id              bigint generated always as identity primary key,
    tenant_id       uuid not null references tenants (id) on delete cascade,
    customer_id     bigint not null,
    amount          bigint not null check (amount <> 0),
    reason          text not null check (reason in ('deposit', 'purchase', 'refund', 'adjustment', 'late_payment')),
    reference       text not null,
    balance_after   bigint not null check (balance_after >= 0),
    created_at      timestamptz not null default now(),
    unique (tenant_id, reason, reference)
);

create index balance_ledger_by_customer on balance_ledger (tenant_id, customer_id, id desc);

-- Messages that must reach someone because money or stock changed, written in the same
-- transaction as the change and sent by a worker (src/jobs/outbox.rs). The payload never
-- holds goods in plain text: a delivery names its order, and the worker opens the items.
create table outbox (
    id              bigint generated always as identity primary key,
    tenant_id       uuid not null references tenants (id) on delete cascade,
    chat_id         bigint not null,
    kind            text not null check (kind in ('deliver_order', 'text')),
    payload         jsonb not null,
    status          text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
    attempts        integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error      text,
    created_at      timestamptz not null default now(),
    sent_at         timestamptz,
    unique (tenant_id, id)
);

create index outbox_pending on outbox (tenant_id, next_attempt_at) where status = 'pending';

-- The host-wide index of pending outbox rows: ids only, no store data, so the worker can find
-- due work across stores and then open each store's rows in that store's own transaction.
-- Like the tenant registry, it is a named cross-tenant path without row-level security.
create table outbox_queue (
    outbox_id       bigint primary key references outbox (id) on delete cascade,
    tenant_id       uuid not null references tenants (id) on delete cascade,
    due_at          timestamptz not null default now()
);

create index outbox_queue_due on outbox_queue (due_at);

do $$
declare t text;
begin
    foreach t in array array['orders', 'order_items', 'balances', 'balance_ledger', 'outbox'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format(
            'create policy tenant_isolation on %I
                 using (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)
                 with check (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
    end loop;
end $$;

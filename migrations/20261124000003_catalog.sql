-- The catalog of a store: categories, products, stock items and coupons.
-- Ids are global identities (short, so they fit in Telegram's 64-byte callback data); every
-- foreign key between store-owned tables includes tenant_id, so a row can never point at
-- another store's row even if the ids were guessed.

create table categories (
    id          bigint generated always as identity primary key,
    tenant_id   uuid not null references tenants (id) on delete cascade,
    name        text not null check (length(name) between 1 and 64),
    emoji       text check (length(emoji) <= 16),
    sort        integer not null default 0,
    active      boolean not null default true,
    unique (tenant_id, name),
    unique (tenant_id, id)
);

create table products (
    id          bigint generated always as identity primary key,
    tenant_id   uuid not null references tenants (id) on delete cascade,
    category_id bigint,
    -- The owner's own product code; the catalog document refers to products by it.
    code        text not null check (code ~ '^[A-Za-z0-9_-]{1,32}$'),
    name        text not null check (length(name) between 1 and 100),
    description text not null default '' check (length(description) <= 2000),
    -- Integer rupiah.
    price       bigint not null check (price between 1 and 1000000000),
    active      boolean not null default true,
    -- Archived products left the catalog but stay for the orders that name them.
    archived    boolean not null default false,
    sort        integer not null default 0,
    sold_count  bigint not null default 0 check (sold_count >= 0),
    -- Syarat dan ketentuan (terms) sent after delivery; null when the product has none.
    snk         text check (length(snk) <= 4000),
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    unique (tenant_id, code),
    unique (tenant_id, id),
    foreign key (tenant_id, category_id) references categories (tenant_id, id) on delete set null (category_id)
);

create index products_listing on products (tenant_id, category_id, sort, id) where active and not archived;

create table stock_items (
    id              bigint generated always as identity primary key,
    tenant_id       uuid not null references tenants (id) on delete cascade,
    product_id      bigint not null,
    -- The goods (account, voucher code, licence key), sealed with the master key and bound
    -- to the store and the product.
    content         bytea not null,
    -- A keyed hash of the plain content, so duplicates are refused without opening every item.
    content_hash    bytea not null,
    status          text not null default 'available' check (status in ('available', 'reserved', 'sold')),
    order_id        bigint,
    reserved_until  timestamptz,
    created_at      timestamptz not null default now(),
    sold_at         timestamptz,
    unique (tenant_id, product_id, content_hash),
    unique (tenant_id, id),
    foreign key (tenant_id, product_id) references products (tenant_id, id) on delete cascade,
    -- An item held by an order names it; an available one names none.
    check ((status = 'available') = (order_id is null))
);

create index stock_items_available on stock_items (tenant_id, product_id, id) where status = 'available';
create index stock_items_by_order on stock_items (tenant_id, order_id) where order_id is not null;

create table coupons (
    id          bigint generated always as identity primary key,
    tenant_id   uuid not null references tenants (id) on delete cascade,
    -- Stored upper-case; customers type it in any case.
    code        text not null check (code ~ '^[A-Z0-9_-]{3,32}$'),
    kind        text not null check (kind in ('percent', 'flat')),
    -- Percent (1..100) or rupiah.
    value       bigint not null check (value > 0),
    max_uses    integer check (max_uses > 0),
    used_count  integer not null default 0 check (used_count >= 0),
    min_order   bigint not null default 0 check (min_order >= 0),
    valid_from  timestamptz,
    valid_until timestamptz,
    active      boolean not null default true,
    unique (tenant_id, code),
    check (kind <> 'percent' or value <= 100),
    -- The database refuses a use beyond the limit, however many checkouts race for the last one.
    check (max_uses is null or used_count <= max_uses)
);

-- A customer's cart survives restarts; prices are re-checked at checkout.
create table cart_items (
    tenant_id   uuid not null references tenants (id) on delete cascade,
    customer_id bigint not null,
    product_id  bigint not null,
    quantity    integer not null check (quantity between 1 and 100),
    -- The price the customer saw when adding, to show a change before any charge.
    price_seen  bigint not null,
    added_at    timestamptz not null default now(),
    primary key (tenant_id, customer_id, product_id),
    foreign key (tenant_id, product_id) references products (tenant_id, id) on delete cascade
);

create table carts (
    tenant_id   uuid not null references tenants (id) on delete cascade,
    customer_id bigint not null,
    coupon_code text,
    updated_at  timestamptz not null default now(),
    primary key (tenant_id, customer_id)
);

-- Message templates and texts the store edits (how to order, info, and later event templates).
create table templates (
    tenant_id   uuid not null references tenants (id) on delete cascade,
    name        text not null check (name ~ '^[a-z_]{1,40}$'),
    body        text not null check (length(body) between 1 and 4000),
    updated_at  timestamptz not null default now(),
    primary key (tenant_id, name)
);

do $$
declare t text;
begin
    foreach t in array array['categories', 'products', 'stock_items', 'coupons', 'cart_items', 'carts', 'templates'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format(
            'create policy tenant_isolation on %I
                 using (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)
                 with check (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
    end loop;
end $$;

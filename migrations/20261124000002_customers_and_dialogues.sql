-- The first store-owned tables. Every store-owned table carries tenant_id and is protected by
-- row-level security on app.tenant_id, which the tenant-scoped transaction sets with
-- set_config(..., true). NULLIF turns the empty string that an unset setting reads as after a
-- transaction into NULL, so a query that forgot the tenant matches no row at all.

create table customers (
    tenant_id           uuid not null references tenants (id) on delete cascade,
    telegram_user_id    bigint not null,
    first_name          text not null,
    last_name           text,
    username            text,
    -- The language Telegram reports for the user's app.
    language_code       text,
    -- The language the customer chose in the bot; null follows the store's locale.
    language            text check (language in ('id', 'en')),
    first_seen_at       timestamptz not null default now(),
    last_seen_at        timestamptz not null default now(),
    -- Set when Telegram answers 403 "bot was blocked by the user"; such customers get no
    -- broadcasts until they write to the bot again.
    blocked_bot         boolean not null default false,
    primary key (tenant_id, telegram_user_id)
);

create index customers_last_seen on customers (tenant_id, last_seen_at desc);

-- Dialogue state per (store, chat), so a conversation survives a restart. teloxide's own
-- PostgresStorage keys by chat only and would mix stores.
create table dialogues (
    tenant_id           uuid not null references tenants (id) on delete cascade,
    chat_id             bigint not null,
    state               jsonb not null,
    updated_at          timestamptz not null default now(),
    primary key (tenant_id, chat_id)
);

alter table customers enable row level security;
alter table customers force row level security;
create policy tenant_isolation on customers
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table dialogues enable row level security;
alter table dialogues force row level security;
create policy tenant_isolation on dialogues
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

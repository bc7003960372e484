-- The tenant registry: one row per store. This table and tenant_secrets are the only ones
-- without row-level security, because the host must read every store at start and route
-- webhooks by slug. They are reached only through src/host/tenants.rs.

create table tenants (
    id                  uuid primary key,
    slug                text not null unique check (slug ~ '^[a-z0-9-]{3,32}$'),
    display_name        text not null check (length(display_name) between 1 and 64),
    -- active: the bot runs; suspended: stopped by an operator; deleted: soft-deleted, data kept.
    status              text not null default 'active'
                        check (status in ('active', 'suspended', 'deleted')),
    -- Filled from getMe; the bot's id never changes for a token, the username may.
    bot_id              bigint,
    bot_username        text,
    -- Why the bot could not start (for example Telegram rejected its token); null when healthy.
    bot_error           text,
    -- The webhook URL last registered with Telegram, so a restart does not call setWebhook
    -- for every store again when nothing changed.
    webhook_url         text,
    branding            jsonb not null default '{}'::jsonb,
    settings            jsonb not null default '{}'::jsonb,
    locale              text not null default 'id' check (locale in ('id', 'en')),
    timezone            text not null default 'Asia/Jakarta',
    owner_telegram_id   bigint not null check (owner_telegram_id > 0),
    admin_telegram_ids  bigint[] not null default '{}',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    deleted_at          timestamptz
);

-- Sealed with the host's master key (src/crypto.rs); each value is bound to its tenant and
-- field, so a value copied into another row does not open.
create table tenant_secrets (
    tenant_id           uuid primary key references tenants (id) on delete cascade,
    bot_token           bytea not null,
    pakasir_project     bytea not null,
    pakasir_api_key     bytea not null,
    -- Telegram echoes it in X-Telegram-Bot-Api-Secret-Token on every webhook delivery.
    webhook_secret      bytea not null,
    updated_at          timestamptz not null default now()
);

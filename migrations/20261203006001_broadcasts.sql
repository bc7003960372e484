-- Broadcasts: one message (a text, or a photo with a caption) to a store's active customers.
--
-- A broadcast is written with one row per recipient in the transaction that confirms it, so
-- what was promised and what was sent can always be compared. A recipient moves
-- pending -> sending (claimed with a lease, before the send) -> sent | failed | blocked, and a
-- `sending` row whose lease ran out (the host died between the send and the mark) becomes
-- `unknown`: it is never sent again, because the Bot API has no idempotency key and a second
-- send could be a duplicate.

create table broadcasts (
    tenant_id           uuid not null references tenants (id) on delete cascade,
    id                  bigint generated always as identity primary key,
    text                text not null,
    -- The photo as the owner gave it (an http(s) URL or a Telegram file id) ...
    photo               text,
    -- ... and the file id Telegram returned for the first send, reused for every other one.
    photo_file_id       text,
    audience            text not null check (audience in ('all', 'buyers')),
    state               text not null default 'queued'
                        check (state in ('queued', 'running', 'paused', 'cancelled', 'done')),
    created_by          text not null,
    -- The admin's chat and the message there that shows the progress, when started from the bot.
    progress_chat_id    bigint,
    progress_message_id integer,
    created_at          timestamptz not null default now(),
    finished_at         timestamptz,
    unique (tenant_id, id)
);

create table broadcast_recipients (
    tenant_id       uuid not null references tenants (id) on delete cascade,
    broadcast_id    bigint not null,
    chat_id         bigint not null,
    status          text not null default 'pending'
                    check (status in ('pending', 'sending', 'sent', 'failed', 'blocked', 'unknown')),
    -- A `sending` row belongs to its sender until then.
    lease_until     timestamptz,
    -- Network errors that surely did not reach Telegram are retried, not before this time.
    next_attempt_at timestamptz not null default now(),
    attempts        integer not null default 0,
    error           text,
    sent_at         timestamptz,
    primary key (tenant_id, broadcast_id, chat_id),
    foreign key (tenant_id, broadcast_id) references broadcasts (tenant_id, id) on delete cascade
);

create index broadcast_recipients_pending
    on broadcast_recipients (tenant_id, broadcast_id, next_attempt_at) where status = 'pending';
create index broadcast_recipients_sending
    on broadcast_recipients (tenant_id, broadcast_id, lease_until) where status = 'sending';

do $$
declare t text;
begin
    foreach t in array array['broadcasts', 'broadcast_recipients'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format(
            'create policy tenant_isolation on %I
                 using (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)
                 with check (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)',
            t);
    end loop;
end $$;

-- The host-wide index of broadcasts still to send: ids only, no store data, so the worker
-- finds the stores with work and then reads each broadcast in its store's own transaction.
-- Like outbox_queue, a named cross-tenant path without row-level security.
create table broadcast_queue (
    broadcast_id    bigint primary key references broadcasts (id) on delete cascade,
    tenant_id       uuid not null references tenants (id) on delete cascade
);

create index broadcast_queue_tenant on broadcast_queue (tenant_id);

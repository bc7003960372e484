-- A store whose bot token Telegram refused (issue 9): since when, for the operators and the
-- owner's API view, and a guard so that the operators' alert and the staff's notice are each
-- written once per refusal, however many watches look and however often the host restarts.

-- When the bot's current error was first recorded; null while the bot has none. A trigger keeps
-- it, so every writer of `bot_error` (a start, a send that met the refusal, a new token) keeps
-- it right without knowing of it.
alter table tenants add column bot_error_since timestamptz;
update tenants set bot_error_since = now() where bot_error is not null;

create function tenants_bot_error_since() returns trigger language plpgsql as $$
begin
    if new.bot_error is null then
        new.bot_error_since := null;
    elsif tg_op = 'INSERT' then
        new.bot_error_since := now();
    elsif old.bot_error is distinct from new.bot_error then
        new.bot_error_since := now();
    else
        new.bot_error_since := old.bot_error_since;
    end if;
    return new;
end $$;

create trigger tenants_bot_error_since
    before insert or update of bot_error on tenants
    for each row execute function tenants_bot_error_since();

-- A refusal the host's watch has reported: the row is the "once" guard. The watch that inserts
-- it (on conflict nothing) alerts the operators and queues the staff's notice in the same
-- transaction as the row; the notice waits in the outbox while the store cannot send and goes
-- out once the store runs again with a token Telegram accepts. The watch that deletes the row,
-- once the bot has no error any more, announces the recovery. Ids and a time only, no store
-- data: like outbox_queue, a named cross-tenant path without row-level security.
create table token_rejections (
    tenant_id   uuid primary key references tenants (id) on delete cascade,
    since       timestamptz not null,
    reported_at timestamptz not null default now()
);

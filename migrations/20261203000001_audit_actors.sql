-- The audit log names API callers too, not only Telegram admins.
--
-- `actor` keeps the Telegram user id of an admin who acted in the bot. An API call is recorded
-- with `actor_kind = 'api'` and the token's subject in `actor_name`; the host's own jobs with
-- `actor_kind = 'host'`. Rows already written were all made in the bot or by the host.
alter table audit_log
    add column actor_kind text not null default 'telegram'
        check (actor_kind in ('telegram', 'api', 'host')),
    add column actor_name text check (char_length(actor_name) <= 200);

update audit_log set actor_kind = 'host' where actor is null;

-- Filters of the audit view: by actor and by action, newest first.
create index audit_log_by_action on audit_log (tenant_id, action, id desc);

-- The broadcast sender claims the next due recipient with
-- `order by next_attempt_at, chat_id limit 1`. Every recipient of a broadcast is written in one
-- transaction with the same `next_attempt_at`, so the old index (ending at `next_attempt_at`)
-- left PostgreSQL to read and sort every pending recipient for each claim: a 10,000-recipient
-- broadcast cost thousands of rows per message. With `chat_id` in the index the claim reads
-- the first entry.
create index broadcast_recipients_due
    on broadcast_recipients (tenant_id, broadcast_id, next_attempt_at, chat_id)
    where status = 'pending';
drop index broadcast_recipients_pending;

-- An admin may say why a submission was rejected (or approved); the customer is told.
alter table snk_submissions
    add column note text check (char_length(note) <= 500);

-- The admin's pending list: oldest first, only what waits for a decision.
create index snk_submissions_pending on snk_submissions (tenant_id, id) where status = 'pending';

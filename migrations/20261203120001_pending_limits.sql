-- Limits on what one customer can hold open, and an index for the fair payments pass.

-- At most one pending deposit invoice per customer and store. Without it, a customer (or a
-- script) asking for top-ups in a row left one live Pakasir invoice per request, each checked
-- every minute for up to a day. The bot shows the open invoice instead of making another; this
-- index is the guard when two requests race past that check.
--
-- A host that ran before this rule may hold customers with several pending deposits. They are
-- real invoices at Pakasir that may still be paid, so they are not closed here (an invoice is
-- never ended only locally): the rule covers the rows after the newest of them, and the payments
-- job cancels the old ones at their expiry (within a day at most). On a database without such
-- rows the predicate is `id > 0`, every deposit.
do $$
declare
    grandfathered bigint;
begin
    select coalesce(max(id), 0) into grandfathered
      from payments
     where kind = 'deposit' and status = 'pending'
       and (tenant_id, customer_id) in (
               select tenant_id, customer_id
                 from payments
                where kind = 'deposit' and status = 'pending'
                group by tenant_id, customer_id
               having count(*) > 1);
    execute format(
        'create unique index payments_one_pending_deposit on payments (tenant_id, customer_id) '
        'where kind = ''deposit'' and status = ''pending'' and id > %s',
        grandfathered);
end $$;

-- The payments pass takes the earliest due payments of each store in turn (the first of every
-- store before the second of any), so it reads the queue by store.
create index payment_queue_by_store on payment_queue (tenant_id, due_at);

-- The host-wide index of orders awaiting payment: ids, tenant ids and the time each order's
-- hold runs out, no store data. Like payment_queue and outbox_queue, a named cross-tenant path
-- without row-level security: the expiry job finds due orders across stores with one query and
-- then opens each in its store's own transaction, so a store with nothing due costs nothing.
create table order_expiry_queue (
    order_id    bigint primary key references orders (id) on delete cascade,
    tenant_id   uuid not null references tenants (id) on delete cascade,
    due_at      timestamptz not null
);

create index order_expiry_queue_due on order_expiry_queue (due_at);

-- Kept by a trigger, so no path that creates, reopens, reschedules or ends an order can leave
-- the queue behind: an order is queued exactly while it awaits payment, due at its expiry.
create function order_expiry_queue_sync() returns trigger language plpgsql as $$
begin
    if new.status = 'awaiting_payment' then
        insert into order_expiry_queue (order_id, tenant_id, due_at)
        values (new.id, new.tenant_id, new.expires_at)
        on conflict (order_id) do update set due_at = excluded.due_at;
    elsif tg_op = 'UPDATE' then
        delete from order_expiry_queue where order_id = new.id;
    end if;
    return null;
end
$$;

create trigger orders_expiry_queue
    after insert or update of status, expires_at on orders
    for each row execute function order_expiry_queue_sync();

-- The orders already waiting (the owner running migrations bypasses row-level security).
insert into order_expiry_queue (order_id, tenant_id, due_at)
select id, tenant_id, expires_at from orders where status = 'awaiting_payment';

-- The stores whose stock may still hold fingerprints bound to their product (written before
-- migration `20261203100001` made them store-wide). The start's fingerprint pass
-- (`ops::fingerprints`) used to open a transaction in every store to look for such items, even
-- when none had any: at 10,000 stores that was most of a restart. It now visits only the
-- stores listed here, found with one query, and takes a store off the list in the transaction
-- that finishes it, so a start where no store needs the pass runs nothing per store.
--
-- Like the other work queues it holds ids only, no store data, and has no row-level security:
-- the start reads it across stores and then opens each store in its own transaction
-- (`db::CROSS_TENANT_TABLES`).
create table stock_fingerprint_queue (
    tenant_id   uuid primary key references tenants (id) on delete cascade
);

-- Kept by a trigger, so that no writer of stock, today's or a later one, can leave an item
-- without its store-wide fingerprint and the store off the list: whatever writes such an item
-- puts its store (back) on it. The conflict takes the row's lock (a no-op update, not "do
-- nothing", which takes none), so a pass finishing the store at the same moment either waits
-- for this writer and then sees its items, or has taken the store off first and this insert
-- waits for it and puts the store back (see `ops::fingerprints`).
create function stock_fingerprint_queue_add() returns trigger language plpgsql as $$
begin
    insert into stock_fingerprint_queue (tenant_id) values (new.tenant_id)
    on conflict (tenant_id) do update set tenant_id = excluded.tenant_id;
    return null;
end
$$;

create trigger stock_items_fingerprint_queue
    after insert or update of fingerprint_store_wide on stock_items
    for each row when (not new.fingerprint_store_wide)
    execute function stock_fingerprint_queue_add();

-- Every store there is now goes on the list once, rather than only those seen with such
-- items: `stock_items` forces row-level security, which spares the owner running migrations
-- only when it bypasses it, while `tenants` has none. The next start then visits each store
-- once, as every start did before, and never again unless such an item is written.
insert into stock_fingerprint_queue (tenant_id) select id from tenants;

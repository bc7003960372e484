-- Stock duplicates are refused against everything the store ever had, in any product (SPEC
-- §2.1): the same voucher in two products would be sold twice. The fingerprint of an item
-- stops naming its product (`stock::fingerprint_context`) and is unique per store.
--
-- Existing fingerprints were keyed with the product in their context, so they must be
-- recomputed from the plaintext, which SQL cannot open: the host does that once after these
-- migrations (`ops::fingerprints::recompute`, at `serve` and `migrate`), batch by batch,
-- resuming where it stopped. Rows still waiting for it have `fingerprint_store_wide = false`;
-- every row written from now on has the new fingerprint, hence the default of true after the
-- column is added with false for the existing rows.
--
-- Two existing items of one store with the same plaintext in different products cannot both
-- hold the store's fingerprint. The one that gets it first (the oldest, since the recompute
-- walks in id order) keeps it; each later one keeps the same fingerprint too but is marked
-- `duplicate_of` that item and so stays out of the unique index. Nothing is deleted: they are
-- goods a customer may be holding or may buy, and the owner decides what to do with them.
alter table stock_items add column fingerprint_store_wide boolean not null default false;
alter table stock_items alter column fingerprint_store_wide set default true;
alter table stock_items add column duplicate_of bigint;

alter table stock_items drop constraint stock_items_tenant_id_product_id_content_hash_key;
-- Legacy fingerprints are unique per product and differ between products (their context
-- names the product), so this index holds before the recompute as well as after it.
create unique index stock_items_store_fingerprint on stock_items (tenant_id, content_hash)
    where duplicate_of is null;
-- What the recompute still has to do, found without reading the whole table at every start.
create index stock_items_legacy_fingerprint on stock_items (tenant_id, id)
    where not fingerprint_store_wide;

-- The copies of an item, found at once when it is removed (the trigger below runs for every
-- removed item, and almost every store has no copies at all).
create index stock_items_duplicates on stock_items (tenant_id, duplicate_of)
    where duplicate_of is not null;

-- When the item holding a fingerprint is removed (only an unsold one can be), the oldest item
-- marked as its duplicate takes the fingerprint over, so the line stays refused while any copy
-- of it is left; the other copies are re-marked as its duplicates.
create function stock_items_promote_duplicate() returns trigger
language plpgsql as $$
declare heir bigint;
begin
    select min(id) into heir from stock_items
        where tenant_id = old.tenant_id and duplicate_of = old.id;
    if heir is not null then
        update stock_items set duplicate_of = null where id = heir;
        update stock_items set duplicate_of = heir
            where tenant_id = old.tenant_id and duplicate_of = old.id;
    end if;
    return null;
end $$;

create trigger stock_items_promote_duplicate
    after delete on stock_items
    for each row when (old.duplicate_of is null)
    execute function stock_items_promote_duplicate();

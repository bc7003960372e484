-- Owner notices: a new paid order and low stock, both sent through the outbox.

-- The outbox's message kinds are the Rust enum `store::outbox::Message`; several branches add
-- kinds at the same time, and a fixed list re-stated by each would drop the others' kinds
-- depending on which migration runs last. The column keeps a shape check instead.
alter table outbox drop constraint outbox_kind_check;
alter table outbox add constraint outbox_kind_check check (kind ~ '^[a-z_]{1,40}$');

-- A product whose available stock fell to the store's low-stock threshold and whose owner was
-- told so. The row is the "once per crossing" guard: a sale inserts it (on conflict nothing),
-- and only the insert that created it sends the notice. It goes away (re-arming the notice)
-- when the product's available stock rises above the threshold it was raised at, by the
-- trigger below, whatever raised it: new stock, an import, a released reservation.
create table low_stock_alerts (
    tenant_id   uuid not null references tenants (id) on delete cascade,
    product_id  bigint not null,
    -- The threshold when the notice went out; a later change of the setting does not re-arm.
    threshold   integer not null check (threshold >= 0),
    available   integer not null check (available >= 0),
    created_at  timestamptz not null default now(),
    primary key (tenant_id, product_id),
    foreign key (tenant_id, product_id) references products (tenant_id, id) on delete cascade
);

alter table low_stock_alerts enable row level security;
alter table low_stock_alerts force row level security;
create policy tenant_isolation on low_stock_alerts
    using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- Re-arms the notice of a product whose stock became available again. It counts only when the
-- product has a raised notice, so a large import of a well-stocked product costs one index
-- probe per row.
create function low_stock_rearm() returns trigger language plpgsql as $$
begin
    if exists (select 1 from low_stock_alerts a
               where a.tenant_id = new.tenant_id and a.product_id = new.product_id) then
        delete from low_stock_alerts a
        where a.tenant_id = new.tenant_id and a.product_id = new.product_id
          and a.threshold < (select count(*) from stock_items s
                             where s.tenant_id = new.tenant_id and s.product_id = new.product_id
                               and s.status = 'available');
    end if;
    return null;
end $$;

create trigger stock_items_low_stock_rearm
    after insert or update of status on stock_items
    for each row when (new.status = 'available')
    execute function low_stock_rearm();

-- Secrets of the host itself (not of a store), sealed with the master key like every other
-- secret so that `tokobot keys rotate` re-seals them. The first is the key of the stock
-- duplicate fingerprints, which must outlive every rotation of the master key.
create table host_secrets (
    name        text primary key check (name ~ '^[a-z_]{1,64}$'),
    sealed      bytea not null,
    created_at  timestamptz not null default now()
);

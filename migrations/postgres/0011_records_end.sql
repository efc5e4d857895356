-- The end of a record (issue 20, point 3).

-- Closed when support ends: read-only from then on (no posts, corrections,
-- alerts or card changes); an administrator lists the closed notebooks
-- past --retention-years.
alter table child add column closed_at bigint;
alter table child add column closed_by text;
-- Erased by crypto-shredding: the data key and the profile are blanked,
-- the sealed rows deleted, the memberships revoked; the row and the access
-- log stay (ids and times only). The child answers 404 to everyone.
alter table child add column erased_at bigint;

-- A guardian's request to erase, until an administrator confirms it.
create table erasure (
    child_id text primary key references child(id),
    requested_by text references account(id),
    requested_at bigint not null,
    confirmed_by text references account(id),
    confirmed_at bigint
);

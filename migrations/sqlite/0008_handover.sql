-- Handover (引継ぎ) when staff move (issue 19, point 3): a request to pass
-- one professional's membership of a child to another, approved by whoever
-- holds the child's consent. The note is sealed under the child's data key.
create table handover (
    id text primary key,
    child_id text not null references child(id),
    from_account text not null references account(id),
    to_account text not null references account(id),
    overlap_days integer not null,
    note blob,
    -- requested | approved | declined
    status text not null,
    requested_by text not null references account(id),
    created_at bigint not null,
    decided_by text references account(id),
    decided_at bigint
);
create index handover_child on handover(child_id, created_at);
create index handover_from on handover(from_account, status);
-- One open handover per member and child.
create unique index handover_open on handover(child_id, from_account) where status = 'requested';

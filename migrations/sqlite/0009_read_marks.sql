-- When each member's read position moved (issue 19, point 5: who has read
-- an entry, and when). One row per move; the time a member read entry n is
-- the earliest move to a position at or past n. Positions moved before this
-- table existed have no time.
create table read_mark (
    child_id text not null references child(id),
    account_id text not null references account(id),
    seq bigint not null,
    at bigint not null,
    primary key (child_id, account_id, seq)
);

-- Authorization fixes (issue 18, point 4).

-- What history_from is checked against: the first revision's created_at,
-- so that a correction made later is visible exactly when the entry it
-- revises is. New rows set it in Rust; existing ones are filled below.
alter table entry add column first_created_at bigint not null default 0;
update entry set first_created_at = created_at;
-- Revisions: walk up the supersedes links (primary-key lookups) to the
-- first revision, whose own supersedes is null.
update entry set first_created_at = w.first_at from (
    with recursive walk (id, cur) as (
        select id, supersedes from entry where supersedes is not null
        union all
        select walk.id, p.supersedes from walk join entry p on p.id = walk.cur
        where p.supersedes is not null
    )
    select walk.id as id, r.created_at as first_at
    from walk join entry r on r.id = walk.cur where r.supersedes is null
) as w where w.id = entry.id;

-- Every version of the emergency card is kept. A card is sealed under
-- associated data that names its child and version; the cards stored before
-- this migration become version 1, sealed under the old associated data
-- (child only), which domain/emergency/cards.rs accepts for version 1 alone.
create table emergency_card_version (
    child_id text not null references child (id),
    version bigint not null,
    card blob not null,
    updated_by text not null references account (id),
    updated_at bigint not null,
    primary key (child_id, version)
);
insert into emergency_card_version (child_id, version, card, updated_by, updated_at)
    select child_id, 1, card, updated_by, updated_at from emergency_card;
drop table emergency_card;

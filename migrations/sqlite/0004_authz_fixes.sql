-- Authorization fixes (issue 18, point 4).

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

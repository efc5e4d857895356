-- Renraku schema v1 (PostgreSQL). Times are epoch milliseconds; ids are UUID text.
-- What is sealed (XChaCha20-Poly1305 under the child's data key): child.profile,
-- entry.body, emergency_card.card. Data keys are stored only age-wrapped.

create table org (
    id text primary key,
    name text not null,
    field text not null,
    location text not null,
    summary text not null,
    strengths text not null,
    contact text not null,
    created_at bigint not null
);

create table account (
    id text primary key,
    login text not null unique,
    password_hash text not null,
    -- clear for professionals and admins (the directory); empty for families,
    -- whose names are sealed under the server key in display_sealed
    display_name text not null,
    display_sealed bytea,
    kind text not null,
    profession text,
    org_id text references org (id),
    -- sealed with the server key; pending until the first code is confirmed
    totp_secret bytea,
    totp_pending bytea,
    totp_last_step bigint not null default 0,
    created_at bigint not null
);

create table server_key (
    id text primary key,
    wrapped bytea not null
);

create table session (
    id text primary key,
    account_id text not null references account (id),
    purpose text not null,
    created_at bigint not null,
    revoked_at bigint
);
create index session_account on session (account_id);

create table refresh_token (
    hash text primary key,
    session_id text not null references session (id),
    created_at bigint not null,
    used_at bigint
);

create table child (
    id text primary key,
    wrapped_key bytea not null,
    profile bytea not null,
    last_seq bigint not null default 0,
    created_by text not null,
    created_at bigint not null
);

create table membership (
    child_id text not null references child (id),
    account_id text not null references account (id),
    role text not null,
    status text not null,
    categories bigint not null,
    can_post bigint not null,
    purpose text not null,
    history_from bigint,
    expires_at bigint,
    granted_by text,
    last_read_seq bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null,
    primary key (child_id, account_id)
);
create index membership_account on membership (account_id);

create table entry (
    id text primary key,
    child_id text not null references child (id),
    seq bigint not null,
    author_id text not null references account (id),
    category bigint not null,
    kind text not null,
    body bytea not null,
    revision bigint not null,
    supersedes text,
    client_id text not null,
    created_at bigint not null,
    unique (child_id, seq),
    unique (child_id, author_id, client_id)
);

create table access_log (
    id bigint generated always as identity primary key,
    child_id text not null references child (id),
    at bigint not null,
    account_id text not null references account (id),
    action text not null,
    detail text not null,
    -- sha-256 over the previous record's hash and this record: a removed or
    -- altered record breaks the chain
    hash text not null
);
create index access_log_child on access_log (child_id, id);

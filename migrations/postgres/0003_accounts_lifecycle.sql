-- Accounts and sessions over years (issue 17): organization administrators,
-- disabled accounts (leavers), invitations instead of passwords chosen by an
-- administrator, TOTP recovery codes, and what a session needs to end by
-- itself (idle and absolute timeouts) and to be listed to its owner.

alter table account add column org_admin bigint not null default 0;
-- when an administrator disabled the account (a leaver); null while enabled
alter table account add column disabled_at bigint;

-- moved by requests, refreshes and socket frames, written at a coarse step
-- (domain/sessions/activity.rs); sessions from before start from creation
alter table session add column last_used_at bigint not null default 0;
update session set last_used_at = created_at;
-- the User-Agent at login, cut to 200 characters; never a token
alter table session add column user_agent text;
-- why it ended (vocab::EndReason); null while it is live
alter table session add column end_reason text;
-- the sweep of expired sessions reads only live ones
create index session_live_used on session (last_used_at) where revoked_at is null;
create index session_live_created on session (created_at) where revoked_at is null;

create table invitation (
    -- sha-256 of the code: the code is shown once and never stored
    hash text primary key,
    account_id text not null references account (id),
    created_by text not null references account (id),
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);
create index invitation_account on invitation (account_id);

create table recovery_code (
    -- sha-256 of the code, as for invitations
    hash text primary key,
    account_id text not null references account (id),
    created_at bigint not null,
    used_at bigint
);
create index recovery_code_account on recovery_code (account_id);

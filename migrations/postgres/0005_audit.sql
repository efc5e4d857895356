-- The audit trail (issue 18, point 7).

-- The access log's chain is keyed: each record's hash is an HMAC-SHA256
-- under a key kept in the data dir (keys/audit-chain.key), never in the
-- database, so write access to the database no longer suffices to
-- recompute it. Records chained before this migration used plain SHA-256
-- and are marked here; the first server start that creates the key checks
-- each child's old chain and re-chains it under the key (then clears the
-- mark). A chain whose old records were already broken keeps them marked,
-- and `renraku audit verify` reports its first broken record.
alter table access_log add column legacy_chain bigint not null default 0;
update access_log set legacy_chain = 1;

-- Authentication events for administrators: no child data, no secrets,
-- no login string that matched no account. Repeated failures and rate-limit
-- hits of one key within a minute are one row with a count in `detail`.
create table security_log (
    id bigint generated always as identity primary key,
    at bigint not null,
    event text not null,
    account_id text,
    address text,
    detail text not null
);

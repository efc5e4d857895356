-- Delivery ordered against consent changes (issue 18, point 6).

-- Every change of a child's memberships raises its consent version, in the
-- transaction of the change, which holds the child's row lock. A post's
-- batch takes the same lock, so each entry records the consent version it
-- was committed under: an entry whose version is newer than the consent a
-- socket holds was committed after a change that socket has not seen yet,
-- and the socket reads its membership again before delivering it.
alter table child add column consent_version bigint not null default 0;
-- The consent version of a membership's last change.
alter table membership add column version bigint not null default 0;
-- The child's consent version when the entry was committed.
alter table entry add column consent_version bigint not null default 0;

-- Consent passes to the young person (issue 19, point 4): from this time
-- on the child's `youth` member holds the consent (approves, narrows and
-- revokes, sets the emergency contacts); null while the guardians hold it.
alter table child add column consent_transferred_at bigint;

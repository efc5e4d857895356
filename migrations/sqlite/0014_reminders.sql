-- Plan review reminders (issue 21, point 4): 7 days and 1 day before a
-- support plan's review date, pushed to its author and the coordinators.
-- A due reminder is claimed (sent_at set) before anyone is told, so it
-- runs once whatever restarts or how many nodes (like escalation steps).
create table reminder (
    id text primary key,
    child_id text not null references child (id),
    -- the plan's first revision (a correction replaces its unsent reminders)
    origin text not null,
    -- the revision whose review date it is
    entry_id text not null,
    days_before bigint not null,
    due_at bigint not null,
    sent_at bigint
);
create index reminder_due on reminder (due_at) where sent_at is null;
create index reminder_origin on reminder (child_id, origin);

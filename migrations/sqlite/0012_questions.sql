-- Addressed entries and questions (issue 21, point 1).

-- Who an entry is addressed to (account ids, space-separated; null: nobody),
-- whether it asks for a reply, and the entry it replies to. Clear like the
-- category mask: ids only, what the inbox is found by.
alter table entry add column addressees text;
alter table entry add column needs_reply bigint not null default 0;
alter table entry add column reply_to text;
-- The id of the entry's first revision (corrections keep it; null on rows
-- from before this migration, which are then their own origin or were never
-- questions).
alter table entry add column origin text;
-- The question (its origin) that this reply answers: set when the reply's
-- author is one of the question's addressees. A question's state is derived
-- from these and from the done marks, never by editing the question.
alter table entry add column answers text;
create index entry_answers on entry (child_id, answers) where answers is not null;
create index entry_questions on entry (child_id) where needs_reply = 1;

-- "Done": an addressee or the author closed the question without a reply.
create table entry_done (
    origin text not null,
    child_id text not null references child (id),
    account_id text not null references account (id),
    at bigint not null,
    primary key (origin, account_id)
);
create index entry_done_child on entry_done (child_id);

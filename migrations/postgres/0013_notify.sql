-- Notifications for entries (issue 21, point 3): per membership, which
-- entries push (all, those addressed to the member, none) and quiet hours
-- ("HH:MM" in the server's time zone). No row: all, no quiet hours.
create table notify_pref (
    child_id text not null references child (id),
    account_id text not null references account (id),
    level text not null,
    quiet_from text,
    quiet_to text,
    updated_at bigint not null,
    primary key (child_id, account_id)
);

-- Emergency: cards (sealed), contacts in tiers, alerts with their escalation
-- state (so that a restart resumes it), per-contact deliveries, push subscriptions.

create table emergency_card (
    child_id text primary key references child (id),
    card bytea not null,
    updated_by text not null references account (id),
    updated_at bigint not null
);

create table emergency_contact (
    child_id text not null references child (id),
    account_id text not null references account (id),
    tier bigint not null,
    primary key (child_id, account_id)
);

create table alert (
    id text primary key,
    child_id text not null references child (id),
    raised_by text not null references account (id),
    -- sealed under the child's data key
    message bytea not null,
    created_at bigint not null,
    status text not null,
    -- escalation: the next step to run and when; a step runs once (compare-and-set on step)
    step bigint not null,
    next_step_at bigint,
    acked_by text,
    acked_at bigint,
    ack_channel text
);
create index alert_due on alert (status, next_step_at);
create index alert_child on alert (child_id, created_at);

create table alert_delivery (
    alert_id text not null references alert (id),
    account_id text not null references account (id),
    tier bigint not null,
    notified_at bigint not null,
    last_notified_at bigint not null,
    notify_count bigint not null,
    -- comma-separated channels that carried it: websocket, push
    channels text not null,
    push_status text,
    acked_at bigint,
    ack_channel text,
    primary key (alert_id, account_id)
);

create table push_subscription (
    id text primary key,
    account_id text not null references account (id),
    endpoint text not null,
    p256dh text not null,
    auth text not null,
    created_at bigint not null,
    unique (account_id, endpoint)
);

-- Attachments (issue 20, point 1). The metadata of each upload; the file
-- itself is sealed under the child's key in STREAM chunks of 64 KiB
-- (nonce_prefix beside them): on SQLite a file under the data dir
-- (attachments/<child>/<id>), on PostgreSQL the rows of attachment_chunk,
-- so that every node can serve it. A row exists only once the whole upload
-- was sealed and stored.
create table attachment (
    id text primary key,
    child_id text not null references child(id),
    uploader text not null references account(id),
    content_type text not null,
    size bigint not null,
    sha256 text not null,
    nonce_prefix blob not null,
    created_at bigint not null
);
create index attachment_created on attachment (created_at);

-- The sealed chunks, in order (PostgreSQL only; empty on SQLite, where
-- they are files). No foreign key: chunks are written in the upload's own
-- transaction with their attachment row.
create table attachment_chunk (
    attachment_id text not null,
    n bigint not null,
    data blob not null,
    primary key (attachment_id, n)
);

-- Which entries (revisions) reference an attachment: written in the same
-- transaction as the entry. Who may read an attachment is decided by the
-- entries that reference it; one no entry references is deleted after 24 h.
create table attachment_ref (
    attachment_id text not null,
    entry_id text not null,
    child_id text not null references child(id),
    primary key (attachment_id, entry_id)
);
create index attachment_ref_entry on attachment_ref (entry_id);

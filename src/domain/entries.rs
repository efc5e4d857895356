//! Entries: post (idempotent by `client_id`, answered after the durable
//! commit), list, revise (a new revision, never an edit), read receipts, and
//! the access log that records every read and write.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

use super::body::{validate_body, validate_body_of};
use super::committer::Committed;
use super::frames::{entry_json, ServerFrame};
use super::questions::Ask;
use super::views::{entry_of, Entry, Sealed};
use super::{Core, Principal};
use crate::consent::{category_bit, Member as Consent, PostRight};
use crate::crypto::{aad, DataKey};
use crate::error::{Error, Result};
use crate::hub::LiveEntry;
use crate::ids::{AccountId, ChildId, EntryId, Seq, Timestamp};
use crate::store::{EntryRow, NewAccess, NewEntry, Thread, WriteOp};
use crate::vocab::EntryKind;

/// How many times a page is read again because consent changed meanwhile
/// before the reader is asked to come back (503 `busy`).
const MAX_CONSENT_RETRIES: usize = 8;

const MAX_PAGE: i64 = 500;

#[derive(Serialize, utoipa::ToSchema)]
pub struct EntryPage {
    pub entries: Vec<Entry>,
    pub last_seq: Seq,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntryInput {
    pub client_id: String,
    /// The first category (or the only one).
    #[serde(default)]
    #[schema(value_type = Option<crate::consent::CategoryName>)]
    pub category: Option<String>,
    /// Every category the entry is filed under, the first first.
    #[serde(default)]
    #[schema(value_type = Option<Vec<crate::consent::CategoryName>>)]
    pub categories: Option<Vec<String>>,
    #[schema(value_type = crate::vocab::EntryKind)]
    pub kind: String,
    pub body: Value,
    /// Addressees: members who must be able to see the entry.
    #[serde(default)]
    pub to: Vec<AccountId>,
    /// A question: `open` until an addressee replies or marks it done.
    #[serde(default)]
    pub needs_reply: bool,
    /// The entry (any revision) this one replies to, in the same notebook.
    #[serde(default)]
    pub reply_to: Option<EntryId>,
}

/// The categories a post names: `categories`, or `category`, or both when
/// `category` is the first of `categories`. The mask, and the names in the
/// author's order (kept sealed when there are several).
fn post_categories(input: &NewEntryInput) -> Result<(i64, Vec<&'static str>)> {
    let names: Vec<&str> = match (&input.category, &input.categories) {
        (None, None) => return Err(Error::bad_request("category: required")),
        (Some(c), None) => vec![c.as_str()],
        (first, Some(list)) => {
            if list.is_empty() {
                return Err(Error::bad_request("categories: at least one"));
            }
            if first.as_deref().is_some_and(|c| c != list[0]) {
                return Err(Error::bad_request(
                    "category: must be the first of categories",
                ));
            }
            list.iter().map(String::as_str).collect()
        }
    };
    let mut mask = 0;
    let mut ordered = Vec::with_capacity(names.len());
    for n in names {
        let bit = category_bit(n)
            .ok_or_else(|| Error::bad_request(format!("categories: unknown category `{n}`")))?;
        if mask & bit != 0 {
            return Err(Error::bad_request(format!("categories: `{n}` twice")));
        }
        mask |= bit;
        ordered.push(crate::consent::category_name(bit));
    }
    Ok((mask, ordered))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisionInput {
    pub body: Value,
    pub reason: String,
    /// Optional idempotency key for the revision.
    #[serde(default)]
    pub client_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccessRecord {
    pub id: i64,
    pub at: Timestamp,
    pub account_id: AccountId,
    pub display_name: String,
    pub action: String,
    pub detail: String,
}

/// An entry about to be appended (its child, author and category come
/// from the [`PostRight`] that allows it).
struct Draft<'a> {
    kind: EntryKind,
    sealed: Sealed,
    prev: Option<&'a EntryRow>,
    client_id: String,
    /// Addressees and reply (a correction keeps its entry's); `origin` is
    /// filled in by [`Core::append`].
    thread: Thread,
}

/// The order to keep sealed: only when there are several categories (a
/// single-category entry seals what it always did).
fn several(ordered: &[&'static str]) -> Option<Vec<String>> {
    (ordered.len() > 1).then(|| ordered.iter().map(|c| (*c).to_owned()).collect())
}

fn check_client_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 128 {
        return Err(Error::bad_request("client_id: 1–128 characters"));
    }
    Ok(())
}

/// A post or revision as the caller gets it back.
pub struct Posted {
    pub entry: Entry,
    /// False: an idempotent replay of an earlier post.
    pub created: bool,
    /// The live frame of a new entry (its JSON, serialized once).
    live: Option<Arc<LiveEntry>>,
}

impl Posted {
    /// The entry's JSON: the live frame's, or serialized now for a replay.
    pub fn entry_json(&self) -> Result<Cow<'_, RawValue>> {
        match &self.live {
            Some(live) => Ok(Cow::Borrowed(&*live.entry)),
            None => Ok(Cow::Owned(entry_json(&self.entry)?)),
        }
    }

    /// The `posted` frame answering the author.
    pub fn frame(&self, reference: Option<&str>) -> Result<String> {
        let entry = self.entry_json()?;
        Ok(ServerFrame::Posted {
            reference,
            entry: &entry,
        }
        .to_text())
    }
}

impl Core {
    pub(super) async fn child_key(&self, child: ChildId) -> Result<Arc<DataKey>> {
        if let Some(k) = self.keys.cached(child) {
            return Ok(k);
        }
        let row = self.store.get_child(child).await?;
        Ok(self.keys.child_key(child, &row.wrapped_key)?)
    }

    pub(super) fn open_entry(&self, key: &DataKey, row: EntryRow) -> Result<Entry> {
        let plain = key.open(&aad::entry(row.child_id, row.id, row.revision), &row.body)?;
        let sealed: Sealed = serde_json::from_slice(&plain).map_err(Error::internal)?;
        Ok(entry_of(row, sealed, &self.server_key))
    }

    /// `POST /children/{id}/entries` and the WebSocket `post`. Returns the
    /// entry and whether it was created now (false: an idempotent replay).
    pub async fn post_entry(
        &self,
        who: &Principal,
        child: ChildId,
        input: NewEntryInput,
    ) -> Result<Posted> {
        self.limited(who, self.limits.post(who.account), "posts")?;
        self.post_at(who, child, input, None).await
    }

    /// Imports an entry with its original time (demo, migrations from paper
    /// notebooks): the same checks as a post, in seq order of import.
    pub async fn import_entry(
        &self,
        who: &Principal,
        child: ChildId,
        input: NewEntryInput,
        at: Timestamp,
    ) -> Result<Entry> {
        Ok(self.post_at(who, child, input, Some(at)).await?.entry)
    }

    /// A first revision, created `at` (None: now, once it is allowed).
    pub(super) async fn post_at(
        &self,
        who: &Principal,
        child: ChildId,
        input: NewEntryInput,
        at: Option<Timestamp>,
    ) -> Result<Posted> {
        let me = self.poster(child, who.account).await?;
        let (category, ordered) = post_categories(&input)?;
        check_client_id(&input.client_id)?;
        let (kind, body) = validate_body(&input.kind, input.body)?;
        let right = me.require_post(category)?;
        let when = at.unwrap_or_else(Timestamp::now);
        let ask = Ask {
            to: input.to,
            needs_reply: input.needs_reply,
            reply_to: input.reply_to,
        };
        let thread = self.thread_of(&me, category, when, ask).await?;
        let sealed = Sealed {
            body,
            reason: None,
            categories: several(&ordered),
        };
        let draft = Draft {
            kind,
            sealed,
            prev: None,
            client_id: input.client_id,
            thread,
        };
        let posted = self.append(right, draft, when, "post").await?;
        let live = at.is_none();
        if live && posted.created {
            self.note_entry(&posted.entry, posted.live.as_deref());
        }
        Ok(posted)
    }

    /// Seals, commits and publishes one entry (a first revision or a correction).
    async fn append(
        &self,
        right: PostRight<'_>,
        draft: Draft<'_>,
        at: Timestamp,
        action: &'static str,
    ) -> Result<Posted> {
        let Draft {
            kind,
            sealed,
            prev,
            client_id,
            mut thread,
        } = draft;
        let (child, author, category) = (right.child(), right.author(), right.category());
        let key = self.child_key(child).await?;
        let id = EntryId::new();
        let revision = prev.map_or(1, |p| p.revision + 1);
        thread.origin = Some(prev.map_or(id, |p| p.thread.origin.unwrap_or(p.id)));
        let answers = thread.answers;
        let attachments = self.referenced_attachments(child, &sealed.body).await?;
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&sealed).map_err(Error::internal)?);
        let new = NewEntry {
            attachments,
            id,
            child_id: child,
            author_id: author,
            category,
            kind,
            body: key.seal(&aad::entry(child, id, revision), &plain)?,
            revision,
            supersedes: prev.map(|p| p.id),
            client_id,
            created_at: at.millis(),
            first_created_at: prev.map_or(at.millis(), |p| p.first_created_at),
            thread,
        };
        let asked = (
            new.thread.to.clone(),
            new.thread.needs_reply,
            new.thread.reply_to,
        );
        let log = NewAccess {
            child_id: child,
            account_id: author,
            action,
            detail: format!("entry {id}"),
            at: Timestamp::now().millis(),
        };
        let op = WriteOp::Entry {
            entry: Box::new(new),
            author_name: right.author_name().clone(),
            log,
        };
        match self.committer.commit(op, Some(sealed)).await? {
            Committed::Entry(live, mut entry) => {
                if let Some(question) = answers {
                    self.announce_state(child, question).await;
                }
                if prev.is_none() && entry.needs_reply {
                    self.tell_addressees(&entry);
                }
                self.schedule_reminders(&entry).await;
                if prev.is_some() && entry.needs_reply {
                    // A correction of a question keeps its state.
                    self.settle(child, std::slice::from_mut(&mut *entry))
                        .await?;
                    self.announce_state(child, entry.origin).await;
                }
                Ok(Posted {
                    entry: *entry,
                    created: true,
                    live: Some(live),
                })
            }
            Committed::Replay(existing) => {
                // A repeat answers with the stored entry only if it is the
                // same request: else a client_id could read back an entry
                // of a category its author no longer may (the category is
                // checked against consent as it is now, above).
                let same = existing.category == category
                    && existing.kind == kind
                    && existing.supersedes == prev.map(|p| p.id)
                    && (
                        existing.thread.to.clone(),
                        existing.thread.needs_reply,
                        existing.thread.reply_to,
                    ) == asked
                    && *key.open(
                        &aad::entry(child, existing.id, existing.revision),
                        &existing.body,
                    )? == *plain;
                if !same {
                    return Err(Error::Conflict(
                        "client_id: already used for a different entry".into(),
                    ));
                }
                let mut entry = self.open_entry(&key, *existing)?;
                self.settle(child, std::slice::from_mut(&mut entry)).await?;
                Ok(Posted {
                    entry,
                    created: false,
                    live: None,
                })
            }
            Committed::Logged | Committed::Alert => {
                Err(Error::internal("entry op answered as another op"))
            }
        }
    }

    /// One entry (any revision) of `me`'s child that `me` sees now; 404
    /// otherwise, whether it is missing, another child's or not visible.
    pub(super) async fn visible_entry(&self, me: &Consent, entry: EntryId) -> Result<EntryRow> {
        self.store
            .get_entry(me.child(), entry)
            .await?
            .filter(|r| me.sees(r.category, r.first_created_at, Timestamp::now()))
            .ok_or(Error::NotFound)
    }

    /// `GET /children/{id}/entries?after_seq&limit`: visible entries, logged.
    pub async fn list_entries(
        &self,
        who: &Principal,
        child: ChildId,
        after_seq: Seq,
        limit: Option<i64>,
    ) -> Result<EntryPage> {
        let me = self.member(child, who.account).await?;
        let (entries, last_seq, _) = self
            .read_entries(&me, after_seq, limit.unwrap_or(100))
            .await?;
        Ok(EntryPage { entries, last_seq })
    }

    /// Visible entries after `after_seq` (at most `limit`) and the child's
    /// last seq, read before the entries; logs the read. Used by HTTP and
    /// the WebSocket backlog. Also returns the consent the page was read
    /// with: `me`, or `me` read again when the page held an entry committed
    /// after a consent change that `me` does not reflect (403 if that change
    /// ended the membership).
    pub async fn read_entries(
        &self,
        me: &Consent,
        after_seq: Seq,
        limit: i64,
    ) -> Result<(Vec<Entry>, Seq, Consent)> {
        let limit = limit.clamp(1, MAX_PAGE);
        let child = me.child();
        let mut me = me.clone();
        let mut attempts = 0;
        let (rows, last_seq) = loop {
            let last_seq = self.store.get_child(child).await?.last_seq;
            let rows = self
                .store
                .list_entries(child, after_seq, limit, me.visibility())
                .await?;
            if rows.iter().all(|r| r.consent_version <= me.as_of()) {
                break (rows, last_seq);
            }
            attempts += 1;
            if attempts > MAX_CONSENT_RETRIES {
                return Err(Error::Busy { retry_after: 1 });
            }
            me = self.member(child, me.account()).await?;
        };
        let key = self.child_key(child).await?;
        let mut entries = rows
            .into_iter()
            .map(|r| self.open_entry(&key, r))
            .collect::<Result<Vec<_>>>()?;
        self.settle(child, &mut entries).await?;
        let detail = match (entries.first(), entries.last()) {
            (Some(a), Some(b)) => format!("seq {}–{} ({} entries)", a.seq, b.seq, entries.len()),
            _ => format!("after seq {after_seq}: none"),
        };
        self.log_access(child, me.account(), "read_entries", detail)
            .await?;
        Ok((entries, last_seq, me))
    }

    /// `POST /children/{id}/entries/{entry}/revisions` (the author only).
    pub async fn revise_entry(
        &self,
        who: &Principal,
        child: ChildId,
        entry: EntryId,
        input: RevisionInput,
        at: Option<Timestamp>,
    ) -> Result<Posted> {
        if at.is_none() {
            self.limited(who, self.limits.post(who.account), "posts")?;
        }
        let me = self.poster(child, who.account).await?;
        let prev = self
            .store
            .get_entry(child, entry)
            .await?
            .ok_or(Error::NotFound)?;
        if !me.sees(prev.category, prev.first_created_at, Timestamp::now()) {
            return Err(Error::NotFound);
        }
        if prev.author_id != who.account {
            return Err(Error::forbidden("only the author may revise an entry"));
        }
        let right = me.require_post(prev.category)?;
        let reason = input.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 1000 {
            return Err(Error::bad_request("reason: 1–1000 characters"));
        }
        let client_id = input
            .client_id
            .unwrap_or_else(|| format!("revision-{}", EntryId::new()));
        check_client_id(&client_id)?;
        let body = validate_body_of(prev.kind, input.body)?;
        if self.store.is_superseded(child, entry).await? {
            return Err(Error::Conflict(
                "revise the latest revision of this entry".into(),
            ));
        }
        // A correction keeps the categories, in their order.
        let key = self.child_key(child).await?;
        let order = self.open_entry(&key, prev.clone())?.categories;
        let sealed = Sealed {
            body,
            reason: Some(reason),
            categories: several(&order),
        };
        let draft = Draft {
            kind: prev.kind,
            sealed,
            prev: Some(&prev),
            client_id,
            thread: prev.thread.clone(),
        };
        let posted = self
            .append(right, draft, at.unwrap_or_else(Timestamp::now), "revise")
            .await?;
        if at.is_none() && posted.created {
            self.note_entry(&posted.entry, posted.live.as_deref());
        }
        Ok(posted)
    }

    /// WebSocket `read`: raises my read position, tells the other subscribers.
    /// A `read` that does not move the position forward writes nothing and
    /// sends nothing (a client repeating it is not a flood of receipts).
    pub async fn mark_read(&self, who: &Principal, child: ChildId, seq: Seq) -> Result<Seq> {
        let member = self.member(child, who.account).await?;
        let last = self.store.get_child(child).await?.last_seq;
        let seq = seq.clamp(0, last);
        if seq <= member.last_read_seq() {
            return Ok(member.last_read_seq());
        }
        let mut w = self.store.writer().await?;
        let Some(stored) = w.set_last_read(child, who.account, seq).await? else {
            return Ok(seq);
        };
        self.hub.publish_receipt(child, who.account, stored);
        drop(w);
        Ok(stored)
    }

    /// `GET /children/{id}/access-log?after&limit` (guardian, youth).
    pub async fn access_log(
        &self,
        who: &Principal,
        child: ChildId,
        after: i64,
        limit: Option<i64>,
    ) -> Result<Vec<AccessRecord>> {
        self.member(child, who.account).await?.require_family()?;
        let limit = limit.unwrap_or(500).clamp(1, 1000);
        let rows = self.store.list_access(child, after, limit).await?;
        // Logged after the read: the answer never holds its own record.
        let detail = format!("{} records after {after}", rows.len());
        self.log_access(child, who.account, "read_access_log", detail)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, r)| AccessRecord {
                id,
                at: Timestamp(r.at),
                account_id: r.account_id,
                display_name: self.name(r.account_id, &r.display_name),
                action: r.action,
                detail: r.detail,
            })
            .collect())
    }
}

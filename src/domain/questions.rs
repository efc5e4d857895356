//! Addressed entries and questions: who an entry is addressed to, whether it
//! asks for a reply, which entry it replies to; a question's state (derived
//! from the replies by its addressees and the done marks, never an edit of
//! the entry), `done`, the inbox across a member's children, and the live
//! `entry_state` frame.

use std::collections::hash_map::Entry::Vacant;
use std::collections::{BTreeMap, HashMap};

use super::frames::ServerFrame;
use super::views::{Entry, QUESTION_ANSWERED, QUESTION_OPEN};
use super::{Core, Principal};
use crate::consent::Member as Consent;
use crate::error::{Error, Result};
use crate::hub::LiveQuestion;
use crate::ids::{AccountId, ChildId, EntryId, Timestamp};
use crate::store::{EntryRow, Thread};

/// At most this many addressees per entry.
const MAX_ADDRESSEES: usize = 20;

/// What a post asks for, as the client sent it.
pub(super) struct Ask {
    pub to: Vec<AccountId>,
    pub needs_reply: bool,
    pub reply_to: Option<EntryId>,
}

impl Core {
    /// Checks what a post asks and returns the thread to store: every
    /// addressee sees an entry of `category` created `at`, and the entry
    /// replied to is one of this notebook that the author sees.
    pub(super) async fn thread_of(
        &self,
        me: &Consent,
        category: i64,
        at: Timestamp,
        ask: Ask,
    ) -> Result<Thread> {
        let child = me.child();
        let mut to: Vec<AccountId> = Vec::with_capacity(ask.to.len());
        for a in ask.to {
            if !to.contains(&a) {
                to.push(a);
            }
        }
        if to.len() > MAX_ADDRESSEES {
            return Err(Error::bad_request("to: at most 20 addressees"));
        }
        if ask.needs_reply && to.is_empty() {
            return Err(Error::bad_request(
                "needs_reply: address the question to someone (to)",
            ));
        }
        let now = Timestamp::now();
        for &a in &to {
            if a == me.account() {
                return Err(Error::bad_request("to: you cannot address yourself"));
            }
            let sees = match self.poster(child, a).await {
                Ok(m) => m.sees(category, at.millis(), now),
                Err(Error::Internal(e)) => return Err(Error::Internal(e)),
                Err(_) => false,
            };
            if !sees {
                return Err(Error::bad_request(format!(
                    "to: {a} could not see this entry"
                )));
            }
        }
        let answers = match ask.reply_to {
            None => None,
            Some(r) => {
                let row = match self.visible_entry(me, r).await {
                    Err(Error::NotFound) => Err(Error::bad_request(
                        "reply_to: no entry of this notebook that you can see",
                    )),
                    other => other,
                }?;
                let t = &row.thread;
                (t.needs_reply && t.to.contains(&me.account())).then(|| t.origin.unwrap_or(row.id))
            }
        };
        Ok(Thread {
            to,
            needs_reply: ask.needs_reply,
            reply_to: ask.reply_to,
            origin: None,
            answers,
        })
    }

    /// Sets the state of the answered questions among `entries` (all of `child`).
    pub(super) async fn settle(&self, child: ChildId, entries: &mut [Entry]) -> Result<()> {
        if !entries.iter().any(|e| e.needs_reply) {
            return Ok(());
        }
        let answered = self.store.answered_questions(child).await?;
        for e in entries.iter_mut().filter(|e| e.needs_reply) {
            e.state = Some(if answered.contains(&e.origin) {
                QUESTION_ANSWERED
            } else {
                QUESTION_OPEN
            });
        }
        Ok(())
    }

    /// `POST /children/{id}/entries/{eid}/done`: the author or an addressee
    /// closes a question without a reply. Answers with its latest revision.
    pub async fn mark_done(
        &self,
        who: &Principal,
        child: ChildId,
        entry: EntryId,
    ) -> Result<Entry> {
        let me = self.member(child, who.account).await?;
        let now = Timestamp::now();
        let row = self.visible_entry(&me, entry).await?;
        me.require_open()?;
        if !row.thread.needs_reply {
            return Err(Error::bad_request("this entry does not ask for a reply"));
        }
        if row.author_id != who.account && !row.thread.to.contains(&who.account) {
            return Err(Error::forbidden(
                "only the author or an addressee may mark a question done",
            ));
        }
        let origin = row.thread.origin.unwrap_or(row.id);
        let mut w = self.store.writer().await?;
        w.mark_done(child, origin, who.account, now.millis())
            .await?;
        drop(w);
        self.log_access(child, who.account, "done", format!("entry {origin}"))
            .await?;
        self.announce_state(child, origin).await;
        let latest = self
            .store
            .latest_revision(child, origin)
            .await?
            .ok_or(Error::NotFound)?;
        let key = self.child_key(child).await?;
        let mut entries = [self.open_entry(&key, latest)?];
        self.settle(child, &mut entries).await?;
        let [entry] = entries;
        Ok(entry)
    }

    /// `GET /inbox`: the open questions addressed to me that I still see,
    /// across my children, oldest first; a read of each child listed.
    pub async fn inbox(&self, who: &Principal) -> Result<Vec<Entry>> {
        let rows = self.store.list_open_questions(who.account).await?;
        let out = self.open_visible(who.account, rows).await?;
        self.log_reads(who.account, out.iter().map(|e| e.child_id), |n| {
            format!("inbox: {n} open questions")
        })
        .await?;
        Ok(out)
    }

    /// Rows of several children: those `account` sees now, opened.
    pub(super) async fn open_visible(
        &self,
        account: AccountId,
        rows: Vec<EntryRow>,
    ) -> Result<Vec<Entry>> {
        let now = Timestamp::now();
        let mut members: HashMap<ChildId, Option<Consent>> = HashMap::new();
        let mut out = Vec::new();
        for row in rows {
            let child = row.child_id;
            if let Vacant(slot) = members.entry(child) {
                slot.insert(match self.member(child, account).await {
                    Ok(m) => Some(m),
                    Err(Error::Internal(e)) => return Err(Error::Internal(e)),
                    Err(_) => None,
                });
            }
            let seen = members
                .get(&child)
                .and_then(Option::as_ref)
                .is_some_and(|m| m.sees(row.category, row.first_created_at, now));
            if seen {
                let key = self.child_key(child).await?;
                out.push(self.open_entry(&key, row)?);
            }
        }
        Ok(out)
    }

    /// One `read_entries` record per child of `children` (an item per
    /// thing read), worded by `detail` from the child's count.
    pub(super) async fn log_reads(
        &self,
        account: AccountId,
        children: impl Iterator<Item = ChildId>,
        detail: impl Fn(usize) -> String,
    ) -> Result<()> {
        let mut counts: BTreeMap<ChildId, usize> = BTreeMap::new();
        for child in children {
            *counts.entry(child).or_default() += 1;
        }
        let records = counts
            .into_iter()
            .map(|(child, n)| (child, detail(n)))
            .collect();
        self.log_accesses(account, "read_entries", records).await
    }

    /// Tells the addressees' sockets on this node that a question came
    /// for them (their inbox badge; other nodes' sockets learn it when
    /// their client reads the inbox again).
    pub(super) fn tell_addressees(&self, entry: &Entry) {
        let frame: std::sync::Arc<str> = ServerFrame::Inbox {
            child_id: entry.child_id,
            entry_id: entry.id,
        }
        .to_text()
        .into();
        for &a in &entry.to {
            self.hub.send_to_account(a, frame.clone());
        }
    }

    /// Tells this node's subscribers of `child` who see question `origin`
    /// its state. A failure is only logged: the state is stored, and a
    /// reload shows it.
    pub(super) async fn announce_state(&self, child: ChildId, origin: EntryId) {
        if !self.hub.has_subscribers(child) {
            return;
        }
        if let Err(e) = self.try_announce(child, origin).await {
            tracing::error!(error = %e, "announcing a question's state");
        }
    }

    async fn try_announce(&self, child: ChildId, origin: EntryId) -> Result<()> {
        let Some(row) = self.store.latest_revision(child, origin).await? else {
            return Ok(());
        };
        let answered = self.store.answered_questions(child).await?;
        let state = if answered.contains(&origin) {
            QUESTION_ANSWERED
        } else {
            QUESTION_OPEN
        };
        let frame = ServerFrame::EntryState {
            child_id: child,
            entry_id: row.id,
            state,
        }
        .to_text();
        self.hub.publish_question(LiveQuestion {
            child_id: child,
            category: row.category,
            first_created_at: row.first_created_at,
            frame,
        });
        Ok(())
    }
}

//! Pushes for entries. Per membership a level (`all`, `addressed`: only
//! entries addressed to the member, `none`) and quiet hours in the server's
//! time zone. The first push for a child goes at once; later entries of the
//! same child within the interval wait for its end and go as one push;
//! none goes in quiet hours (what came meanwhile goes as one push when they
//! end). The text is generic: ids, never a name or an entry's text. The post
//! path only queues a note (never waits, never reads anything);
//! [`entry_push_loop`] decides and sends. Alerts never come this way.

use std::collections::hash_map::Entry::Vacant;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::views::Entry;
use super::{Core, Principal};
use crate::consent::row_sees;
use crate::error::{Error, Result};
use crate::hub::LiveEntry;
use crate::ids::{AccountId, ChildId, EntryId, Timestamp};
use crate::store::{MemberRow, NotifyRow};

/// Notes waiting for the loop; a full queue drops the note (a push is a
/// courtesy: the entry is committed and the notebook shows it).
const QUEUE: usize = 4096;

const LEVELS: [&str; 3] = ["all", "addressed", "none"];

/// At most this many notes are decided together.
const BATCH: usize = 1024;
/// How long the loop waits after a note for more to decide with it.
const GATHER: Duration = Duration::from_millis(200);
/// A child's members and settings are read again after this long, or at
/// once when a setting changed on this node (a push decided on a
/// membership or another node's setting changed within it carries ids
/// only, no content).
const CACHE_FOR: Duration = Duration::from_secs(2);

/// A child's members and notification settings, as last read.
struct Audience {
    read_at: tokio::time::Instant,
    generation: u64,
    members: Vec<MemberRow>,
    prefs: HashMap<AccountId, NotifyRow>,
}

/// `PUT /children/{id}/members/me/notify`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyInput {
    pub level: String,
    #[serde(default)]
    pub quiet_from: Option<String>,
    #[serde(default)]
    pub quiet_to: Option<String>,
}

/// A member's notification settings for one child.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct NotifySettings {
    pub level: String,
    pub quiet_from: Option<String>,
    pub quiet_to: Option<String>,
}

/// A committed entry, as the loop needs it.
struct Note {
    child: ChildId,
    entry: EntryId,
    author: AccountId,
    to: Vec<AccountId>,
    category: i64,
    first_created_at: i64,
}

/// The queue between the post path and the loop.
pub(super) struct Notes {
    tx: mpsc::Sender<Note>,
    rx: Mutex<Option<mpsc::Receiver<Note>>>,
    /// Bumped by a setting changed here: the loop reads its children again.
    settings_changed: AtomicU64,
}

impl Default for Notes {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            settings_changed: AtomicU64::new(0),
        }
    }
}

/// "HH:MM" → minutes after midnight.
fn minute_of(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// A quiet window, `from` inclusive to `to` exclusive, across midnight
/// when `to` comes first.
#[derive(Clone, Copy, Debug)]
struct Quiet {
    from: u16,
    to: u16,
}

impl Quiet {
    fn of(row: &NotifyRow) -> Option<Self> {
        let from = minute_of(row.quiet_from.as_deref()?)?;
        let to = minute_of(row.quiet_to.as_deref()?)?;
        Some(Self { from, to })
    }

    fn contains(self, minute: u16) -> bool {
        if self.from < self.to {
            (self.from..self.to).contains(&minute)
        } else {
            minute >= self.from || minute < self.to
        }
    }
}

impl Core {
    /// `at` (epoch ms) in the server's time zone.
    fn local(&self, at: i64) -> Option<jiff::Zoned> {
        jiff::Timestamp::from_millisecond(at)
            .ok()
            .map(|t| t.to_zoned(self.settings.time_zone.clone()))
    }

    /// When quiet hours that hold `at` end (epoch ms).
    fn quiet_end(&self, quiet: Quiet, at: i64) -> i64 {
        let next = self.local(at).and_then(|now| {
            let end = now
                .with()
                .hour(i8::try_from(quiet.to / 60).ok()?)
                .minute(i8::try_from(quiet.to % 60).ok()?)
                .second(0)
                .subsec_nanosecond(0)
                .build()
                .ok()?;
            let end = if end <= now {
                end.checked_add(jiff::Span::new().days(1)).ok()?
            } else {
                end
            };
            Some(end.timestamp().as_millisecond())
        });
        // A clock that cannot be read: try again in a minute.
        next.unwrap_or(at + 60_000)
    }

    fn is_quiet(&self, quiet: Option<Quiet>, at: i64) -> bool {
        let (Some(q), Some(now)) = (quiet, self.local(at)) else {
            return false;
        };
        let minute = u16::try_from(i32::from(now.hour()) * 60 + i32::from(now.minute()));
        minute.is_ok_and(|m| q.contains(m))
    }

    /// `GET /children/{id}/members/me/notify`.
    pub async fn get_notify(&self, who: &Principal, child: ChildId) -> Result<NotifySettings> {
        self.member(child, who.account).await?;
        let row = self
            .store
            .list_notify(child)
            .await?
            .into_iter()
            .find(|r| r.account_id == who.account);
        Ok(match row {
            Some(r) => NotifySettings {
                level: r.level,
                quiet_from: r.quiet_from,
                quiet_to: r.quiet_to,
            },
            None => NotifySettings {
                level: "all".into(),
                quiet_from: None,
                quiet_to: None,
            },
        })
    }

    /// `PUT /children/{id}/members/me/notify`: an active member's own setting.
    pub async fn set_notify(
        &self,
        who: &Principal,
        child: ChildId,
        input: NotifyInput,
    ) -> Result<NotifySettings> {
        self.member(child, who.account).await?;
        if !LEVELS.contains(&input.level.as_str()) {
            return Err(Error::bad_request("level: one of all, addressed, none"));
        }
        let (from, to) = (input.quiet_from, input.quiet_to);
        match (from.as_deref().map(minute_of), to.as_deref().map(minute_of)) {
            (None, None) => {}
            (Some(Some(a)), Some(Some(b))) if a != b => {}
            (Some(Some(_)), Some(Some(_))) => {
                return Err(Error::bad_request("quiet_from and quiet_to: the same time"))
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::bad_request(
                    "quiet_from and quiet_to: both or neither",
                ))
            }
            _ => {
                return Err(Error::bad_request(
                    "quiet_from, quiet_to: HH:MM (00:00–23:59)",
                ))
            }
        }
        let row = NotifyRow {
            account_id: who.account,
            level: input.level,
            quiet_from: from,
            quiet_to: to,
        };
        let mut w = self.store.writer().await?;
        w.put_notify(child, &row, Timestamp::now().millis()).await?;
        drop(w);
        self.notes.settings_changed.fetch_add(1, Ordering::Relaxed);
        Ok(NotifySettings {
            level: row.level,
            quiet_from: row.quiet_from,
            quiet_to: row.quiet_to,
        })
    }

    /// Queues a committed entry for the push loop (never waits).
    pub(super) fn note_entry(&self, entry: &Entry, live: Option<&LiveEntry>) {
        let Some(live) = live else { return };
        let note = Note {
            child: entry.child_id,
            entry: entry.id,
            author: entry.author_id,
            to: entry.to.clone(),
            category: live.category,
            first_created_at: live.first_created_at,
        };
        if self.notes.tx.try_send(note).is_err() {
            tracing::warn!("entry push queue full: a push is skipped");
        }
    }
}

/// What waits to be pushed to one account about one child.
#[derive(Default)]
struct Slot {
    last_sent: Option<i64>,
    /// The latest entry waiting, and whether any waiting one is addressed.
    pending: Option<(EntryId, bool)>,
    due: i64,
    quiet: Option<Quiet>,
}

/// Whether `m` sees an entry of `note` now.
fn sees(m: &MemberRow, note: &Note, now: Timestamp) -> bool {
    !m.disabled && row_sees(m, note.category, note.first_created_at, now)
}

/// Decides and sends entry pushes until `stop`.
pub async fn entry_push_loop(core: Arc<Core>, stop: CancellationToken) {
    let rx = core
        .notes
        .rx
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    let Some(mut rx) = rx else { return };
    let mut slots: HashMap<(AccountId, ChildId), Slot> = HashMap::new();
    let mut seen: HashMap<ChildId, Audience> = HashMap::new();
    loop {
        let next = slots
            .values()
            .filter(|s| s.pending.is_some())
            .map(|s| s.due)
            .min();
        let wait = next.map_or(Duration::from_secs(3600), |due| {
            Duration::from_millis(u64::try_from(due - Timestamp::now().millis()).unwrap_or(0))
        });
        tokio::select! {
            _ = stop.cancelled() => break,
            note = rx.recv() => match note {
                Some(note) => {
                    // What comes in the next moment goes with it: one read
                    // of each child's members per batch (and at most one per
                    // child per `CACHE_FOR`), however fast posts come.
                    tokio::time::sleep(GATHER).await;
                    let mut batch = vec![note];
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(n) => batch.push(n),
                            Err(_) => break,
                        }
                    }
                    if let Err(e) = core.on_notes(&mut slots, &mut seen, batch).await {
                        tracing::warn!(error = %e, "deciding entries' pushes");
                    }
                }
                None => break,
            },
            _ = tokio::time::sleep(wait) => core.fire(&mut slots),
        }
    }
}

impl Core {
    async fn on_notes(
        self: &Arc<Self>,
        slots: &mut HashMap<(AccountId, ChildId), Slot>,
        seen: &mut HashMap<ChildId, Audience>,
        mut notes: Vec<Note>,
    ) -> Result<()> {
        notes.sort_by_key(|n| n.child);
        let now = tokio::time::Instant::now();
        let generation = self.notes.settings_changed.load(Ordering::Relaxed);
        seen.retain(|_, a| a.generation == generation && now.duration_since(a.read_at) < CACHE_FOR);
        let mut i = 0;
        while i < notes.len() {
            let child = notes[i].child;
            if let Vacant(slot) = seen.entry(child) {
                slot.insert(Audience {
                    read_at: now,
                    generation,
                    members: self.store.list_members(child).await?,
                    prefs: self
                        .store
                        .list_notify(child)
                        .await?
                        .into_iter()
                        .map(|r| (r.account_id, r))
                        .collect(),
                });
            }
            if let Some(a) = seen.get(&child) {
                while i < notes.len() && notes[i].child == child {
                    self.on_note(slots, &notes[i], &a.members, &a.prefs);
                    i += 1;
                }
            }
        }
        self.fire(slots);
        Ok(())
    }

    fn on_note(
        &self,
        slots: &mut HashMap<(AccountId, ChildId), Slot>,
        note: &Note,
        members: &[MemberRow],
        prefs: &HashMap<AccountId, NotifyRow>,
    ) {
        let now = Timestamp::now();
        for m in members.iter().filter(|m| m.account_id != note.author) {
            if !sees(m, note, now) {
                continue;
            }
            let pref = prefs.get(&m.account_id);
            let addressed = note.to.contains(&m.account_id);
            match pref.map_or("all", |p| p.level.as_str()) {
                "none" => continue,
                "addressed" if !addressed => continue,
                _ => {}
            }
            let slot = slots.entry((m.account_id, note.child)).or_default();
            slot.quiet = pref.and_then(Quiet::of);
            let waiting = slot.pending.is_some_and(|(_, a)| a);
            slot.pending = Some((note.entry, addressed || waiting));
            slot.due = self.due(slot, now.millis());
        }
    }

    /// When a slot's pending push may go.
    fn due(&self, slot: &Slot, now: i64) -> i64 {
        if self.is_quiet(slot.quiet, now) {
            return slot.quiet.map_or(now, |q| self.quiet_end(q, now));
        }
        slot.last_sent
            .map_or(now, |t| now.max(t + self.settings.entry_push_interval_ms))
    }

    /// Sends every pending push that is due, and forgets idle slots.
    fn fire(self: &Arc<Self>, slots: &mut HashMap<(AccountId, ChildId), Slot>) {
        let now = Timestamp::now().millis();
        for ((account, child), slot) in slots.iter_mut() {
            let Some((entry, addressed)) = slot.pending else {
                continue;
            };
            if slot.due > now {
                continue;
            }
            let due = self.due(slot, now);
            if due > now {
                slot.due = due; // quiet hours began meanwhile
                continue;
            }
            slot.pending = None;
            slot.last_sent = Some(now);
            self.push_generic(vec![*account], entry_payload(*child, entry, addressed));
        }
        let interval = self.settings.entry_push_interval_ms;
        slots.retain(|_, s| s.pending.is_some() || s.last_sent.is_some_and(|t| now - t < interval));
    }
}

/// Generic text: ids only (for the link into the notebook).
fn entry_payload(child: ChildId, entry: EntryId, addressed: bool) -> String {
    let body = if addressed {
        "あなた宛ての記録があります。アプリを開いて確認してください。"
    } else {
        "連絡帳に新しい記録があります。アプリを開いて確認してください。"
    };
    json!({
        "type": "entry",
        "child_id": child,
        "entry_id": entry,
        "title": "連絡帳 / Renraku",
        "body": body,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_windows() {
        assert_eq!(minute_of("00:00"), Some(0));
        assert_eq!(minute_of("23:59"), Some(1439));
        for bad in ["24:00", "7:00", "07:60", "0700", "ab:cd", ""] {
            assert_eq!(minute_of(bad), None, "{bad}");
        }
        let night = Quiet {
            from: 22 * 60,
            to: 7 * 60,
        };
        assert!(night.contains(23 * 60) && night.contains(0) && night.contains(6 * 60 + 59));
        assert!(!night.contains(7 * 60) && !night.contains(12 * 60));
        let lunch = Quiet {
            from: 12 * 60,
            to: 13 * 60,
        };
        assert!(lunch.contains(12 * 60) && !lunch.contains(13 * 60) && !lunch.contains(0));
    }
}

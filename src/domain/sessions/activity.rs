//! When each session was last used, and the sweep that ends the ones past
//! their idle timeout or maximum age.
//!
//! Requests, refreshes and socket frames mark a session used in memory; the
//! database learns of it at a coarse step (a tenth of the idle timeout,
//! 1–60 s), and always before the value it holds would let the session
//! expire, so that a node never ends a session that another node saw in use.
//! Every second each node writes what is due and ends, in the database and
//! on every node's sockets, the sessions whose time is up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::domain::Core;
use crate::ids::{SessionId, Timestamp};
use crate::store::SessionRow;
use crate::vocab::EndReason;

/// How often a node writes due activity and ends expired sessions.
const SWEEP: Duration = Duration::from_secs(1);
/// Activity is written this long before the stored value would expire the
/// session (three sweeps: the sweep that writes it may run late).
const MARGIN_MS: i64 = 3_000;

#[derive(Clone, Copy)]
struct Seen {
    /// Last use seen on this node.
    last: i64,
    /// Last use this node knows the database holds.
    written: i64,
}

pub struct Activity {
    idle_ms: i64,
    step_ms: i64,
    seen: Mutex<HashMap<SessionId, Seen>>,
}

impl Activity {
    pub fn new(idle_ms: i64) -> Self {
        Self {
            idle_ms,
            step_ms: (idle_ms / 10).clamp(1_000, 60_000),
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Seen>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A session the database has just stored as used at `at` (login, refresh).
    pub fn written(&self, s: SessionId, at: i64) {
        self.lock().insert(
            s,
            Seen {
                last: at,
                written: at,
            },
        );
    }

    /// Marks a session used now.
    pub fn touch(&self, s: SessionId, now: i64) {
        let mut seen = self.lock();
        let e = seen.entry(s).or_insert(Seen {
            last: now,
            written: 0,
        });
        e.last = e.last.max(now);
    }

    /// The last use of a session: what the database holds or what this node saw.
    pub fn last_used(&self, row: &SessionRow) -> i64 {
        let seen = self.lock().get(&row.id).map_or(0, |e| e.last);
        row.last_used_at.max(row.created_at).max(seen)
    }

    pub fn forget(&self, s: SessionId) {
        self.lock().remove(&s);
    }

    /// The uses to write now: a step's worth newer than what was written,
    /// or newer and the written one close to expiring. Sessions unused for
    /// longer than the idle timeout are dropped (they are ending).
    fn take_due(&self, now: i64) -> Vec<(SessionId, i64)> {
        let mut due = Vec::new();
        let mut seen = self.lock();
        seen.retain(|_, e| now - e.last <= self.idle_ms + MARGIN_MS);
        for (s, e) in seen.iter_mut() {
            let newer = e.last > e.written;
            let near_expiry = now + MARGIN_MS >= e.written + self.idle_ms;
            if newer && (e.last - e.written >= self.step_ms || near_expiry) {
                e.written = e.last;
                due.push((*s, e.last));
            }
        }
        due
    }

    /// Every use not written yet (at shutdown).
    fn take_unwritten(&self) -> Vec<(SessionId, i64)> {
        let mut seen = self.lock();
        seen.iter_mut()
            .filter(|(_, e)| e.last > e.written)
            .map(|(s, e)| {
                e.written = e.last;
                (*s, e.last)
            })
            .collect()
    }
}

/// Whether a session's time is up at `now`.
pub(super) fn expired(core: &Core, row: &SessionRow, now: i64) -> bool {
    let s = &core.settings;
    now - core.activity.last_used(row) >= s.session_idle_ms
        || now - row.created_at >= s.session_max_age_ms
}

/// Runs until `stop`: writes due activity, ends expired sessions.
pub async fn session_sweep_loop(core: Arc<Core>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(SWEEP);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Err(e) = sweep(&core).await {
            tracing::warn!(error = %e, "session sweep failed; retrying");
        }
    }
    // What this node saw last is not lost at shutdown.
    let unwritten = core.activity.take_unwritten();
    if let Err(e) = write(&core, &unwritten).await {
        tracing::warn!(error = %e, "last session activity not written at shutdown");
    }
}

async fn write(core: &Core, due: &[(SessionId, i64)]) -> crate::error::Result<()> {
    if !due.is_empty() {
        let mut w = core.store.writer().await?;
        w.touch_sessions(due).await?;
    }
    Ok(())
}

async fn sweep(core: &Core) -> crate::error::Result<()> {
    let now = Timestamp::now().millis();
    write(core, &core.activity.take_due(now)).await?;
    let s = &core.settings;
    let candidates = core
        .store
        .expired_sessions(now - s.session_idle_ms, now - s.session_max_age_ms)
        .await?;
    for session in candidates {
        // This node may have seen a use the database does not hold yet.
        let row = core.store.get_session(session).await?;
        if expired(core, &row, now) {
            core.end_session(session, EndReason::Expired).await?;
        }
    }
    Ok(())
}

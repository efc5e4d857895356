//! `renraku keys rotate`: rewraps every data key (each child's, and the
//! server's own) to a new master identity, then retires the old identity.
//! Entries are never re-encrypted: only the small age-wrapped keys change.
//!
//! # Steps
//! 1. `keys/master.age.next`: a new identity, written whole (temporary
//!    file, fsync, rename, fsync of `keys/`) — or the one a previous run
//!    made, reused.
//! 2. A pass over every row holding a wrapped key: read it; if it opens
//!    under the new identity, skip it; else open it under the old one and
//!    write the rewrap in its own statement, only over the value read
//!    (compare-and-set). Then passes again until one finds nothing to do
//!    (a row written meanwhile is not left behind).
//! 3. With `--keep-retired`, `master.age` is copied (whole, 0600) to
//!    `master.age.retired-DATE`.
//! 4. `master.age.next` is renamed over `master.age`, and `keys/` fsynced:
//!    the old identity is gone (or only in the retired copy).
//!
//! # Crash points, and how a new run resumes
//! While `master.age.next` exists the server refuses to start and says to
//! run the rotation again; that file is never deleted by hand, since keys
//! may already be wrapped to it.
//! - Before or while writing `master.age.next`: at most a `.tmp` file
//!   exists, which is no identity; the next run starts afresh (and
//!   overwrites the `.tmp`).
//! - After `master.age.next`, between or inside row updates: every row holds
//!   either its old wrapping or the new one (one statement each); the next
//!   run reuses `master.age.next`, skips rows that open under it, and
//!   rewraps the rest from `master.age`.
//! - While or after writing the retired copy: a partial copy is only a
//!   `.tmp`; a whole one with the same bytes is kept as it is.
//! - Between the copy and the rename: the next run finds every row done,
//!   keeps the copy, renames.
//! - After the rename (before the fsync of `keys/`): either the rename
//!   survived (the rotation is done; there is no `master.age.next`, so a
//!   new run would start a new rotation) or it did not (the previous
//!   state: the next run renames).
//! - The old identity already replaced while `master.age.next` exists
//!   (`master.age` missing, or holding the new identity): keys still under
//!   the old identity are opened with a retired copy if there is one;
//!   a key that opens under no identity stops the run before the rename,
//!   with the row named, and nothing else is lost.

mod files;

use anyhow::{bail, Context};
use std::path::PathBuf;
use std::time::Instant;

use crate::crypto::{CryptoError, KeyRing};
use crate::datadir::DataDir;
use crate::store::{KeyHolder, Store};

/// What the rotation is asked to do.
#[derive(Clone, Debug, Default)]
pub struct RotateOptions {
    /// Keep the old identity as `keys/master.age.retired-DATE`.
    pub keep_retired: bool,
    /// Tests only: stop (sleep) after this many rewrapped rows, so that a
    /// test can kill the process at a known point.
    pub pause_after: Option<usize>,
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    /// Rows holding a wrapped key (children, and the server's keys).
    pub total: usize,
    /// Rows this run rewrapped (the others were done by an earlier run).
    pub rewrapped: usize,
    /// Children among `total`.
    pub children: usize,
    pub resumed: bool,
    pub retired: Option<PathBuf>,
    pub elapsed: std::time::Duration,
}

/// What to do with one wrapped key.
#[derive(Debug)]
pub enum Decision {
    /// It opens under the new identity already.
    Done,
    /// Its rewrap to the new identity.
    Rewrap(Vec<u8>),
    /// It opens under none of the identities given.
    Unreadable,
}

/// Pure: the decision for `wrapped`, given the new identity and the old
/// ones it might still be wrapped to.
pub fn decide(wrapped: &[u8], new: &KeyRing, olds: &[KeyRing]) -> Result<Decision, CryptoError> {
    if new.unwrap_key(wrapped).is_ok() {
        return Ok(Decision::Done);
    }
    for old in olds {
        if let Ok(key) = old.unwrap_key(wrapped) {
            return Ok(Decision::Rewrap(new.wrap(&key)?));
        }
    }
    Ok(Decision::Unreadable)
}

/// The identities a key may be wrapped to: the current one at once, the
/// retired ones only if some key opens under neither.
struct Olds {
    rings: Vec<KeyRing>,
    retired_loaded: bool,
}

impl Olds {
    fn decide(&mut self, dir: &DataDir, wrapped: &[u8], new: &KeyRing) -> anyhow::Result<Decision> {
        let d = decide(wrapped, new, &self.rings)?;
        if !matches!(d, Decision::Unreadable) || self.retired_loaded {
            return Ok(d);
        }
        self.retired_loaded = true;
        self.rings.extend(files::retired_identities(dir, new)?);
        Ok(decide(wrapped, new, &self.rings)?)
    }
}

/// Runs (or resumes) a rotation. The caller has made sure no server uses
/// the database (the serve lock on SQLite).
pub async fn rotate(dir: &DataDir, store: &Store, opts: &RotateOptions) -> anyhow::Result<Rotated> {
    let started = Instant::now();
    let resumed = dir.master_next_path().exists();
    if !resumed {
        preflight(dir, store).await?;
    }
    let (new, resumed) = files::next_identity(dir)?;
    let current = files::current_identity(dir, &new)?;
    let has_current = current.is_some();
    let mut olds = Olds {
        rings: current.into_iter().collect(),
        retired_loaded: false,
    };
    let mut pass = Pass::default();
    for round in 0.. {
        if round == 5 {
            bail!("rows kept changing while their keys were rewrapped: is a server running on this database?");
        }
        let holders = store.list_key_holders().await?;
        let rewrapped =
            rewrap_pass(dir, store, &new, &mut olds, &holders, opts, round == 0).await?;
        if round == 0 {
            pass = Pass {
                total: holders.len(),
                children: children(&holders),
                rewrapped,
            };
        } else {
            pass.rewrapped += rewrapped;
        }
        if rewrapped == 0 {
            break;
        }
    }
    // Only an old identity still in master.age is retired: one that is
    // already the new identity, or missing, has nothing to keep.
    let retired = match opts.keep_retired && has_current {
        true => Some(files::retire(dir, &today()?)?),
        false => None,
    };
    files::commit(dir)?;
    Ok(Rotated {
        total: pass.total,
        rewrapped: pass.rewrapped,
        children: pass.children,
        resumed,
        retired,
        elapsed: started.elapsed(),
    })
}

#[derive(Default)]
struct Pass {
    total: usize,
    children: usize,
    rewrapped: usize,
}

fn children(holders: &[KeyHolder]) -> usize {
    holders
        .iter()
        .filter(|h| matches!(h, KeyHolder::Child(_)))
        .count()
}

/// A fresh rotation starts only if every key opens under the current
/// identity: a key that does not would stay unreadable, and the run could
/// never finish. Nothing is written before this check.
async fn preflight(dir: &DataDir, store: &Store) -> anyhow::Result<()> {
    let path = dir.master_path();
    let bytes = crate::datadir::read_private(&path)?;
    let text = std::str::from_utf8(&bytes).context("master identity is not text")?;
    let current = KeyRing::from_identity(text).context("master identity")?;
    let mut bad = Vec::new();
    for h in store.list_key_holders().await? {
        if let Some(wrapped) = store.get_wrapped_key(&h).await? {
            if current.unwrap_key(&wrapped).is_err() {
                bad.push(h.to_string());
            }
        }
    }
    if !bad.is_empty() {
        bail!(
            "refusing to rotate: {} key(s) do not open under the current master identity ({}); \
             nothing was changed",
            bad.len(),
            bad.join(", ")
        );
    }
    Ok(())
}

/// One pass over `holders`; returns how many it rewrapped. Progress goes
/// to stderr (ids and counts only, never a key).
async fn rewrap_pass(
    dir: &DataDir,
    store: &Store,
    new: &KeyRing,
    olds: &mut Olds,
    holders: &[KeyHolder],
    opts: &RotateOptions,
    first: bool,
) -> anyhow::Result<usize> {
    let total = holders.len();
    let mut rewrapped = 0;
    let mut last_report = Instant::now();
    for (n, holder) in holders.iter().enumerate() {
        if rewrap_one(dir, store, new, olds, holder).await? {
            rewrapped += 1;
            if first && opts.pause_after == Some(rewrapped) {
                eprintln!(
                    "keys rotate: {}/{total} data keys done; pausing (test hook)",
                    n + 1
                );
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            }
        }
        if first && (last_report.elapsed().as_secs() >= 1 || n + 1 == total) {
            eprintln!("keys rotate: {}/{total} data keys done", n + 1);
            last_report = Instant::now();
        }
    }
    Ok(rewrapped)
}

/// Rewraps one row's key; true if this call changed it.
async fn rewrap_one(
    dir: &DataDir,
    store: &Store,
    new: &KeyRing,
    olds: &mut Olds,
    holder: &KeyHolder,
) -> anyhow::Result<bool> {
    for _ in 0..3 {
        let Some(wrapped) = store.get_wrapped_key(holder).await? else {
            return Ok(false); // the row is gone: nothing to keep readable
        };
        match olds.decide(dir, &wrapped, new)? {
            Decision::Done => return Ok(false),
            Decision::Rewrap(next) => {
                if store.swap_wrapped_key(holder, &wrapped, &next).await? {
                    return Ok(true);
                }
                // Changed since it was read: read it again.
            }
            Decision::Unreadable => bail!(
                "{holder}: its key opens under neither the new master identity nor an old one; \
                 the rotation stops before retiring anything ({} kept)",
                dir.master_next_path().display()
            ),
        }
    }
    bail!("{holder}: its key kept changing while being rewrapped: is a server running?")
}

/// Today's date (UTC), as the retired file's suffix.
fn today() -> anyhow::Result<String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::now_utc()
        .date()
        .format(&format)
        .context("formatting the date")
}

#[cfg(test)]
mod tests;

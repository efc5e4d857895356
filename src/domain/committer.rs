//! Group commit. Posts (sealed by their callers, in parallel) and
//! access-log records queue here; one task takes everything that waits,
//! commits it in one durable transaction on the write connection, publishes
//! the new entries in seq order while it still holds that connection, and
//! then answers each caller. Under load many posts share one fsync; alone,
//! a post waits for nothing but its own commit.
//!
//! Callers never wait on each other's failures: a batch that fails is
//! retried one op at a time, so each op gets its own answer.

use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use super::frames::live_entry;
use super::views::{entry_of, Entry, Sealed};
use crate::crypto::DataKey;
use crate::error::{Error, Result};
use crate::hub::{Hub, LiveEntry};
use crate::store::{EntryRow, HeadCache, Store, WriteOp, Written};

/// Most ops per transaction: bounds the statement sizes and the wait of the
/// first op of a batch behind the others.
const MAX_BATCH: usize = 128;
/// Ops queued for the committer; beyond this, callers wait (backpressure).
const QUEUE: usize = 4096;

/// What the committer answers.
pub(super) enum Committed {
    /// A new entry, already published.
    Entry(Arc<LiveEntry>, Box<Entry>),
    /// An earlier post with the same `client_id`: the stored row.
    Replay(Box<EntryRow>),
    Logged,
    /// A new alert, committed (its caller fans it out).
    Alert,
}

struct Job {
    op: WriteOp,
    /// The plaintext of an entry op, for the answer and the live frame.
    sealed: Option<Sealed>,
    done: oneshot::Sender<Result<Committed>>,
}

#[derive(Clone)]
pub(super) struct Committer {
    tx: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the committer task; it ends when the last `Committer` is dropped.
    pub(super) fn start(store: Store, hub: Arc<Hub>, names: Arc<DataKey>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(rx, store, hub, names));
        Self { tx }
    }

    /// Queues ops without waiting for their commit (records nobody awaits:
    /// the live-read coalescer). `Err` gives back the ops that found the
    /// queue full, for a later try.
    pub(super) fn offer(&self, ops: Vec<WriteOp>) -> std::result::Result<(), Vec<WriteOp>> {
        let mut left = Vec::new();
        for op in ops {
            if !left.is_empty() {
                left.push(op);
                continue;
            }
            let (done, _) = oneshot::channel();
            let job = Job {
                op,
                sealed: None,
                done,
            };
            if let Err(e) = self.tx.try_send(job) {
                let job = match e {
                    mpsc::error::TrySendError::Full(j) | mpsc::error::TrySendError::Closed(j) => j,
                };
                left.push(job.op);
            }
        }
        if left.is_empty() {
            Ok(())
        } else {
            Err(left)
        }
    }

    /// Queues several ops at once and waits for all of their commits.
    pub(super) async fn commit_all(&self, ops: Vec<WriteOp>) -> Result<()> {
        let mut answers = Vec::with_capacity(ops.len());
        for op in ops {
            let (done, answer) = oneshot::channel();
            self.tx
                .send(Job {
                    op,
                    sealed: None,
                    done,
                })
                .await
                .map_err(|_| Error::internal("committer stopped"))?;
            answers.push(answer);
        }
        for answer in answers {
            answer
                .await
                .map_err(|_| Error::internal("committer dropped an op"))??;
        }
        Ok(())
    }

    /// Queues an op and waits for its commit. Once queued, the op is
    /// committed (or fails) even if the caller goes away.
    pub(super) async fn commit(&self, op: WriteOp, sealed: Option<Sealed>) -> Result<Committed> {
        let (done, answer) = oneshot::channel();
        self.tx
            .send(Job { op, sealed, done })
            .await
            .map_err(|_| Error::internal("committer stopped"))?;
        answer
            .await
            .map_err(|_| Error::internal("committer dropped an op"))?
    }
}

async fn run(mut rx: mpsc::Receiver<Job>, store: Store, hub: Arc<Hub>, names: Arc<DataKey>) {
    let mut heads = HeadCache::default();
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        drain(&mut rx, &mut jobs);
        let mut w = match store.writer().await {
            Ok(w) => w,
            Err(e) => {
                // Every waiting op gets the same answer (the error is not Clone).
                let unavailable = e.is_unavailable();
                let detail = e.to_string();
                tracing::warn!(error = %detail, ops = jobs.len(), "no write connection");
                for job in jobs {
                    let err = if unavailable {
                        Error::Unavailable
                    } else {
                        Error::internal(&detail)
                    };
                    let _ = job.done.send(Err(err));
                }
                continue;
            }
        };
        // What queued while we waited for the write connection joins too.
        drain(&mut rx, &mut jobs);
        let (ops, meta): (Vec<WriteOp>, Vec<_>) =
            jobs.into_iter().map(|j| (j.op, (j.sealed, j.done))).unzip();
        let started = std::time::Instant::now();
        let results = match w.commit_batch(&ops, &mut heads).await {
            Ok(r) => r.into_iter().map(Ok).collect(),
            Err(e) if ops.len() == 1 => vec![Err(Error::from(e))],
            Err(e) => {
                tracing::warn!(error = %e, ops = ops.len(), "batch failed; committing its ops one by one");
                let mut one_by_one = Vec::with_capacity(ops.len());
                for op in &ops {
                    one_by_one.push(
                        match w.commit_batch(std::slice::from_ref(op), &mut heads).await {
                            Ok(mut r) => {
                                r.pop().ok_or_else(|| Error::internal("empty batch result"))
                            }
                            Err(e) => Err(Error::from(e)),
                        },
                    );
                }
                one_by_one
            }
        };
        let took = started.elapsed();
        tracing::debug!(
            ops = ops.len(),
            us = took.as_micros() as u64,
            "batch committed"
        );
        // Per batch, not per post: a few atomic adds for up to 128 ops.
        let entries = results
            .iter()
            .filter(|r| matches!(r, Ok(Written::Entry(_))))
            .count();
        metrics::counter!("renraku_posts_committed_total").increment(entries as u64);
        metrics::histogram!("renraku_commit_batch_size").record(ops.len() as f64);
        metrics::histogram!("renraku_commit_duration_seconds").record(took);
        // Published while the write connection is held: fan-out in commit order.
        let answers: Vec<_> = results
            .into_iter()
            .zip(meta)
            .map(|(r, (sealed, done))| (answer(r, sealed, &hub, &names), done))
            .collect();
        drop(w);
        for (a, done) in answers {
            let _ = done.send(a);
        }
    }
}

fn drain(rx: &mut mpsc::Receiver<Job>, jobs: &mut Vec<Job>) {
    while jobs.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(j) => jobs.push(j),
            Err(_) => break,
        }
    }
}

fn answer(
    r: Result<Written>,
    sealed: Option<Sealed>,
    hub: &Hub,
    names: &DataKey,
) -> Result<Committed> {
    match r? {
        Written::Entry(row) => {
            let sealed = sealed.ok_or_else(|| Error::internal("entry op without its body"))?;
            let (category, first_at, consent) =
                (row.category, row.first_created_at, row.consent_version);
            let entry = entry_of(row, sealed, names);
            let live = live_entry(&entry, category, first_at, consent)?;
            hub.publish_entry(live.clone());
            Ok(Committed::Entry(live, Box::new(entry)))
        }
        Written::Replay(row) => Ok(Committed::Replay(Box::new(row))),
        Written::Logged => Ok(Committed::Logged),
        Written::Alert => Ok(Committed::Alert),
    }
}

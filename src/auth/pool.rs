//! The threads that run every argon2 computation, behind a bounded queue
//! with two lanes. Each hash needs 19 MiB, and spreading them over the
//! blocking pool's many threads left that much behind in each thread's
//! allocator arena (12 concurrent logins took the server from 19 to 255
//! MiB), so two threads do them all. Past a lane's bound the caller is told
//! to come back (503 `busy`) instead of queueing without bound. Logins from
//! a browser with a device token for the account wait in their own lane,
//! served first, so a flood of strangers' guesses cannot keep the rightful
//! user out.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, Once, OnceLock};

use crate::error::{Error, Result};

type Job = Box<dyn FnOnce() + Send>;

const THREADS: usize = 2;
/// Waiting hashes per lane, at most. At about 25 ms a hash on two threads,
/// a full lane is about a second of work.
const LANE: usize = 64;
/// What `busy` asks the client to wait, in seconds.
const BUSY_RETRY_SECS: u64 = 2;

/// Which queue a hash waits in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lane {
    /// A browser that proved it logged in to the account before.
    Known,
    Other,
}

#[derive(Default)]
struct Lanes {
    known: VecDeque<Job>,
    other: VecDeque<Job>,
}

struct Pool {
    lanes: Mutex<Lanes>,
    ready: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    static STARTED: Once = Once::new();
    let pool = POOL.get_or_init(|| Pool {
        lanes: Mutex::new(Lanes::default()),
        ready: Condvar::new(),
    });
    STARTED.call_once(|| {
        for i in 0..THREADS {
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(pool));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
    });
    pool
}

fn work(pool: &Pool) {
    loop {
        let job = {
            let mut lanes = pool.lanes.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(job) = lanes.known.pop_front().or_else(|| lanes.other.pop_front()) {
                    break job;
                }
                lanes = pool.ready.wait(lanes).unwrap_or_else(|p| p.into_inner());
            }
        };
        job();
    }
}

/// Runs `f` on the hashing threads, waiting in `lane`; `busy` when it is full.
pub async fn run<T: Send + 'static>(
    lane: Lane,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    {
        let p = pool();
        let mut lanes = p.lanes.lock().unwrap_or_else(|p| p.into_inner());
        let queue = match lane {
            Lane::Known => &mut lanes.known,
            Lane::Other => &mut lanes.other,
        };
        if queue.len() >= LANE {
            return Err(Error::Busy {
                retry_after: BUSY_RETRY_SECS,
            });
        }
        queue.push_back(job);
        p.ready.notify_one();
    }
    rx.await.map_err(Error::internal)
}

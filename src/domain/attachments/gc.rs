//! The collector: an upload no entry references is deleted once it is
//! older than `--attachment-ttl-secs` (a day). Every node runs it; the
//! delete checks again that nothing references the attachment, so a
//! reference committed meanwhile keeps it, and two nodes deleting the same
//! one is harmless.

use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::domain::Core;
use crate::error::Result;
use crate::ids::Timestamp;

/// Deleted per pass at most (the next pass takes the rest).
const BATCH: i64 = 100;

pub async fn attachment_gc_loop(core: Arc<Core>, stop: CancellationToken) {
    let ttl = core.settings.attachment_ttl_ms;
    // Often enough that an upload outlives its day by at most a tenth.
    let every = Duration::from_millis(u64::try_from(ttl / 10).unwrap_or(1000).clamp(250, 600_000));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        match collect(&core, ttl).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "unreferenced attachments deleted"),
            Err(e) => tracing::warn!(error = %e, "attachment collection failed; retrying"),
        }
    }
}

impl Core {
    /// At the start of `serve` and `demo`, under the data dir's lock (never
    /// from a command that runs beside a server): attachment files that a
    /// crash left without a row (SQLite).
    pub async fn tidy_attachments(&self) -> Result<()> {
        let n = self.store.tidy_attachment_files().await?;
        if n > 0 {
            tracing::info!(files = n, "attachment files left by a crash removed");
        }
        Ok(())
    }
}

/// One pass: how many were deleted.
async fn collect(core: &Core, ttl: i64) -> Result<usize> {
    let before = Timestamp::now().millis().saturating_sub(ttl);
    let stale = core
        .store
        .list_unreferenced_attachments(before, BATCH)
        .await?;
    let mut deleted = 0;
    for (id, child) in stale {
        if core.store.delete_unreferenced_attachment(id, child).await? {
            deleted += 1;
        }
    }
    Ok(deleted)
}

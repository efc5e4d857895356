//! Escalation after the first step: a due step is claimed in the database
//! before anyone is notified, and the scheduler that runs due steps.

use std::sync::Arc;
use std::time::Duration;

use super::notify::notified_rows;
use crate::domain::Core;
use crate::error::Result;
use crate::ids::{AlertId, Timestamp};
use crate::vocab::AlertStatus;

impl Core {
    /// Runs one escalation step if it is still due and unclaimed.
    pub async fn run_step(self: &Arc<Self>, id: AlertId, step: i64) -> Result<()> {
        let Some(alert) = self.store.get_alert(id).await? else {
            return Ok(());
        };
        if alert.status != AlertStatus::Open || alert.step != step {
            return Ok(());
        }
        let (members, notified) = self.plan_step(alert.child_id, step).await?;
        let now = Timestamp::now().millis();
        let next = now + self.escalation_delay_ms;
        let rows = notified_rows(&notified);
        if !self
            .store
            .writer()
            .await?
            .record_step(id, step, now, next, &rows)
            .await?
        {
            return Ok(()); // another node or run claimed it
        }
        tracing::info!(alert = %id, step, notified = rows.len(), "alert escalation step");
        metrics::counter!("renraku_escalation_steps_total").increment(1);
        let view = self.alert_view(id).await?;
        self.notify_step(&view, &members, notified);
        Ok(())
    }

    /// Runs every due step; returns when the next one is due (ms), if any.
    pub async fn run_due_steps(self: &Arc<Self>) -> Result<Option<i64>> {
        let now = Timestamp::now().millis();
        for (id, step) in self.store.due_alerts(now).await? {
            if let Err(e) = self.run_step(id, step).await {
                tracing::error!(alert = %id, error = %e, "escalation step failed");
            }
        }
        Ok(self.store.next_due().await?)
    }
}

/// The escalation scheduler: runs due steps, sleeps until the next one (at
/// most a second, so that steps claimed elsewhere are noticed), wakes early
/// when an alert is raised, stops on shutdown.
pub async fn escalation_loop(core: Arc<Core>, stop: tokio_util::sync::CancellationToken) {
    loop {
        let next = match core.run_due_steps().await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "escalation scheduler");
                None
            }
        };
        // Plan review reminders run on the same scheduler, claimed the same way.
        let next = match core.run_due_reminders().await {
            Ok(r) => [next, r].into_iter().flatten().min(),
            Err(e) => {
                tracing::error!(error = %e, "reminder scheduler");
                next
            }
        };
        let wait = next
            .map(|t| t - Timestamp::now().millis())
            .unwrap_or(1000)
            .clamp(0, 1000);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = core.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0))) => {}
        }
    }
}

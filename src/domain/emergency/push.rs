//! Web Push of an alert to one subscription, in the background: retried
//! with backoff on 5xx and network errors, the result recorded on the
//! contact's delivery. [`PushTasks`] owns those background sends.

use serde_json::json;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::domain::measures::count_push;
use crate::domain::Core;
use crate::ids::{AccountId, AlertId};
use crate::push::Outcome;

const PUSH_ATTEMPTS: u32 = 5;

/// The owner of the background push sends: shutdown ends their backoff
/// sleeps and waits for the rest, so that none outlives the store.
#[derive(Default)]
pub struct PushTasks {
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl PushTasks {
    pub(in crate::domain) fn spawn(&self, send: impl Future<Output = ()> + Send + 'static) {
        self.tracker.spawn(send);
    }

    /// At shutdown, once nothing raises alerts or runs steps any more: a
    /// retry waiting out its backoff stops at once; a send in flight is
    /// waited for (at most `bound`) so its result is recorded before the
    /// store closes. A send still running after `bound` is abandoned.
    pub async fn drain(&self, bound: Duration) {
        self.stop.cancel();
        self.tracker.close();
        if tokio::time::timeout(bound, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = self.tracker.len(),
                "push sends abandoned at shutdown"
            );
        }
    }
}

impl Core {
    /// One Web Push send; a subscription the push service says is gone is
    /// deleted.
    pub(in crate::domain) async fn send_push(
        &self,
        sub: &crate::store::PushSubRow,
        payload: &[u8],
    ) -> Outcome {
        let outcome = self.pusher.send(sub, payload).await;
        if matches!(outcome, Outcome::Gone) {
            if let Ok(mut w) = self.store.writer().await {
                let _ = w.delete_push_sub(sub.id, None).await;
            }
        }
        outcome
    }

    pub(super) async fn push_with_retry(&self, alert: AlertId, sub: crate::store::PushSubRow) {
        let payload = json!({
            "type": "alert",
            "alert_id": alert,
            "title": "緊急連絡 / Emergency",
            "body": "緊急のお知らせがあります。アプリを開いて確認してください。",
        })
        .to_string();
        let mut wait = Duration::from_millis(500);
        for attempt in 1..=PUSH_ATTEMPTS {
            let status = match self.send_push(&sub, payload.as_bytes()).await {
                Outcome::Sent => Some("sent"),
                Outcome::Gone => Some("subscription_removed"),
                Outcome::Failed(why) => {
                    tracing::warn!(%alert, reason = %why, "push failed");
                    Some("failed")
                }
                Outcome::Retry(why) if attempt == PUSH_ATTEMPTS => {
                    tracing::warn!(%alert, reason = %why, "push failed after retries");
                    Some("failed")
                }
                Outcome::Retry(why) => {
                    tracing::info!(%alert, attempt, reason = %why, "push will be retried");
                    count_push("retrying");
                    self.record_push(alert, sub.account_id, "retrying").await;
                    None
                }
            };
            if let Some(status) = status {
                count_push(status);
                self.record_push(alert, sub.account_id, status).await;
                return;
            }
            // Stopped at shutdown: the delivery keeps the `retrying` just
            // recorded, and nothing resumes the retry after a restart (a
            // later escalation step, if the alert is still open, pushes
            // afresh). That is what an exit during a backoff always did.
            tokio::select! {
                _ = self.push_tasks.stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    }

    async fn record_push(&self, alert: AlertId, account: AccountId, status: &str) {
        let result = match self.store.writer().await {
            Ok(mut w) => w.set_push_status(alert, account, status).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::error!(%alert, error = %e, "recording a push result failed");
        }
    }
}

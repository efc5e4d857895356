//! What a node does with other nodes' commits (PostgreSQL) and with gaps in
//! its own fan-out: entries are loaded from the database and published in
//! seq order; consent changes, logouts and alerts reach this node's sockets.
//! With SQLite there is one node and only gap repair runs.

use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::frames::live_entry;
use super::members::{state_of, write_of};
use super::Core;
use crate::consent::ALL_CATEGORIES;
use crate::error::Result;
use crate::ids::{ChildId, Seq};
use crate::store::{ClusterMsg, Visibility};

const PAGE: i64 = 200;

async fn next<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Runs until `stop`: gap repair always, and on PostgreSQL the messages of
/// `msgs` (from [`crate::store::Store::listen`]).
pub async fn cluster_loop(
    core: Arc<Core>,
    mut msgs: Option<mpsc::Receiver<ClusterMsg>>,
    stop: CancellationToken,
) {
    loop {
        let result = tokio::select! {
            _ = stop.cancelled() => return,
            () = core.hub.gap_reported() => core.catch_up_gaps().await,
            Some(msg) = next(&mut msgs) => core.on_cluster(msg).await,
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "cluster event");
        }
    }
}

impl Core {
    /// The messages of other nodes' commits, for [`cluster_loop`]: listened
    /// for from now on (PostgreSQL; None on SQLite).
    pub async fn listen_to_other_nodes(
        &self,
        stop: CancellationToken,
    ) -> crate::store::StoreResult<Option<mpsc::Receiver<ClusterMsg>>> {
        self.store.listen(stop).await
    }

    async fn on_cluster(&self, msg: ClusterMsg) -> Result<()> {
        match msg {
            ClusterMsg::Entry { child, seq } => {
                if !self.hub.has_subscribers(child) {
                    return Ok(());
                }
                match self.hub.last_published(child) {
                    Some(last) if seq <= last => Ok(()),
                    Some(last) => self.publish_from(child, last).await,
                    None => self.publish_from(child, seq - 1).await,
                }
            }
            ClusterMsg::Member { child, account } => {
                self.members.forget(child, account);
                if let Some(m) = self.store.get_membership(child, account).await? {
                    self.hub
                        .publish_membership(state_of(&write_of(&m), m.version));
                    if m.status == crate::vocab::Status::Requested {
                        self.announce_request(m).await?;
                    }
                }
                Ok(())
            }
            ClusterMsg::Receipt {
                child,
                account,
                seq,
            } => {
                self.hub.publish_receipt(child, account, seq);
                Ok(())
            }
            ClusterMsg::Session { session, reason } => {
                self.session_ended_elsewhere(session, reason);
                Ok(())
            }
            ClusterMsg::Alert { alert, ack } => {
                let view = self.alert_view(alert).await?;
                let members = self.store.list_members(view.child_id).await?;
                self.fan_alert(&view, &members, ack);
                Ok(())
            }
            ClusterMsg::Handover { handover } => self.on_cluster_handover(handover).await,
            ClusterMsg::Question { child, origin } => {
                self.announce_state(child, origin).await;
                Ok(())
            }
            ClusterMsg::Erased { child } => {
                self.forget_erased(child);
                Ok(())
            }
            ClusterMsg::Resync => self.resync().await,
        }
    }

    /// After notifications may have been lost: entries, consent and sessions
    /// of everything this node serves are read again from the database.
    async fn resync(&self) -> Result<()> {
        self.members.clear();
        for child in self.hub.subscribed_children() {
            self.catch_up(child).await?;
            for m in self.store.list_members(child).await? {
                if self.hub.is_online(m.account_id) {
                    self.hub
                        .publish_membership(state_of(&write_of(&m), m.version));
                }
            }
        }
        for session in self.hub.sessions() {
            if !self.session_live(session).await.unwrap_or(true) {
                self.session_ended_elsewhere(session, crate::vocab::EndReason::Ended);
            }
        }
        Ok(())
    }

    /// Repairs every reported gap; one child's failure does not drop the others.
    async fn catch_up_gaps(&self) -> Result<()> {
        let mut first_error = Ok(());
        for child in self.hub.take_gaps() {
            if let Err(e) = self.catch_up(child).await {
                if first_error.is_ok() {
                    first_error = Err(e);
                } else {
                    tracing::error!(error = %e, "gap repair");
                }
            }
        }
        first_error
    }

    /// Publishes what was committed after the last entry published here.
    async fn catch_up(&self, child: ChildId) -> Result<()> {
        match self.hub.last_published(child) {
            Some(last) => self.publish_from(child, last).await,
            None => Ok(()),
        }
    }

    async fn publish_from(&self, child: ChildId, mut after: Seq) -> Result<()> {
        let all = Visibility {
            categories: ALL_CATEGORIES,
            history_from: i64::MIN,
        };
        let key = self.child_key(child).await?;
        loop {
            let rows = self.store.list_entries(child, after, PAGE, all).await?;
            let full = rows.len() as i64 == PAGE;
            for row in rows {
                let (category, first_at, consent) =
                    (row.category, row.first_created_at, row.consent_version);
                let answers = row.thread.answers;
                let entry = self.open_entry(&key, row)?;
                after = entry.seq;
                if !self
                    .hub
                    .publish_entry(live_entry(&entry, category, first_at, consent)?)
                {
                    return Ok(()); // a gap before it: reported, repaired next
                }
                // A reply committed elsewhere that answers a question.
                if let Some(question) = answers {
                    self.announce_state(child, question).await;
                }
            }
            if !full {
                return Ok(());
            }
        }
    }
}

//! Several nodes over one PostgreSQL: each commit that others must see
//! carries a `NOTIFY renraku` in its own transaction (so notifications arrive
//! in commit order and never for a rolled-back write), with ids only — never
//! content. Each node listens and turns notifications into [`ClusterMsg`]s;
//! a lost listener connection yields `Resync`, so the node catches up from
//! the database instead of trusting that nothing was missed.

use serde_json::{json, Value};
use sqlx::postgres::PgListener;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Backend, Store, StoreResult};
use crate::ids::{AccountId, AlertId, ChildId, EntryId, HandoverId, Seq, SessionId};
use crate::vocab::EndReason;

const CHANNEL: &str = "renraku";

/// What another node committed.
#[derive(Debug, Clone)]
pub enum ClusterMsg {
    Entry {
        child: ChildId,
        seq: Seq,
    },
    Member {
        child: ChildId,
        account: AccountId,
    },
    Receipt {
        child: ChildId,
        account: AccountId,
        seq: Seq,
    },
    /// A session ended: its sockets close on every node.
    Session {
        session: SessionId,
        reason: EndReason,
    },
    Alert {
        alert: AlertId,
        ack: bool,
    },
    /// A handover was opened, approved or declined.
    Handover {
        handover: HandoverId,
    },
    /// A question's state may have changed (a done mark).
    Question {
        child: ChildId,
        origin: EntryId,
    },
    /// A child was erased: forget its data key.
    Erased {
        child: ChildId,
    },
    /// Notifications may have been lost: reload what matters from the database.
    Resync,
}

impl ClusterMsg {
    fn to_json(&self) -> Value {
        match self {
            Self::Entry { child, seq } => json!({"k": "entry", "c": child, "s": seq}),
            Self::Member { child, account } => json!({"k": "member", "c": child, "a": account}),
            Self::Receipt {
                child,
                account,
                seq,
            } => {
                json!({"k": "receipt", "c": child, "a": account, "s": seq})
            }
            Self::Session { session, reason } => {
                json!({"k": "session", "s": session, "r": reason.as_str()})
            }
            Self::Alert { alert, ack } => json!({"k": "alert", "a": alert, "ack": ack}),
            Self::Handover { handover } => json!({"k": "handover", "h": handover}),
            Self::Question { child, origin } => json!({"k": "question", "c": child, "q": origin}),
            Self::Erased { child } => json!({"k": "erased", "c": child}),
            Self::Resync => json!({"k": "resync"}),
        }
    }

    fn parse(v: &Value) -> Option<Self> {
        fn id<T: std::str::FromStr>(v: &Value, k: &str) -> Option<T> {
            v.get(k)?.as_str()?.parse().ok()
        }
        let seq = || v.get("s")?.as_i64();
        Some(match v.get("k")?.as_str()? {
            "entry" => Self::Entry {
                child: id(v, "c")?,
                seq: seq()?,
            },
            "member" => Self::Member {
                child: id(v, "c")?,
                account: id(v, "a")?,
            },
            "receipt" => Self::Receipt {
                child: id(v, "c")?,
                account: id(v, "a")?,
                seq: seq()?,
            },
            "session" => Self::Session {
                session: id(v, "s")?,
                reason: v.get("r")?.as_str()?.parse().ok()?,
            },
            "alert" => Self::Alert {
                alert: id(v, "a")?,
                ack: v.get("ack")?.as_bool()?,
            },
            "handover" => Self::Handover {
                handover: id(v, "h")?,
            },
            "question" => Self::Question {
                child: id(v, "c")?,
                origin: id(v, "q")?,
            },
            "erased" => Self::Erased { child: id(v, "c")? },
            _ => return None,
        })
    }
}

/// The payload of a message: ids only, and the node that committed it.
fn payload(node: &str, msg: &ClusterMsg) -> String {
    let mut payload = msg.to_json();
    payload["n"] = json!(node);
    payload.to_string()
}

/// Adds the notification to the current transaction (PostgreSQL only).
pub(super) async fn notify(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    node: &str,
    msg: ClusterMsg,
) -> StoreResult<()> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    sqlx::query("select pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload(node, &msg))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `pg_notify` calls for a batch's messages, their parameters numbered
/// after `from` (the channel first, then one payload each), and the values
/// to bind in that order; empty for no messages. Part of the batch's own
/// statement, so the notifications go out with its commit, or not at all.
pub(super) fn notify_calls(node: &str, msgs: &[ClusterMsg], from: usize) -> (String, Vec<String>) {
    if msgs.is_empty() {
        return (String::new(), Vec::new());
    }
    let calls: Vec<String> = (0..msgs.len())
        .map(|i| format!("pg_notify(${}, ${})", from + 1, from + i + 2))
        .collect();
    let mut binds = vec![CHANNEL.to_owned()];
    binds.extend(msgs.iter().map(|m| payload(node, m)));
    (calls.join(", "), binds)
}

impl Store {
    /// Listens for other nodes' commits (PostgreSQL only; None for SQLite).
    /// The first `LISTEN` is made here, before the node serves: from then
    /// on another node's commits reach it, and `keys rotate` sees it
    /// (`count_cluster_listeners`). Later reconnections retry by themselves.
    pub async fn listen(
        &self,
        stop: CancellationToken,
    ) -> StoreResult<Option<mpsc::Receiver<ClusterMsg>>> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let mut first = PgListener::connect(&self.url).await?;
        first.listen(CHANNEL).await?;
        let (tx, rx) = mpsc::channel(4096);
        let (url, node) = (self.url.clone(), self.node.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = listen_loop(&url, &node, &tx, Some(first)) => {}
            }
        });
        Ok(Some(rx))
    }
}

async fn connect_and_listen(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

async fn listen_loop(
    url: &str,
    node: &str,
    tx: &mpsc::Sender<ClusterMsg>,
    mut first: Option<PgListener>,
) {
    loop {
        let mut listener = match first.take() {
            Some(l) => l,
            None => match connect_and_listen(url).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cluster listener cannot LISTEN; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        // Anything may have happened while we were not listening.
        if tx.send(ClusterMsg::Resync).await.is_err() {
            return;
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => {
                    let Ok(v) = serde_json::from_str::<Value>(n.payload()) else {
                        continue;
                    };
                    if v.get("n").and_then(Value::as_str) == Some(node) {
                        continue; // our own commit, already fanned out
                    }
                    if let Some(msg) = ClusterMsg::parse(&v) {
                        if tx.send(msg).await.is_err() {
                            return;
                        }
                    }
                }
                Ok(None) => {
                    tracing::warn!("cluster listener lost its connection; resyncing");
                    if tx.send(ClusterMsg::Resync).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cluster listener failed; reconnecting");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    break;
                }
            }
        }
    }
}

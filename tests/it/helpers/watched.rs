//! `Watched`: a socket read by a background task that records every frame
//! and how the socket ended (close code, close reason, when), so a test can
//! keep a session busy, post, and ask afterwards whether and when a socket
//! was closed. Also the wall clock and an access token's claims, which the
//! session-lifetime tests compare (`exp`, `sid`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::protocol::Message;

use super::Ws;

/// Seconds since the Unix epoch, with fractions (for comparing with `exp`).
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The claims of a JWT (not verified: the test reads `sid` and `exp`).
pub fn token_claims(token: &str) -> Value {
    let payload = token
        .split('.')
        .nth(1)
        .unwrap_or_else(|| panic!("not a JWT: {token}"));
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The session id an access token carries.
pub fn session_id_of(token: &str) -> String {
    token_claims(token)["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("access token without sid"))
        .to_string()
}

/// When an access token expires (Unix seconds).
pub fn token_exp(token: &str) -> f64 {
    token_claims(token)["exp"]
        .as_f64()
        .unwrap_or_else(|| panic!("access token without exp"))
}

/// How a watched socket ended.
#[derive(Clone, Debug)]
pub struct Ending {
    pub at: Instant,
    /// Unix seconds at the end (to compare with a token's `exp`).
    pub unix: f64,
    /// The close code (None: closed without one, or the connection dropped).
    pub code: Option<u16>,
    pub reason: String,
    /// What ended it when there was no close frame.
    pub detail: String,
}

#[derive(Default)]
struct WatchState {
    frames: Vec<(Instant, Value)>,
    end: Option<Ending>,
}

/// An authenticated socket read continuously in the background.
pub struct Watched {
    pub name: String,
    state: Arc<Mutex<WatchState>>,
    tx: tokio::sync::mpsc::UnboundedSender<Value>,
    task: tokio::task::JoinHandle<()>,
}

fn ending(code: Option<u16>, reason: String, detail: String) -> Ending {
    Ending {
        at: Instant::now(),
        unix: unix_now(),
        code,
        reason,
        detail,
    }
}

impl Watched {
    /// Takes over an authenticated socket (after `ready`).
    pub fn new(name: &str, ws: Ws) -> Watched {
        let state = Arc::new(Mutex::new(WatchState::default()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
        let st = state.clone();
        let mut stream = ws.stream;
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    out = rx.recv() => {
                        let Some(v) = out else { return };
                        if let Err(e) = stream.send(Message::text(v.to_string())).await {
                            st.lock().unwrap().end =
                                Some(ending(None, String::new(), format!("send failed: {e}")));
                            return;
                        }
                    }
                    msg = stream.next() => {
                        let end = match msg {
                            Some(Ok(Message::Text(t))) => {
                                let v = serde_json::from_str::<Value>(t.as_str())
                                    .unwrap_or_else(|_| Value::String(t.to_string()));
                                st.lock().unwrap().frames.push((Instant::now(), v));
                                continue;
                            }
                            Some(Ok(Message::Close(cf))) => match cf {
                                Some(f) => ending(
                                    Some(u16::from(f.code)),
                                    f.reason.to_string(),
                                    "close frame".into(),
                                ),
                                None => ending(None, String::new(), "close frame without code".into()),
                            },
                            Some(Ok(_)) => continue,
                            Some(Err(e)) => ending(None, String::new(), e.to_string()),
                            None => ending(None, String::new(), "stream ended".into()),
                        };
                        st.lock().unwrap().end = Some(end);
                        return;
                    }
                }
            }
        });
        Watched {
            name: name.to_string(),
            state,
            tx,
            task,
        }
    }

    /// Sends a frame (ignored once the socket has ended).
    pub fn send(&self, v: Value) {
        let _ = self.tx.send(v);
    }

    pub fn frames(&self) -> Vec<(Instant, Value)> {
        self.state.lock().unwrap().frames.clone()
    }

    pub fn ended(&self) -> Option<Ending> {
        self.state.lock().unwrap().end.clone()
    }

    /// Panics when the socket has ended.
    #[track_caller]
    pub fn assert_open(&self, when: &str) {
        if let Some(e) = self.ended() {
            panic!("{}: socket ended {when}: {e:?}", self.name);
        }
    }

    /// Waits until the socket ends (at most until `deadline`); panics when
    /// it is still open then.
    pub async fn wait_end(&self, deadline: Instant) -> Ending {
        loop {
            if let Some(e) = self.ended() {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "{}: still open at the deadline",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the close and asserts it is 4401 with `reason` (when given);
    /// returns how it ended.
    pub async fn expect_4401(&self, reason: Option<&str>, deadline: Instant) -> Ending {
        let e = self.wait_end(deadline).await;
        assert_eq!(
            e.code,
            Some(4401),
            "{}: expected close 4401: {e:?}",
            self.name
        );
        if let Some(r) = reason {
            assert_eq!(e.reason, r, "{}: close reason: {e:?}", self.name);
        }
        e
    }

    /// The first frame received after `since` matching `pred`, waiting until
    /// `deadline`; panics with what came when none did.
    pub async fn wait_frame(
        &self,
        what: &str,
        since: Instant,
        deadline: Instant,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        loop {
            let found = self
                .frames()
                .into_iter()
                .find(|(t, v)| *t >= since && pred(v));
            if let Some((_, v)) = found {
                return v;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}: no {what} by the deadline (ended: {:?}); frames: {:?}",
                    self.name,
                    self.ended(),
                    self.frames().iter().map(|f| &f.1).collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits for the live entry with this id.
    pub async fn wait_entry(&self, entry_id: &Value, since: Instant) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        self.wait_frame("entry", since, deadline, |v| {
            v["type"] == "entry" && v["entry"]["id"] == *entry_id
        })
        .await
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.task.abort();
    }
}

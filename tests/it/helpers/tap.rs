//! `Tap`: a socket read by a background task that timestamps every frame,
//! so a test can ask afterwards when (and whether) something arrived.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::Message;

use super::{Frame, Ws};

/// A WebSocket read continuously by a background task that timestamps every
/// frame on arrival, so a test can ask afterwards *when* something came (and
/// that something did not come) on several sockets at once.
pub struct Tap {
    pub name: String,
    frames: Arc<Mutex<Vec<(Instant, Value)>>>,
    tx: tokio::sync::mpsc::UnboundedSender<Value>,
    task: tokio::task::JoinHandle<()>,
}

enum TapEvent {
    Send(Option<Value>),
    Frame(Frame),
}

impl Tap {
    /// Takes over an authenticated socket (after `ready`).
    pub fn new(name: &str, mut ws: Ws) -> Tap {
        let frames = Arc::new(Mutex::new(Vec::new()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
        let store = frames.clone();
        let task = tokio::spawn(async move {
            loop {
                let ev = tokio::select! {
                    c = rx.recv() => TapEvent::Send(c),
                    f = ws.next_frame(Duration::from_secs(3600)) => TapEvent::Frame(f),
                };
                match ev {
                    TapEvent::Send(Some(v)) => {
                        if let Err(e) = ws.try_send(Message::text(v.to_string())).await {
                            let ended = json!({"type": "__ended", "detail": e});
                            store.lock().unwrap().push((Instant::now(), ended));
                            return;
                        }
                    }
                    TapEvent::Send(None) => return,
                    TapEvent::Frame(Frame::Json(v)) => {
                        store.lock().unwrap().push((Instant::now(), v));
                    }
                    TapEvent::Frame(Frame::Timeout) => {}
                    TapEvent::Frame(other) => {
                        let ended = json!({"type": "__ended", "detail": format!("{other:?}")});
                        store.lock().unwrap().push((Instant::now(), ended));
                        return;
                    }
                }
            }
        });
        Tap {
            name: name.to_string(),
            frames,
            tx,
            task,
        }
    }

    /// Every JSON frame so far, with its arrival time.
    pub fn frames(&self) -> Vec<(Instant, Value)> {
        self.frames.lock().unwrap().clone()
    }

    pub fn send(&self, v: Value) {
        self.tx.send(v).expect("tap task ended");
    }

    /// The first frame (in arrival order) matching `pred`, waiting until
    /// `deadline`; panics with everything received when none came.
    pub async fn wait_until(
        &self,
        what: &str,
        deadline: Instant,
        pred: impl Fn(&Value) -> bool,
    ) -> (Instant, Value) {
        loop {
            if let Some(f) = self.frames().into_iter().find(|(_, v)| pred(v)) {
                return f;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}: no {what} by the deadline; frames received: {:?}",
                    self.name,
                    self.frames().iter().map(|f| &f.1).collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

//! The alerts workload's contact side: one socket per contact account that
//! timestamps every `alert` frame on arrival, and later acknowledges the
//! alerts it is handed over WebSocket, one at a time, timing each `acked`.

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::client::{WsRead, WsSink};
use super::report::{histogram, record, summary_of};

/// What every contact socket saw, shared with the workload.
pub struct Arrivals {
    pub start: Instant,
    /// Alert id → (contact index, arrival in µs since `start`) per `alert` frame.
    by_alert: Mutex<HashMap<String, Vec<(usize, u64)>>>,
    /// `alert` frames in all.
    pub arrived: AtomicUsize,
    contact_ack: Mutex<Histogram<u64>>,
    acked: AtomicUsize,
    /// Acknowledgements answered with an error, by code.
    ack_errors: Mutex<BTreeMap<String, usize>>,
    failed: AtomicUsize,
    /// Contact sockets that ended, by close code (or how they ended).
    closes: Mutex<BTreeMap<String, usize>>,
}

impl Arrivals {
    pub fn new() -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            start: Instant::now(),
            by_alert: Mutex::new(HashMap::new()),
            arrived: AtomicUsize::new(0),
            contact_ack: Mutex::new(histogram()?),
            acked: AtomicUsize::new(0),
            ack_errors: Mutex::new(BTreeMap::new()),
            failed: AtomicUsize::new(0),
            closes: Mutex::new(BTreeMap::new()),
        }))
    }

    pub fn snapshot(&self) -> HashMap<String, Vec<(usize, u64)>> {
        self.by_alert.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Acknowledgements answered, successfully or not.
    pub fn settled(&self) -> usize {
        self.acked.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst)
    }

    pub fn ack_report(&self) -> Value {
        let map =
            |m: &Mutex<BTreeMap<String, usize>>| m.lock().map(|m| json!(*m)).unwrap_or(Value::Null);
        json!({
            "contact_ack_ms": summary_of(&self.contact_ack),
            "alerts_acked_by_contacts": self.acked.load(Ordering::SeqCst),
            "contact_ack_errors": map(&self.ack_errors),
            "contact_socket_closes": map(&self.closes),
        })
    }

    fn note_arrival(&self, id: &str, who: usize, us: u64) {
        if let Ok(mut m) = self.by_alert.lock() {
            m.entry(id.to_owned()).or_default().push((who, us));
        }
        self.arrived.fetch_add(1, Ordering::SeqCst);
    }

    fn count(map: &Mutex<BTreeMap<String, usize>>, key: String) {
        if let Ok(mut m) = map.lock() {
            *m.entry(key).or_default() += 1;
        }
    }
}

/// One contact's socket.
pub struct ContactSocket {
    index: usize,
    sink: WsSink,
    read: WsRead,
    arrivals: Arc<Arrivals>,
    /// The alerts to acknowledge, once the deliveries are counted.
    todo: mpsc::Receiver<Vec<String>>,
    pending: VecDeque<String>,
    in_flight: Option<(String, Instant)>,
}

impl ContactSocket {
    pub fn new(
        index: usize,
        sink: WsSink,
        read: WsRead,
        arrivals: Arc<Arrivals>,
        todo: mpsc::Receiver<Vec<String>>,
    ) -> Self {
        Self {
            index,
            sink,
            read,
            arrivals,
            todo,
            pending: VecDeque::new(),
            in_flight: None,
        }
    }

    /// Reads until the socket ends (or the task is aborted).
    pub async fn run(mut self) {
        let mut listening = true;
        loop {
            tokio::select! {
                list = self.todo.recv(), if listening => match list {
                    Some(list) => {
                        self.pending.extend(list);
                        if self.in_flight.is_none() {
                            self.next_ack().await;
                        }
                    }
                    None => listening = false,
                },
                msg = self.read.next() => match msg {
                    Some(Ok(Message::Text(t))) => self.on_text(&t).await,
                    Some(Ok(Message::Close(frame))) => {
                        let code = frame.map(|f| u16::from(f.code).to_string());
                        self.ended(code.unwrap_or_else(|| "close without code".into()));
                        return;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return self.ended(format!("error: {e}")),
                    None => return self.ended("ended without close".into()),
                },
            }
        }
    }

    fn ended(&self, how: String) {
        Arrivals::count(&self.arrivals.closes, how);
    }

    async fn on_text(&mut self, text: &str) {
        let now = self.arrivals.start.elapsed().as_micros() as u64;
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return;
        };
        match v["type"].as_str() {
            Some("alert") => {
                if let Some(id) = v["alert"]["id"].as_str() {
                    self.arrivals.note_arrival(id, self.index, now);
                }
            }
            Some(kind @ ("acked" | "error")) => {
                let Some((_, t0)) = self.in_flight.take_if(|(id, _)| v["ref"] == id.as_str())
                else {
                    return;
                };
                if kind == "acked" && v["alert"]["status"] == "acknowledged" {
                    record(&self.arrivals.contact_ack, t0.elapsed().as_micros() as u64);
                    self.arrivals.acked.fetch_add(1, Ordering::SeqCst);
                } else {
                    let code = v["code"].as_str().unwrap_or("unexpected answer");
                    Arrivals::count(&self.arrivals.ack_errors, code.to_owned());
                    self.arrivals.failed.fetch_add(1, Ordering::SeqCst);
                }
                self.next_ack().await;
            }
            _ => {}
        }
    }

    /// Sends the next acknowledgement, if any (its ref is the alert id).
    async fn next_ack(&mut self) {
        while let Some(id) = self.pending.pop_front() {
            let frame = json!({"type": "ack_alert", "alert_id": id, "ref": id});
            let t0 = Instant::now();
            if self
                .sink
                .send(Message::Text(frame.to_string().into()))
                .await
                .is_ok()
            {
                self.in_flight = Some((id, t0));
                return;
            }
            Arrivals::count(&self.arrivals.ack_errors, "send failed".into());
            self.arrivals.failed.fetch_add(1, Ordering::SeqCst);
        }
    }
}

//! The event bus: every container and image action is published here; `GET /events`
//! replays the recent history (for `since`) and then follows live events.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use api::events::EventMessage;
use tokio::sync::broadcast;

/// How many past events `since` can reach back over.
const HISTORY: usize = 1024;

pub struct Events {
    history: Mutex<VecDeque<EventMessage>>,
    live: broadcast::Sender<EventMessage>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            live: broadcast::channel(HISTORY).0,
        }
    }
}

impl Events {
    pub fn publish(&self, kind: &str, action: &str, id: &str, attributes: BTreeMap<String, String>) {
        let now = chrono::Utc::now();
        let nanos = now.timestamp_nanos_opt().unwrap_or(0);
        let event = EventMessage::new(kind, action, id, attributes, nanos);
        let mut history = self.history.lock().expect("events lock");
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(event.clone());
        // Subscribing under the same lock (below) keeps replay and live from overlapping.
        let _ = self.live.send(event);
    }

    /// Past events (oldest first) and a receiver for every later one, with no gap or
    /// duplicate between the two.
    pub fn subscribe(&self) -> (Vec<EventMessage>, broadcast::Receiver<EventMessage>) {
        let history = self.history.lock().expect("events lock");
        (history.iter().cloned().collect(), self.live.subscribe())
    }

    pub fn listeners(&self) -> usize {
        self.live.receiver_count()
    }
}

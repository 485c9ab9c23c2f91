//! API requests counted against each key's hourly limit: in memory, added to the database about
//! once a second per key.
//!
//! Writing every request's count made each API call a database write. Here a key's first request
//! in a window, and then one request a second, adds what this instance counted since to the
//! shared row (`api_key_usage`) and reads back the total of every instance; the requests in
//! between answer from memory. One instance therefore limits exactly; several share a limit that
//! sees the other instances' requests up to a second late. What is counted but not yet written
//! is written at shutdown (`flush`); a crash loses at most a second of counts.

use app::ports::{Store, StoreResult};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub struct RequestCounter {
    keys: Mutex<HashMap<Uuid, Slot>>,
    sync_every: Duration,
}

struct Slot {
    window: DateTime<Utc>,
    /// The window's count in the database at the last sync: every instance's requests.
    synced: i64,
    /// Requests counted here and not yet written.
    pending: i64,
    /// When this instance last started writing; `None` before the window's first write.
    synced_at: Option<Instant>,
}

impl Slot {
    fn new(window: DateTime<Utc>) -> Self {
        Self { window, synced: 0, pending: 0, synced_at: None }
    }
}

impl Default for RequestCounter {
    fn default() -> Self {
        Self { keys: Mutex::default(), sync_every: Duration::from_secs(1) }
    }
}

impl RequestCounter {
    /// Counts one request of `key` in the window starting at `window`; returns the window's count
    /// including it.
    pub async fn count(
        &self,
        store: &dyn Store,
        key: Uuid,
        window: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let (stale, write) = {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            let slot = keys.entry(key).or_insert_with(|| Slot::new(window));
            let mut stale = None;
            if slot.window != window {
                let old = std::mem::replace(slot, Slot::new(window));
                stale = (old.pending > 0).then_some((old.window, old.pending));
            }
            slot.pending += 1;
            if slot.synced_at.is_some_and(|at| at.elapsed() < self.sync_every) {
                return Ok(slot.synced + slot.pending);
            }
            slot.synced_at = Some(Instant::now());
            (stale, std::mem::take(&mut slot.pending))
        };
        if let Some((old_window, n)) = stale {
            store.add_api_requests(key, old_window, n, now).await?;
        }
        match store.add_api_requests(key, window, write, now).await {
            Ok(total) => {
                let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
                let slot = keys.entry(key).or_insert_with(|| Slot::new(window));
                if slot.window == window {
                    slot.synced = slot.synced.max(total);
                    Ok(slot.synced + slot.pending)
                } else {
                    Ok(total)
                }
            }
            Err(err) => {
                // Keep the count for the next write.
                let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(slot) = keys.get_mut(&key).filter(|s| s.window == window) {
                    slot.pending += write;
                    slot.synced_at = None;
                }
                Err(err)
            }
        }
    }

    /// Writes every count not yet written (at shutdown).
    pub async fn flush(&self, store: &dyn Store, now: DateTime<Utc>) {
        let pending: Vec<(Uuid, DateTime<Utc>, i64)> = {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            keys.iter_mut()
                .filter(|(_, s)| s.pending > 0)
                .map(|(key, s)| (*key, s.window, std::mem::take(&mut s.pending)))
                .collect()
        };
        for (key, window, n) in pending {
            if let Err(err) = store.add_api_requests(key, window, n, now).await {
                tracing::warn!(%key, %err, "could not write API request counts at shutdown");
            }
        }
    }
}

//! API requests counted against each key's hourly limit: in memory, added to the database at most
//! once a second per key, and only as often as the limits need.
//!
//! Writing every request's count made each API call a database write. Here a key's first request
//! in a window adds what this instance counted to the shared row (`api_key_usage`) and reads back
//! the total of every instance; later requests answer from memory until the count is due again:
//! at least a second after the last write, once what this instance holds unwritten is a sixteenth
//! of what is left of the key's hourly limit or of its organization's daily quota, and at the
//! latest after 30 seconds. One instance therefore limits exactly; several share a limit that
//! sees the other instances' requests up to a second late when it is near, and up to 30 seconds
//! late while each holds a small share of what is left. What is counted but not yet written is
//! written at shutdown (`flush`); a crash loses at most 30 seconds of counts.
//!
//! Writing less often is not only fewer writes: on SQLite each write makes every reading
//! connection drop its map of the file at its next read and fault the pages in again, which cost
//! searches a tenth to a sixth of their throughput at one write a second (docs/performance.md).

use app::api::billing;
use app::domain::billing::{Need, Quota, day_start};
use app::domain::{OrgId, UserId};
use app::error::AppError;
use app::ports::{Services, Store, StoreResult};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub struct RequestCounter {
    keys: Mutex<HashMap<Uuid, Slot>>,
    /// The least time between two writes of a key's count.
    sync_every: Duration,
    /// The most time a key's count stays unwritten.
    sync_within: Duration,
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
        Self { keys: Mutex::default(), sync_every: Duration::from_secs(1), sync_within: Duration::from_secs(30) }
    }
}

impl RequestCounter {
    /// Counts one request of `key` (whose hourly limit is `limit`) in the window starting at
    /// `window`; returns the window's count including it. `day_left`: how many more requests its
    /// organization's daily quota allows, if it has one.
    pub async fn count(
        &self,
        store: &dyn Store,
        key: Uuid,
        limit: i64,
        day_left: Option<i64>,
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
            let left = (limit - slot.synced - slot.pending).min(day_left.unwrap_or(i64::MAX));
            let due = slot.synced_at.is_none_or(|at| {
                let since = at.elapsed();
                since >= self.sync_every && (since >= self.sync_within || slot.pending.saturating_mul(16) >= left)
            });
            if !due {
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

/// Each organization's API requests today (UTC) against its plan's `api_requests_per_day`.
///
/// The day's count (every key of the organization, every instance) is read from the database at
/// most every few seconds per organization, and counted here in between: one instance limits
/// exactly; several may let through what the others counted in the last few seconds.
pub struct DailyQuota {
    orgs: Mutex<HashMap<OrgId, Day>>,
    refresh_every: Duration,
}

struct Day {
    start: DateTime<Utc>,
    limit: Option<i64>,
    /// The database's count at the last read plus what was admitted here since.
    used: i64,
    read_at: Instant,
}

impl Default for DailyQuota {
    fn default() -> Self {
        Self { orgs: Mutex::default(), refresh_every: Duration::from_secs(5) }
    }
}

impl DailyQuota {
    /// Admits one more request of `org` made with `user`'s key today, or answers 429
    /// `quota_exhausted` with the plan that would allow more; returns how many more the day's
    /// quota allows after it, if the plan has one. Call it before the request is counted against
    /// its key.
    pub async fn admit(
        &self,
        services: &Services,
        user: UserId,
        org: OrgId,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, AppError> {
        let start = day_start(now);
        let (fresh, counted) = {
            let orgs = self.orgs.lock().unwrap_or_else(|e| e.into_inner());
            let today = orgs.get(&org).filter(|d| d.start == start);
            (
                today.filter(|d| d.read_at.elapsed() < self.refresh_every).map(|d| (d.limit, d.used)),
                today.map_or(0, |d| d.used),
            )
        };
        let (limit, used) = match fresh {
            Some(known) => known,
            None => {
                let limit = Quota::ApiRequestsPerDay.limit(&billing::entitlements(services, user, org).await?.limits);
                // The database may not have this instance's last second yet.
                let used = services.store.org_api_requests(org, start).await?.max(counted);
                let day = Day { start, limit, used, read_at: Instant::now() };
                self.orgs.lock().unwrap_or_else(|e| e.into_inner()).insert(org, day);
                (limit, used)
            }
        };
        if limit.is_some_and(|l| used >= l) {
            // The plan's own words: why, and which plan would allow more.
            billing::require(services, user, org, Need::Quota { quota: Quota::ApiRequestsPerDay, used, adding: 1 })
                .await?;
        }
        if let Some(d) = self.orgs.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&org) {
            d.used += 1;
        }
        Ok(limit.map(|l| l - used - 1))
    }
}

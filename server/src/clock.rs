//! The test clock: system time plus an offset that only grows. The server uses it when started
//! with `CAIRN_TEST_CLOCK=1`, so end-to-end tests can fast-forward days through the
//! `advance_clock` server function; a production server runs on the system clock, which cannot
//! be moved.

use app::ports::Clock;
use chrono::{DateTime, Duration, Utc};
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Default)]
pub struct ShiftedClock {
    offset_ms: AtomicI64,
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    fn advance(&self, by: Duration) -> bool {
        if by < Duration::zero() {
            return false;
        }
        self.offset_ms.fetch_add(by.num_milliseconds(), Ordering::Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_forward_only() {
        let clock = ShiftedClock::default();
        let before = clock.now();
        assert!(clock.advance(Duration::days(2)));
        assert!(clock.now() - before >= Duration::days(2));
        assert!(!clock.advance(Duration::minutes(-1)));
        assert!(clock.now() - before < Duration::days(2) + Duration::minutes(1));
    }
}

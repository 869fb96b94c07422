//! The emulator's virtual clock. Nothing after "now" exists: conversations in progress have
//! emitted only what has happened so far, so recent buckets grow between polls.

use std::sync::Mutex;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};

/// Virtual time = `anchor + real elapsed × rate`. Rate 0 freezes time; rate 60 runs a minute a second.
#[derive(Debug)]
pub struct VirtualClock {
    state: Mutex<ClockState>,
}

#[derive(Debug, Clone, Copy)]
struct ClockState {
    virtual_anchor: Timestamp,
    real_anchor: Instant,
    rate: f64,
}

impl ClockState {
    fn now(&self) -> Timestamp {
        let elapsed = self.real_anchor.elapsed().as_secs_f64() * self.rate;
        let elapsed = SignedDuration::try_from_secs_f64(elapsed).unwrap_or(SignedDuration::MAX);
        self.virtual_anchor
            .saturating_add(elapsed)
            .expect("saturating add of a duration never fails")
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::real_time()
    }
}

impl VirtualClock {
    /// Follows the wall clock.
    pub fn real_time() -> Self {
        Self::starting_at(Timestamp::now(), 1.0)
    }

    pub fn starting_at(instant: Timestamp, rate: f64) -> Self {
        let state = ClockState {
            virtual_anchor: instant,
            real_anchor: Instant::now(),
            rate: rate.max(0.0),
        };
        Self {
            state: Mutex::new(state),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.lock().now()
    }

    pub fn rate(&self) -> f64 {
        self.lock().rate
    }

    /// Jumps to an instant, keeping the rate.
    pub fn set(&self, instant: Timestamp) {
        let mut state = self.lock();
        *state = ClockState {
            virtual_anchor: instant,
            real_anchor: Instant::now(),
            rate: state.rate,
        };
    }

    /// Jumps to an instant and sets the rate at once: no real time passes in between, so a
    /// frozen clock shows exactly `instant`.
    pub fn set_with_rate(&self, instant: Timestamp, rate: f64) {
        *self.lock() = ClockState {
            virtual_anchor: instant,
            real_anchor: Instant::now(),
            rate: rate.max(0.0),
        };
    }

    pub fn set_rate(&self, rate: f64) {
        let mut state = self.lock();
        *state = ClockState {
            virtual_anchor: state.now(),
            real_anchor: Instant::now(),
            rate: rate.max(0.0),
        };
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut state = self.lock();
        let now = state.now();
        *state = ClockState {
            virtual_anchor: now.saturating_add(by).expect("saturating add never fails"),
            real_anchor: Instant::now(),
            rate: state.rate,
        };
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_stays_and_jumps() {
        let t: Timestamp = "2024-05-01T00:00:00Z".parse().unwrap();
        let clock = VirtualClock::starting_at(t, 0.0);
        assert_eq!(clock.now(), t);
        clock.advance(SignedDuration::from_mins(15));
        assert_eq!(
            clock.now(),
            "2024-05-01T00:15:00Z".parse::<Timestamp>().unwrap()
        );
        clock.set(t);
        assert_eq!(clock.now(), t);
    }

    #[test]
    fn setting_an_instant_and_a_zero_rate_together_freezes_exactly_there() {
        let t: Timestamp = "2024-05-01T00:00:00Z".parse().unwrap();
        let clock = VirtualClock::starting_at(t, 1_000.0);
        let frozen: Timestamp = "2024-05-02T12:00:00Z".parse().unwrap();
        clock.set_with_rate(frozen, 0.0);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!((clock.now(), clock.rate()), (frozen, 0.0));
    }

    #[test]
    fn accelerated_clock_runs_faster() {
        let t: Timestamp = "2024-05-01T00:00:00Z".parse().unwrap();
        let clock = VirtualClock::starting_at(t, 3600.0);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(clock.now() >= "2024-05-01T00:01:00Z".parse::<Timestamp>().unwrap());
    }
}

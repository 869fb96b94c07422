//! The per-token request budget: fixed windows of real time (60 s), as the `inin-ratelimit-*`
//! headers describe them (count so far, allowed, seconds until the window resets).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue};

pub const WINDOW: Duration = Duration::from_secs(60);

/// The outcome of counting one request against its key's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStatus {
    pub count: u32,
    pub allowed: u32,
    pub reset_secs: u64,
}

impl RateStatus {
    pub fn exceeded(&self) -> bool {
        self.count > self.allowed
    }

    pub fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert("inin-ratelimit-count", HeaderValue::from(self.count));
        headers.insert("inin-ratelimit-allowed", HeaderValue::from(self.allowed));
        headers.insert("inin-ratelimit-reset", HeaderValue::from(self.reset_secs));
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

#[derive(Debug)]
pub struct RateLimiter {
    allowed: u32,
    windows: Mutex<HashMap<String, Window>>,
}

impl RateLimiter {
    pub fn new(allowed_per_minute: u32) -> Self {
        Self {
            allowed: allowed_per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request for `key` (a token, a client, or "anonymous") at `now`.
    pub fn hit(&self, key: &str, now: Instant) -> RateStatus {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > 10_000 {
            windows.retain(|_, w| now.duration_since(w.started) < WINDOW);
        }
        let window = windows.entry(key.to_string()).or_insert(Window {
            started: now,
            count: 0,
        });
        if now.duration_since(window.started) >= WINDOW {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        window.count = window.count.saturating_add(1);
        let remaining = WINDOW.saturating_sub(now.duration_since(window.started));
        RateStatus {
            count: window.count,
            allowed: self.allowed,
            reset_secs: ceil_secs(remaining).max(1),
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_per_key_and_resets_after_the_window() {
        let limiter = RateLimiter::new(3);
        let t0 = Instant::now();
        let counts: Vec<_> = (0..4).map(|_| limiter.hit("a", t0)).collect();
        assert_eq!(
            counts.iter().map(|s| s.exceeded()).collect::<Vec<_>>(),
            [false, false, false, true]
        );
        assert_eq!(counts[3].count, 4);
        assert_eq!(counts[0].reset_secs, 60);
        assert!(!limiter.hit("b", t0).exceeded());
        let later = limiter.hit("a", t0 + WINDOW);
        assert_eq!((later.count, later.exceeded()), (1, false));
        assert_eq!(
            limiter
                .hit("a", t0 + WINDOW + Duration::from_millis(30_500))
                .reset_secs,
            30
        );
    }
}

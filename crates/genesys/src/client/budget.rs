//! One rate budget per OAuth client, shared by every concurrent request: a GCRA limiter
//! (governor) sized by config, tightened when Genesys reports a lower limit, and paused as a
//! whole when Genesys answers 429 or reports the window spent.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::HeaderMap;
use tokio::time::Instant;

use super::events::{BudgetExhausted, BudgetTightened, BudgetWaited, Counters, InternalEvent};

pub const HEADER_COUNT: &str = "inin-ratelimit-count";
pub const HEADER_ALLOWED: &str = "inin-ratelimit-allowed";
pub const HEADER_RESET: &str = "inin-ratelimit-reset";

/// What Genesys reports about the current rate window on every response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    pub count: u32,
    pub allowed: u32,
    pub reset: Duration,
}

impl RateWindow {
    /// `None` unless all three `inin-ratelimit-*` headers are present and numeric.
    pub fn from_headers(headers: &HeaderMap) -> Option<RateWindow> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        Some(RateWindow {
            count: u32::try_from(number(HEADER_COUNT)?).ok()?,
            allowed: u32::try_from(number(HEADER_ALLOWED)?).ok()?,
            reset: Duration::from_secs(number(HEADER_RESET)?),
        })
    }

    pub fn remaining(&self) -> u32 {
        self.allowed.saturating_sub(self.count)
    }
}

#[derive(Debug)]
struct State {
    per_minute: u32,
    paused_until: Option<Instant>,
    in_flight: usize,
}

pub struct RateBudget {
    limiter: RwLock<Arc<DefaultDirectRateLimiter>>,
    state: Mutex<State>,
    /// Waiters take their turns in arrival order (tokio's mutex is fair). Without it, waiters
    /// woken together race for the slot, and a window can lose to later ones again and again
    /// while the watermark waits behind it.
    queue: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RateBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateBudget")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Held while a request is on the wire; counts it as in flight.
#[must_use]
pub struct Permit<'a> {
    budget: &'a RateBudget,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.budget.lock().in_flight -= 1;
    }
}

/// A small burst keeps a fixed-window server from seeing a full minute's budget at once on top
/// of the steady rate.
fn quota(per_minute: u32) -> Quota {
    let per_minute = per_minute.max(1);
    let period = Duration::from_secs(60) / per_minute;
    let burst = NonZeroU32::new((per_minute / 60).clamp(1, 10)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
        .allow_burst(burst)
}

impl RateBudget {
    pub fn new(per_minute: u32) -> Self {
        Self {
            limiter: RwLock::new(Arc::new(RateLimiter::direct(quota(per_minute)))),
            state: Mutex::new(State {
                per_minute,
                paused_until: None,
                in_flight: 0,
            }),
            queue: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding this lock leaves plain numbers behind: still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn per_minute(&self) -> u32 {
        self.lock().per_minute
    }

    /// Waits for a pause to end and for the limiter, then counts the request as in flight;
    /// the time it waited is counted in `counters`.
    pub async fn acquire(&self, counters: &Counters) -> Permit<'_> {
        let started = Instant::now();
        let permit = self.wait_for_turn().await;
        BudgetWaited {
            waited: started.elapsed(),
        }
        .emit(counters);
        permit
    }

    async fn wait_for_turn(&self) -> Permit<'_> {
        let _turn = self.queue.lock().await;
        loop {
            let paused_until = self
                .lock()
                .paused_until
                .filter(|until| *until > Instant::now());
            if let Some(until) = paused_until {
                tokio::time::sleep_until(until).await;
                continue;
            }
            let limiter = self
                .limiter
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            limiter.until_ready().await;
            let mut state = self.lock();
            // A 429 may have paused the budget while this task waited on the limiter.
            if state
                .paused_until
                .is_some_and(|until| until > Instant::now())
            {
                continue;
            }
            state.in_flight += 1;
            return Permit { budget: self };
        }
    }

    /// Stops every request from starting before `now + wait` (Retry-After on a 429).
    pub fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut state = self.lock();
        state.paused_until = Some(
            state
                .paused_until
                .map_or(until, |current| current.max(until)),
        );
    }

    pub fn paused_until(&self) -> Option<Instant> {
        self.lock()
            .paused_until
            .filter(|until| *until > Instant::now())
    }

    /// Learns from a response's `inin-ratelimit-*` headers: a lower `allowed` tightens the
    /// limiter; a window with no room left for the requests already in flight pauses the budget
    /// until the window resets. Call it while still holding the request's permit.
    pub fn observe(&self, window: RateWindow, counters: &Counters) {
        let (tighten_to, pause) = {
            let state = self.lock();
            let tighten_to =
                (window.allowed > 0 && window.allowed < state.per_minute).then_some(window.allowed);
            let others_in_flight = state.in_flight.saturating_sub(1);
            let spent = (window.remaining() as usize) <= others_in_flight;
            (
                tighten_to,
                spent.then(|| window.reset.max(Duration::from_secs(1))),
            )
        };
        if let Some(per_minute) = tighten_to {
            self.tighten(per_minute, counters);
        }
        if let Some(wait) = pause {
            self.pause(wait);
            BudgetExhausted { pause: wait }.emit(counters);
        }
    }

    fn tighten(&self, per_minute: u32, counters: &Counters) {
        let mut state = self.lock();
        if per_minute >= state.per_minute {
            return;
        }
        state.per_minute = per_minute;
        *self.limiter.write().unwrap_or_else(|p| p.into_inner()) =
            Arc::new(RateLimiter::direct(quota(per_minute)));
        drop(state);
        BudgetTightened { per_minute }.emit(counters);
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(count: &str, allowed: &str, reset: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HEADER_COUNT, HeaderValue::from_str(count).unwrap());
        h.insert(HEADER_ALLOWED, HeaderValue::from_str(allowed).unwrap());
        h.insert(HEADER_RESET, HeaderValue::from_str(reset).unwrap());
        h
    }

    #[test]
    fn parses_rate_headers() {
        let w = RateWindow::from_headers(&headers("1", "180", "61")).unwrap();
        assert_eq!(
            w,
            RateWindow {
                count: 1,
                allowed: 180,
                reset: Duration::from_secs(61)
            }
        );
        assert_eq!(w.remaining(), 179);
        assert_eq!(RateWindow::from_headers(&headers("x", "180", "61")), None);
        assert_eq!(RateWindow::from_headers(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn lower_allowed_tightens_never_loosens() {
        let counters = Counters::default();
        let budget = RateBudget::new(300);
        let _permit = budget.acquire(&counters).await;
        budget.observe(
            RateWindow {
                count: 1,
                allowed: 180,
                reset: Duration::from_secs(60),
            },
            &counters,
        );
        assert_eq!(budget.per_minute(), 180);
        budget.observe(
            RateWindow {
                count: 1,
                allowed: 600,
                reset: Duration::from_secs(60),
            },
            &counters,
        );
        assert_eq!(budget.per_minute(), 180);
        assert_eq!(counters.snapshot().budget_tightened, 1);
        assert!(budget.paused_until().is_none());
    }

    #[tokio::test]
    async fn spent_window_pauses_until_reset() {
        let counters = Counters::default();
        let budget = RateBudget::new(300);
        let _a = budget.acquire(&counters).await;
        let _b = budget.acquire(&counters).await;
        // One slot left, but another request is already in flight: nothing may start.
        budget.observe(
            RateWindow {
                count: 299,
                allowed: 300,
                reset: Duration::from_secs(7),
            },
            &counters,
        );
        let until = budget.paused_until().expect("paused");
        let left = until - Instant::now();
        assert!(
            left > Duration::from_secs(6) && left <= Duration::from_secs(7),
            "{left:?}"
        );
        assert_eq!(counters.snapshot().budget_paused_by_headers, 1);
    }

    /// Waiters get their turns in the order they came: a window waiting on the budget is
    /// never overtaken again and again by windows that started after it (its watermark would
    /// stall behind it).
    #[tokio::test]
    async fn waiters_are_served_in_arrival_order() {
        let counters = Arc::new(Counters::default());
        let budget = Arc::new(RateBudget::new(1_200));
        // Spend the burst, so every acquire below waits for the pace (one per 50 ms).
        for _ in 0..20 {
            drop(budget.acquire(&counters).await);
            if budget.limiter.read().unwrap().check().is_err() {
                break;
            }
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        for id in 0..6 {
            let (budget, counters, order) = (budget.clone(), counters.clone(), order.clone());
            waiters.push(tokio::spawn(async move {
                let _permit = budget.acquire(&counters).await;
                order.lock().unwrap().push(id);
            }));
            // Each arrives while the ones before it are still waiting.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for waiter in waiters {
            waiter.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn pause_holds_back_acquire() {
        let counters = Counters::default();
        let budget = RateBudget::new(6000);
        budget.pause(Duration::from_millis(300));
        let started = std::time::Instant::now();
        let _permit = budget.acquire(&counters).await;
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(290), "{waited:?}");
        let counted = counters.snapshot().budget_wait;
        assert!(
            counted >= Duration::from_millis(290) && counted <= waited,
            "the wait is counted: {counted:?} of {waited:?}"
        );
    }
}

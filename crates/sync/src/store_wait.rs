//! Waiting out a store that is down or restarting (a PostgreSQL restart or failover, the
//! network to it cut): the call that met it is made again after a pause that doubles from
//! 0.5 s up to 30 s, until the store answers or a stop is asked for. Which errors are worth
//! waiting for is the store's to say ([`warehouse::StoreError::is_unavailable`]); any other
//! fails at once. Everything that meets one outage (every window in flight, the lease, the
//! run's record) shares it, so one line is logged per pause, not one per caller.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::time::Instant;
use warehouse::StoreError;

use crate::engine::SyncError;
use crate::metrics::{StoreBack, StoreUnavailable, SyncEvent, SyncMetrics};
use crate::stop::Stop;

/// How long to pause before asking an unavailable store again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first pause.
    pub first: Duration,
    /// The longest pause: a store back after a long outage is found within this.
    pub cap: Duration,
}

impl Backoff {
    /// 0.5 s, 1 s, 2 s, … 30 s: a restart (a second or two) is caught at once, a long outage
    /// costs a request every half minute.
    pub const DEFAULT: Backoff = Backoff {
        first: Duration::from_millis(500),
        cap: Duration::from_secs(30),
    };

    /// The pauses of one outage, in order (backon's exponential schedule, without jitter:
    /// one outage is one line per pause, whoever met it).
    pub fn pauses(&self) -> impl Iterator<Item = Duration> + use<> {
        let cap = self.cap;
        self.schedule().map(move |pause| pause.min(cap))
    }

    fn schedule(&self) -> ExponentialBackoff {
        ExponentialBuilder::default()
            .with_min_delay(self.first)
            .with_max_delay(self.cap)
            .with_factor(2.0)
            .without_max_times()
            .build()
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The outage a process is waiting out, if any: shared by everything that uses its store.
#[derive(Debug, Default)]
pub struct StoreOutage {
    backoff: Backoff,
    current: Mutex<Option<Outage>>,
}

#[derive(Debug)]
struct Outage {
    began: Instant,
    /// Pauses so far.
    pauses: u32,
    /// The lengths of the pauses still to come.
    schedule: ExponentialBackoff,
    next_attempt: Instant,
}

/// A pause that began: the line to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NewPause {
    nth: u32,
    length: Duration,
}

impl StoreOutage {
    pub fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            current: Mutex::new(None),
        }
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<Outage>> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A call found the store unavailable at `now`: when to try again, and the pause to
    /// announce if this failure began one. A failure while a pause is under way (another
    /// window in flight) joins it; one after it ended (that attempt failed too) begins a
    /// longer one.
    fn failed(&self, now: Instant) -> (Instant, Option<NewPause>) {
        let mut current = self.current();
        let outage = current.get_or_insert_with(|| Outage {
            began: now,
            pauses: 0,
            schedule: self.backoff.schedule(),
            next_attempt: now,
        });
        if outage.pauses > 0 && outage.next_attempt > now {
            return (outage.next_attempt, None);
        }
        outage.pauses += 1;
        let length = (outage.schedule.next())
            .unwrap_or(self.backoff.cap)
            .min(self.backoff.cap);
        outage.next_attempt = now + length;
        let pause = NewPause {
            nth: outage.pauses,
            length,
        };
        (outage.next_attempt, Some(pause))
    }

    /// A call succeeded: the outage, if there was one, is over.
    fn answered(&self) -> Option<Outage> {
        self.current().take()
    }
}

/// How a wait for the store ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// Time to try again.
    Again,
    /// A stop was asked for: the caller gives up (its write rolled back, nothing half-written).
    Stopped,
}

/// An error that may be the store being out of reach for now.
pub trait MaybeUnavailable {
    /// The store's error, if it is one worth waiting out.
    fn unavailable(&self) -> Option<&StoreError>;
}

impl MaybeUnavailable for StoreError {
    fn unavailable(&self) -> Option<&StoreError> {
        self.is_unavailable().then_some(self)
    }
}

impl MaybeUnavailable for SyncError {
    fn unavailable(&self) -> Option<&StoreError> {
        match self {
            SyncError::Store { source, .. } => source.unavailable(),
            SyncError::Plan { .. } | SyncError::StoreTask { .. } => None,
        }
    }
}

/// What a caller needs to wait out an outage: the process's outage, its stop, its counters.
#[derive(Debug, Clone)]
pub struct StoreWait {
    outage: Arc<StoreOutage>,
    stop: Stop,
    metrics: Arc<SyncMetrics>,
}

impl StoreWait {
    pub fn new(outage: Arc<StoreOutage>, stop: Stop, metrics: Arc<SyncMetrics>) -> Self {
        Self {
            outage,
            stop,
            metrics,
        }
    }

    /// After `error` (one [`MaybeUnavailable::unavailable`] gave), met by `dataset`'s work:
    /// waits until the store is worth asking again, saying so once per pause.
    pub async fn wait(&self, dataset: &str, error: &StoreError) -> Waited {
        let (until, new_pause) = self.outage.failed(Instant::now());
        if let Some(pause) = new_pause {
            StoreUnavailable {
                dataset,
                error,
                nth: pause.nth,
                pause: pause.length,
            }
            .emit(&self.metrics);
        }
        tokio::select! {
            biased;
            () = self.stop.stopped() => Waited::Stopped,
            () = tokio::time::sleep_until(until) => Waited::Again,
        }
    }

    /// A call to the store succeeded: an outage, if there was one, is over.
    pub fn answered(&self, dataset: &str) {
        if let Some(outage) = self.outage.answered() {
            StoreBack {
                dataset,
                after: outage.began.elapsed(),
                pauses: outage.pauses,
            }
            .emit(&self.metrics);
        }
    }

    /// `call`, made again after each wait while it fails because the store is unavailable.
    /// Any other failure, or a stop while waiting, returns the call's error.
    pub async fn retry<T, E: MaybeUnavailable>(
        &self,
        dataset: &str,
        mut call: impl AsyncFnMut() -> Result<T, E>,
    ) -> Result<T, E> {
        loop {
            let error = match call().await {
                Ok(value) => {
                    self.answered(dataset);
                    return Ok(value);
                }
                Err(error) => error,
            };
            let Some(unavailable) = error.unavailable() else {
                return Err(error);
            };
            if self.wait(dataset, unavailable).await == Waited::Stopped {
                return Err(error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stop::StopSwitch;
    use warehouse::PostgresError;

    fn down() -> StoreError {
        StoreError::Postgres(PostgresError::Unreachable {
            host: "db".into(),
            port: 5432,
            reason: "connection refused".into(),
        })
    }

    fn fault() -> StoreError {
        StoreError::Postgres(PostgresError::Statement("syntax error".into()))
    }

    const QUICK: Backoff = Backoff {
        first: Duration::from_millis(5),
        cap: Duration::from_millis(20),
    };

    fn waiting(stop: Stop) -> (StoreWait, Arc<SyncMetrics>) {
        let metrics = Arc::new(SyncMetrics::default());
        let outage = Arc::new(StoreOutage::new(QUICK));
        (StoreWait::new(outage, stop, Arc::clone(&metrics)), metrics)
    }

    fn store_waits(metrics: &SyncMetrics) -> u64 {
        let mut text = String::new();
        metrics.render(&mut text);
        let line = text
            .lines()
            .find(|l| l.starts_with("genesys_bi_sync_store_waits_total{dataset=\"d\"}"));
        line.map_or(0, |l| l.rsplit(' ').next().unwrap().parse().unwrap())
    }

    #[test]
    fn pauses_double_up_to_the_cap() {
        let backoff = Backoff::DEFAULT;
        let pauses: Vec<u64> = (backoff.pauses().take(8))
            .map(|pause| pause.as_millis() as u64)
            .collect();
        assert_eq!(
            pauses,
            [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
        );
        assert_eq!(backoff.pauses().nth(1_000), Some(backoff.cap));
    }

    #[test]
    fn failures_during_a_pause_join_it_and_a_failed_attempt_begins_a_longer_one() {
        let outage = StoreOutage::new(Backoff::DEFAULT);
        let t0 = Instant::now();
        let (until, first) = outage.failed(t0);
        assert_eq!(
            first,
            Some(NewPause {
                nth: 1,
                length: Duration::from_millis(500)
            })
        );
        // Another window in flight fails during the pause: no new line, the same attempt.
        let (joined, none) = outage.failed(t0 + Duration::from_millis(100));
        assert_eq!((joined, none), (until, None));
        // The attempt at the end of the pause fails: a pause twice as long.
        let (_, second) = outage.failed(until);
        assert_eq!(second.map(|p| p.nth), Some(2));
        assert_eq!(second.map(|p| p.length), Some(Duration::from_secs(1)));
        assert_eq!(outage.answered().map(|o| o.pauses), Some(2));
        assert!(outage.answered().is_none(), "the outage ended once");
    }

    #[tokio::test]
    async fn a_call_is_made_again_until_the_store_answers() {
        let (wait, metrics) = waiting(Stop::never());
        let mut calls = 0;
        let answer = wait
            .retry("d", async || {
                calls += 1;
                if calls < 4 { Err(down()) } else { Ok(calls) }
            })
            .await;
        assert_eq!(answer.unwrap(), 4);
        assert_eq!(store_waits(&metrics), 3, "one pause per failed attempt");
    }

    #[tokio::test]
    async fn a_fault_is_not_waited_for() {
        let (wait, metrics) = waiting(Stop::never());
        let mut calls = 0;
        let answer: Result<(), _> = wait
            .retry("d", async || {
                calls += 1;
                Err(fault())
            })
            .await;
        assert!(matches!(
            answer,
            Err(StoreError::Postgres(PostgresError::Statement(_)))
        ));
        assert_eq!(calls, 1);
        assert_eq!(store_waits(&metrics), 0);
    }

    #[tokio::test]
    async fn a_stop_ends_the_wait_with_the_stores_error() {
        let (switch, stop) = StopSwitch::new();
        let (wait, _) = waiting(stop);
        let mut calls = 0;
        let answer: Result<(), _> = wait
            .retry("d", async || {
                calls += 1;
                if calls == 2 {
                    switch.stop();
                }
                Err(down())
            })
            .await;
        assert!(answer.unwrap_err().is_unavailable());
        assert_eq!(calls, 2, "no call after the stop");
    }
}

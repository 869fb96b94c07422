//! Leases taken in turn: a pass over a dataset holds the dataset's lease in the store for as
//! long as it works, renewing it every third of its TTL. Another process that wants the dataset
//! meanwhile either waits for the lease or skips the dataset until its next turn.

use std::sync::Arc;
use std::time::Duration;

use jiff::tz::TimeZone;
use tokio::task::JoinHandle;
use warehouse::{Acquired, Lease, LeaseHolder, LeaseToken, Store, StoreError};

use crate::engine::SyncError;
use crate::stop::Stop;
use crate::store_wait::{MaybeUnavailable, StoreWait};

/// How long a lease lasts unless renewed: long enough that a busy store never lets a working
/// pass's lease lapse, short enough that a killed pass's dataset is free again within a minute.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(60);

/// What a pass does when another process holds the dataset's lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenHeld {
    /// Wait until the lease is released or lapses.
    Wait,
    /// Leave the dataset to its holder.
    Skip,
}

/// How passes take turns: who this process is, and how long its leases last.
#[derive(Debug, Clone)]
pub struct Turns {
    pub holder: LeaseHolder,
    pub ttl: Duration,
    pub when_held: WhenHeld,
}

impl Default for Turns {
    fn default() -> Self {
        Self {
            holder: LeaseHolder::this_process(),
            ttl: DEFAULT_LEASE_TTL,
            when_held: WhenHeld::Wait,
        }
    }
}

/// Another process is syncing the dataset. Its message is the line users see:
/// `queue_performance is being synced by pid 1234 on host-a since 12:00:03`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{} is being synced by pid {} on {} since {}",
    .0.dataset, .0.holder.pid, .0.holder.host, since(.0)
)]
pub struct Busy(pub Lease);

fn since(lease: &Lease) -> String {
    lease
        .acquired
        .to_zoned_datetime(TimeZone::system())
        .strftime("%H:%M:%S")
        .to_string()
}

/// The outcome of asking for a dataset.
#[derive(Debug)]
pub enum Turn {
    Mine(HeldLease),
    /// Held by another process, and the pass skips rather than waits.
    Busy(Busy),
    /// A stop came while waiting.
    Stopped,
}

/// How often a waiting pass looks again: a tenth of the TTL, within 50 ms and 1 s.
fn poll_every(ttl: Duration) -> Duration {
    (ttl / 10).clamp(Duration::from_millis(50), Duration::from_secs(1))
}

/// Takes `dataset`'s lease, waiting for it or not as `turns` says; `on_wait` is called once,
/// when the wait begins.
pub async fn take_turn<St: Store + 'static>(
    store: &Arc<St>,
    dataset: &str,
    turns: &Turns,
    stop: &Stop,
    mut on_wait: impl FnMut(&Busy),
) -> Result<Turn, SyncError> {
    let mut waiting = false;
    loop {
        if stop.is_stopped() {
            return Ok(Turn::Stopped);
        }
        let asking = Arc::clone(store);
        let (name, holder, ttl) = (dataset.to_string(), turns.holder.clone(), turns.ttl);
        let acquired = blocking(dataset, move || asking.acquire_lease(&name, &holder, ttl)).await?;
        let lease = match acquired {
            Acquired::Granted(token) => {
                return Ok(Turn::Mine(HeldLease::renewing(
                    Arc::clone(store),
                    token,
                    turns.ttl,
                )));
            }
            Acquired::HeldBy(lease) => lease,
        };
        if turns.when_held == WhenHeld::Skip {
            return Ok(Turn::Busy(Busy(lease)));
        }
        if !waiting {
            waiting = true;
            on_wait(&Busy(lease));
        }
        tokio::select! {
            biased;
            () = stop.stopped() => return Ok(Turn::Stopped),
            () = tokio::time::sleep(poll_every(turns.ttl)) => {}
        }
    }
}

async fn blocking<T: Send + 'static>(
    dataset: &str,
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SyncError::StoreTask {
            dataset: dataset.to_string(),
            reason: e.to_string(),
        })?
        .map_err(|source| SyncError::Store {
            dataset: dataset.to_string(),
            source,
        })
}

/// A lease this process holds, renewed in the background until released or dropped. If a
/// renewal is refused the lease is gone: the renewing stops, and the pass's next write is
/// refused by the store's fencing check, which ends the pass.
pub struct HeldLease {
    token: LeaseToken,
    release: Release,
    renewing: JoinHandle<()>,
}

type Release = Arc<dyn Fn() -> Result<(), StoreError> + Send + Sync>;

impl std::fmt::Debug for HeldLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldLease")
            .field("token", &self.token)
            .finish()
    }
}

impl HeldLease {
    fn renewing<St: Store + 'static>(store: Arc<St>, token: LeaseToken, ttl: Duration) -> Self {
        let renewer = Arc::clone(&store);
        let renewed = token.clone();
        let renewing = tokio::spawn(async move {
            let mut pause = ttl / 3;
            loop {
                tokio::time::sleep(pause).await;
                let (store, lease) = (Arc::clone(&renewer), renewed.clone());
                let outcome =
                    blocking(&renewed.dataset, move || store.renew_lease(&lease, ttl)).await;
                pause = match outcome {
                    Ok(()) => ttl / 3,
                    // The lease is still ticking while the store restarts: ask again soon, so
                    // that it is renewed as soon as the store is back.
                    Err(e) if e.unavailable().is_some() => poll_every(ttl),
                    Err(e) => {
                        tracing::warn!(dataset = %renewed.dataset, error = %e, "Could not renew the dataset's lease; its next write will be refused.");
                        return;
                    }
                };
            }
        });
        let released = token.clone();
        Self {
            token,
            release: Arc::new(move || store.release_lease(&released)),
            renewing,
        }
    }

    pub fn token(&self) -> &LeaseToken {
        &self.token
    }

    /// Stops renewing and frees the dataset for the next writer at once.
    pub async fn release(self) -> Result<(), SyncError> {
        self.renewing.abort();
        self.release_once().await
    }

    /// Like [`HeldLease::release`], waiting out an unavailable store (see
    /// [`crate::store_wait`]); a stop while waiting leaves the lease to lapse by its TTL.
    pub async fn release_waiting(self, waits: &StoreWait) -> Result<(), SyncError> {
        self.renewing.abort();
        waits
            .retry(&self.token.dataset, async || self.release_once().await)
            .await
    }

    async fn release_once(&self) -> Result<(), SyncError> {
        let release = Arc::clone(&self.release);
        blocking(&self.token.dataset, move || release()).await
    }
}

impl Drop for HeldLease {
    /// A lease dropped without release lapses by its TTL.
    fn drop(&mut self) {
        self.renewing.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_polls_within_bounds() {
        assert_eq!(poll_every(Duration::from_secs(60)), Duration::from_secs(1));
        assert_eq!(
            poll_every(Duration::from_secs(2)),
            Duration::from_millis(200)
        );
        assert_eq!(poll_every(Duration::ZERO), Duration::from_millis(50));
    }
}

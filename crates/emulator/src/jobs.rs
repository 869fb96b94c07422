//! Async analytics jobs (aggregates and details share the lifecycle): QUEUED → PENDING →
//! FULFILLED after a real-time delay (FAILED if the computation failed), CANCELLED on DELETE,
//! EXPIRED some time after completion. Results are computed once and paged by opaque cursor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use genesys::interval::format_instant;
use genesys::jobs::{AsyncQueryStatus, JobState};
use jiff::{SignedDuration, Timestamp};

use crate::error::ApiError;

struct Job<R> {
    submitted: Instant,
    submission_date: Timestamp,
    cancelled: bool,
    /// When the computation finished (successfully or not).
    computed: Option<Instant>,
    failure: Option<String>,
    /// Dropped once the job is cancelled or expired.
    results: Option<Arc<R>>,
}

/// A job's state at one instant, with its results when readable.
pub struct JobView<R> {
    pub status: AsyncQueryStatus,
    pub results: Option<Arc<R>>,
}

pub struct JobStore<R> {
    delay: Duration,
    expiry: Duration,
    jobs: Mutex<HashMap<String, Job<R>>>,
}

impl<R> JobStore<R> {
    pub fn new(delay: Duration, expiry: Duration) -> Self {
        Self {
            delay,
            expiry,
            jobs: Mutex::new(HashMap::new()),
        }
    }

    /// Registers a job submitted at virtual `submission_date`; its results come via [`Self::complete`].
    /// Results of jobs that expired meanwhile are freed: a long-running emulator (a demo, a
    /// benchmark) holds the results of the jobs still readable, not of every job it ran.
    pub fn submit(&self, submission_date: Timestamp) -> String {
        self.free_expired(Instant::now());
        let id = crate::ids::random_uuid().to_string();
        let job = Job {
            submitted: Instant::now(),
            submission_date,
            cancelled: false,
            computed: None,
            failure: None,
            results: None,
        };
        self.lock().insert(id.clone(), job);
        id
    }

    pub fn complete(&self, id: &str, outcome: Result<R, String>) {
        if let Some(job) = self.lock().get_mut(id) {
            match outcome {
                Ok(results) => job.results = Some(Arc::new(results)),
                Err(message) => job.failure = Some(message),
            }
            job.computed = Some(Instant::now());
        }
    }

    /// `None` for an unknown id.
    pub fn view(&self, id: &str, now: Instant) -> Option<JobView<R>> {
        let mut jobs = self.lock();
        let job = jobs.get_mut(id)?;
        let state = self.state_of(job, now);
        if matches!(state, JobState::Expired | JobState::Cancelled) {
            job.results = None;
        }
        Some(self.render(job, state))
    }

    /// DELETE: `false` for an unknown id. The job's results are freed at once; its status
    /// stays readable (CANCELLED).
    pub fn cancel(&self, id: &str) -> bool {
        match self.lock().get_mut(id) {
            Some(job) => {
                job.cancelled = true;
                job.results = None;
                true
            }
            None => false,
        }
    }

    fn free_expired(&self, now: Instant) {
        let mut jobs = self.lock();
        for job in jobs.values_mut().filter(|job| job.results.is_some()) {
            if self.state_of(job, now) == JobState::Expired {
                job.results = None;
            }
        }
    }

    fn state_of(&self, job: &Job<R>, now: Instant) -> JobState {
        let elapsed = now.saturating_duration_since(job.submitted);
        if job.cancelled {
            return JobState::Cancelled;
        }
        let Some(computed) = job.computed else {
            return if elapsed < self.delay / 2 {
                JobState::Queued
            } else {
                JobState::Pending
            };
        };
        if elapsed < self.delay {
            return if elapsed < self.delay / 2 {
                JobState::Queued
            } else {
                JobState::Pending
            };
        }
        let completed = computed.max(job.submitted + self.delay);
        if now.saturating_duration_since(completed) >= self.expiry {
            JobState::Expired
        } else if job.failure.is_some() {
            JobState::Failed
        } else {
            JobState::Fulfilled
        }
    }

    fn render(&self, job: &Job<R>, state: JobState) -> JobView<R> {
        let virtual_after = |d: Duration| {
            let d = SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
            format_instant(
                job.submission_date
                    .saturating_add(d)
                    .unwrap_or(job.submission_date),
            )
        };
        let completed = matches!(
            state,
            JobState::Fulfilled | JobState::Failed | JobState::Expired
        );
        let status = AsyncQueryStatus {
            state,
            error_message: job.failure.clone().filter(|_| state == JobState::Failed),
            expiration_date: Some(virtual_after(self.delay + self.expiry)),
            submission_date: Some(format_instant(job.submission_date)),
            completion_date: completed.then(|| virtual_after(self.delay)),
        };
        let results = job.results.clone().filter(|_| state == JobState::Fulfilled);
        JobView { status, results }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job<R>>> {
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The results of a job that is not FULFILLED: 404 once gone, 400 while not ready.
pub fn results_unavailable(status: &AsyncQueryStatus) -> ApiError {
    match status.state {
        JobState::Expired => {
            ApiError::not_found("The job has expired; its results are no longer available.")
        }
        JobState::Failed => ApiError::bad_request(format!(
            "The job failed: {}",
            status.error_message.as_deref().unwrap_or("unknown error")
        )),
        state => ApiError::bad_request(format!(
            "The job is {state:?}; results are only available once it is FULFILLED."
        )),
    }
}

pub fn unknown_job(id: &str) -> ApiError {
    ApiError::not_found(format!("Job {id} was not found."))
}

/// Opaque cursor = the offset of the next item, bound to the job it belongs to.
pub fn encode_cursor(job_id: &str, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{job_id}:{offset}"))
}

pub fn decode_cursor(job_id: &str, cursor: Option<&str>, len: usize) -> Result<usize, ApiError> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(0);
    };
    let invalid = || ApiError::bad_request(format!("Invalid cursor `{cursor}` for job {job_id}."));
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    let (owner, offset) = raw.rsplit_once(':').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    if owner != job_id || offset > len {
        return Err(invalid());
    }
    Ok(offset)
}

/// Items `[offset, offset + size)` and the offset of the next page, if any.
pub fn page<T: Clone>(items: &[T], offset: usize, size: usize) -> (Vec<T>, Option<usize>) {
    let start = offset.min(items.len());
    let end = start.saturating_add(size.max(1)).min(items.len());
    (
        items[start..end].to_vec(),
        (end < items.len()).then_some(end),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lifecycle_walks_queued_pending_fulfilled_expired() {
        let store: JobStore<Vec<u8>> =
            JobStore::new(Duration::from_secs(10), Duration::from_secs(100));
        let id = store.submit(Timestamp::UNIX_EPOCH);
        let t0 = Instant::now();
        let state = |at: Duration| store.view(&id, t0 + at).unwrap().status.state;
        assert_eq!(state(Duration::ZERO), JobState::Queued);
        store.complete(&id, Ok(vec![1, 2, 3]));
        assert_eq!(state(Duration::from_secs(6)), JobState::Pending);
        assert_eq!(state(Duration::from_secs(11)), JobState::Fulfilled);
        assert_eq!(
            store
                .view(&id, t0 + Duration::from_secs(11))
                .unwrap()
                .results
                .unwrap()
                .as_slice(),
            [1, 2, 3]
        );
        assert_eq!(state(Duration::from_secs(200)), JobState::Expired);
        assert!(store.view("other", t0).is_none());
    }

    #[test]
    fn failure_and_cancellation() {
        let store: JobStore<()> = JobStore::new(Duration::ZERO, Duration::from_secs(100));
        let id = store.submit(Timestamp::UNIX_EPOCH);
        store.complete(&id, Err("boom".into()));
        let view = store.view(&id, Instant::now()).unwrap();
        assert_eq!(
            (view.status.state, view.status.error_message.as_deref()),
            (JobState::Failed, Some("boom"))
        );
        assert!(store.cancel(&id));
        assert_eq!(
            store.view(&id, Instant::now()).unwrap().status.state,
            JobState::Cancelled
        );
        assert!(!store.cancel("nope"));
    }

    /// Results are memory: a deleted job's go at once, an expired one's by the next submit,
    /// so a long-running emulator holds only the results still readable.
    #[test]
    fn results_are_freed_when_deleted_or_expired() {
        let store: JobStore<Vec<u8>> = JobStore::new(Duration::ZERO, Duration::from_millis(50));
        let results = vec![0u8; 1024];
        let deleted = store.submit(Timestamp::UNIX_EPOCH);
        let expiring = store.submit(Timestamp::UNIX_EPOCH);
        for id in [&deleted, &expiring] {
            store.complete(id, Ok(results.clone()));
        }
        let held = |id: &str| store.lock().get(id).unwrap().results.is_some();
        assert!(store.cancel(&deleted));
        assert!(!held(&deleted) && held(&expiring));
        std::thread::sleep(Duration::from_millis(60));
        store.submit(Timestamp::UNIX_EPOCH);
        assert!(!held(&expiring), "freed by the next submit once expired");
        assert_eq!(
            store.view(&expiring, Instant::now()).unwrap().status.state,
            JobState::Expired
        );
    }

    #[test]
    fn cursors_are_bound_to_their_job() {
        let cursor = encode_cursor("a", 5);
        assert_eq!(decode_cursor("a", Some(&cursor), 10).unwrap(), 5);
        assert!(decode_cursor("b", Some(&cursor), 10).is_err());
        assert!(decode_cursor("a", Some(&cursor), 4).is_err());
        assert!(decode_cursor("a", Some("%%%"), 10).is_err());
        assert_eq!(decode_cursor("a", None, 10).unwrap(), 0);
    }

    proptest! {
        #[test]
        fn pages_cover_every_item_exactly_once(len in 0usize..300, size in 1usize..50) {
            let items: Vec<usize> = (0..len).collect();
            let (mut seen, mut next) = (Vec::new(), Some(0));
            while let Some(offset) = next {
                let (chunk, following) = page(&items, offset, size);
                prop_assert!(chunk.len() <= size);
                seen.extend(chunk);
                next = following;
            }
            prop_assert_eq!(seen, items);
        }
    }
}

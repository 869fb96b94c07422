//! `run`'s loop: each dataset when due, the directories at their cadence, until a stop.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::config::DatasetSpec;
use crate::stop::Stop;

/// How a scheduled pass ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassEnd {
    /// Done, or failed and reported by the pass itself: the schedule goes on.
    Finished,
    /// A stop was asked for: what was left undone, for the closing line.
    Stopped { left: String },
}

/// What the schedule runs: the caller's passes over the directories and over one dataset,
/// each reporting its own outcome and failures.
pub trait ScheduledPasses {
    /// Refreshes the directories.
    fn directories(&self) -> impl Future<Output = PassEnd>;
    /// One pass over `spec`, as of `now`.
    fn dataset(&self, spec: &DatasetSpec, now: Timestamp) -> impl Future<Output = PassEnd>;
    /// One restatement of `spec` (what is stored of its last `restate`, again), as of `now`.
    fn restatement(&self, spec: &DatasetSpec, now: Timestamp) -> impl Future<Output = PassEnd>;
}

/// Runs each dataset when due (every `spec.every`) and the directories every
/// `directories_every`, from now until `stop`; returns the line that says what was stopped.
/// A dataset with a `restate` reach is restated `restate_every` after its last restatement
/// (`last_restated`, as the store keeps it; one never restated counts from now), after its
/// pass when both are due. `fixed_now` replaces the clock in each pass (replays against the
/// emulator's clock).
pub async fn schedule(
    passes: &impl ScheduledPasses,
    specs: &[DatasetSpec],
    last_restated: &[Option<Timestamp>],
    directories_every: SignedDuration,
    fixed_now: Option<Timestamp>,
    stop: &Stop,
) -> String {
    let between_passes = "run stopped between passes (nothing was in flight)".to_string();
    let start = Timestamp::now();
    let mut due: Vec<Timestamp> = specs.iter().map(|_| start).collect();
    let mut restate_due: Vec<Option<Timestamp>> = specs
        .iter()
        .enumerate()
        .map(|(at, spec)| {
            let since = last_restated.get(at).copied().flatten().unwrap_or(start);
            (!spec.restate.is_zero()).then(|| since + spec.restate_every)
        })
        .collect();
    let mut directories_due = start;
    loop {
        let next = (due.iter().copied())
            .chain(restate_due.iter().flatten().copied())
            .min()
            .unwrap_or(start)
            .min(directories_due);
        let wait = Timestamp::now()
            .duration_until(next)
            .try_into()
            .unwrap_or(Duration::ZERO);
        tokio::select! {
            biased;
            () = stop.stopped() => return between_passes,
            () = tokio::time::sleep(wait) => {}
        }
        let now = Timestamp::now();
        if directories_due <= now {
            if let PassEnd::Stopped { .. } = passes.directories().await {
                return "run stopped while refreshing the directories (each is replaced whole or not at all)"
                    .into();
            }
            directories_due = now + directories_every;
        }
        for ((spec, due_at), restate_at) in specs.iter().zip(&mut due).zip(&mut restate_due) {
            if *due_at <= now {
                if stop.is_stopped() {
                    return between_passes;
                }
                let passed = passes.dataset(spec, fixed_now.unwrap_or(now)).await;
                if let PassEnd::Stopped { left } = passed {
                    return format!(
                        "run stopped ({left}); the next run resumes from the watermark"
                    );
                }
                *due_at = now + spec.every;
            }
            if restate_at.is_none_or(|when| when > now) {
                continue;
            }
            if stop.is_stopped() {
                return between_passes;
            }
            let restated = passes.restatement(spec, fixed_now.unwrap_or(now)).await;
            if let PassEnd::Stopped { left } = restated {
                return format!("run stopped restating ({left}); the next run restates again");
            }
            *restate_at = Some(now + spec.restate_every);
        }
    }
}

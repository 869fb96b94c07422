//! Passes that take turns, and the schedule that runs them. A [`Pass`] syncs datasets, each
//! under its lease in the store, and records the run; every window is written under the lease,
//! so a pass that stalled past its lease is refused at its next write (see
//! [`warehouse::leases`]). Another process that wants the dataset meanwhile either waits for
//! the lease (`sync`, `backfill`) or skips the dataset until its next turn (`run`, and
//! `--no-wait`). Different datasets have different leases and sync in parallel.
//!
//! [`schedule`] is `run`'s loop: each dataset when due, the directories at their cadence,
//! until a stop. The commands only print what a [`PassObserver`] is told.

mod pass;
mod schedule;
mod turns;

pub use pass::{CountsRequests, Pass, PassError, PassObserver, Quiet};
pub use schedule::{PassEnd, ScheduledPasses, schedule};
pub use turns::{Busy, DEFAULT_LEASE_TTL, HeldLease, Turn, Turns, WhenHeld, take_turn};

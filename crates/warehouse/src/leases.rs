//! Per-dataset leases: writers take turns. A lease names its holder (pid, host), when it was
//! taken and when it lapses, and carries a fencing token that grows by one each time the
//! dataset's lease changes hands. A window's write checks the token inside its own transaction,
//! so a holder that stalled past its lease (stopped, swapped out, partitioned) can never write
//! over the writer that took over. Released and expired leases keep their row, so the token
//! keeps growing.

use jiff::Timestamp;

/// Who asks for a lease: a process on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    pub pid: u32,
    pub host: String,
}

impl LeaseHolder {
    /// This process, on this machine.
    pub fn this_process() -> Self {
        Self {
            pid: std::process::id(),
            host: host_name(),
        }
    }
}

impl std::fmt::Display for LeaseHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on host {}", self.pid, self.host)
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// The proof of holding a dataset's lease, passed to every write made under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseToken {
    pub dataset: String,
    pub token: i64,
}

/// A dataset's current lease, as another writer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub dataset: String,
    pub token: i64,
    pub holder: LeaseHolder,
    pub acquired: Timestamp,
    pub expires: Timestamp,
}

/// What asking for a lease gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    Granted(LeaseToken),
    /// Someone else holds it and it has not lapsed.
    HeldBy(Lease),
}

//! The `leases` table and the fencing check a window's write transaction makes (what a lease
//! is: `crate::leases`).

use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::leases::{Acquired, Lease, LeaseHolder, LeaseToken};
use crate::{Result, StoreError};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS leases (
    dataset TEXT PRIMARY KEY,
    token INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    acquired_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
";

fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

fn instant(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn ttl_millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)
}

fn stored(c: &Connection, dataset: &str) -> Result<Option<Lease>> {
    Ok(c.query_row(
        "SELECT token, pid, host, acquired_ms, expires_ms FROM leases WHERE dataset = ?1",
        [dataset],
        |r| {
            Ok(Lease {
                dataset: dataset.to_string(),
                token: r.get(0)?,
                holder: LeaseHolder {
                    pid: r.get(1)?,
                    host: r.get(2)?,
                },
                acquired: instant(r.get(3)?),
                expires: instant(r.get(4)?),
            })
        },
    )
    .optional()?)
}

/// The lease on `dataset` if one is in force at `now`.
pub(crate) fn holder(c: &Connection, dataset: &str, now: Timestamp) -> Result<Option<Lease>> {
    Ok(stored(c, dataset)?.filter(|lease| lease.expires > now))
}

pub(crate) fn acquire(
    tx: &Transaction<'_>,
    dataset: &str,
    claimant: &LeaseHolder,
    ttl: Duration,
    now: Timestamp,
) -> Result<Acquired> {
    let previous = stored(tx, dataset)?;
    if let Some(lease) = previous.as_ref().filter(|lease| lease.expires > now) {
        return Ok(Acquired::HeldBy(lease.clone()));
    }
    let token = previous.map_or(1, |lease| lease.token + 1);
    tx.execute(
        "INSERT INTO leases (dataset, token, pid, host, acquired_ms, expires_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (dataset) DO UPDATE SET token = excluded.token, pid = excluded.pid,
             host = excluded.host, acquired_ms = excluded.acquired_ms, expires_ms = excluded.expires_ms",
        params![
            dataset,
            token,
            claimant.pid,
            claimant.host,
            millis(now),
            millis(now).saturating_add(ttl_millis(ttl))
        ],
    )?;
    Ok(Acquired::Granted(LeaseToken {
        dataset: dataset.to_string(),
        token,
    }))
}

/// Refuses unless `lease` is the dataset's lease in force at `now`: the fencing check.
pub(crate) fn check(c: &Connection, lease: &LeaseToken, now: Timestamp) -> Result<LeaseHolder> {
    match holder(c, &lease.dataset, now)? {
        Some(current) if current.token == lease.token => Ok(current.holder),
        current => Err(StoreError::LeaseLost {
            dataset: lease.dataset.clone(),
            token: lease.token,
            now_held_by: current.map(|l| l.holder.to_string()),
        }),
    }
}

pub(crate) fn renew(
    tx: &Transaction<'_>,
    lease: &LeaseToken,
    ttl: Duration,
    now: Timestamp,
) -> Result<()> {
    check(tx, lease, now)?;
    tx.execute(
        "UPDATE leases SET expires_ms = ?3 WHERE dataset = ?1 AND token = ?2",
        params![
            lease.dataset,
            lease.token,
            millis(now).saturating_add(ttl_millis(ttl))
        ],
    )?;
    Ok(())
}

/// Lets the lease lapse now, if it is still `lease`'s; the token stays for the next holder
/// to count on from.
pub(crate) fn release(tx: &Transaction<'_>, lease: &LeaseToken, now: Timestamp) -> Result<()> {
    tx.execute(
        "UPDATE leases SET expires_ms = min(expires_ms, ?3) WHERE dataset = ?1 AND token = ?2",
        params![lease.dataset, lease.token, millis(now)],
    )?;
    Ok(())
}

/// Adds what leases need to a store made before them: the table, and the token and writer
/// columns of the window log. Safe to run on every open.
pub(crate) fn migrate(c: &Connection) -> Result<()> {
    c.execute_batch(SCHEMA)?;
    let mut statement = c.prepare("SELECT name FROM pragma_table_info('windows')")?;
    let columns: Vec<String> = statement
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for (column, kind) in [("lease_token", "INTEGER"), ("writer", "TEXT")] {
        if !columns.iter().any(|c| c == column) {
            c.execute_batch(&format!("ALTER TABLE windows ADD COLUMN {column} {kind}"))?;
        }
    }
    Ok(())
}

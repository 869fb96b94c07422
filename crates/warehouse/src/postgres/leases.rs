//! The `leases` table in PostgreSQL and the fencing check a window's write transaction makes
//! (what a lease is: `crate::leases`). Time is the database's clock, not the caller's:
//! replicas on different hosts agree on when a lease lapses however their clocks drift.

use std::time::Duration;

use jiff::Timestamp;
use tokio_postgres::{GenericClient, Row};

use super::Fail;
use crate::StoreError;
use crate::leases::{Acquired, Lease, LeaseHolder, LeaseToken};

/// The database's clock, in Unix milliseconds.
const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

fn instant(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn ttl_millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)
}

/// A stored lease and the database's time; `None` for the placeholder a dataset's first
/// acquirer makes.
fn lease_of(dataset: &str, row: &Row) -> (Option<Lease>, i64) {
    let token: i64 = row.get(0);
    let lease = (token > 0).then(|| Lease {
        dataset: dataset.to_string(),
        token,
        holder: LeaseHolder {
            pid: u32::try_from(row.get::<_, i64>(1)).unwrap_or_default(),
            host: row.get(2),
        },
        acquired: instant(row.get(3)),
        expires: instant(row.get(4)),
    });
    (lease, row.get(5))
}

fn select(lock: &str) -> String {
    format!(
        "SELECT token, pid, host, acquired_ms, expires_ms, {NOW_MS} FROM leases WHERE dataset = $1 {lock}"
    )
}

/// The lease on `dataset` if one is in force now.
pub(crate) async fn holder(c: &impl GenericClient, dataset: &str) -> Result<Option<Lease>, Fail> {
    let Some(row) = c.query_opt(&select(""), &[&dataset]).await? else {
        return Ok(None);
    };
    let (lease, now) = lease_of(dataset, &row);
    Ok(lease.filter(|l| l.expires.as_millisecond() > now))
}

pub(crate) async fn acquire(
    tx: &impl GenericClient,
    dataset: &str,
    claimant: &LeaseHolder,
    ttl: Duration,
) -> Result<Acquired, Fail> {
    // A row to lock even for the first claimant, so two first claimants take turns.
    tx.execute(
        "INSERT INTO leases (dataset, token, pid, host, acquired_ms, expires_ms)
         VALUES ($1, 0, 0, '', 0, 0) ON CONFLICT (dataset) DO NOTHING",
        &[&dataset],
    )
    .await?;
    let row = tx.query_one(&select("FOR UPDATE"), &[&dataset]).await?;
    let (previous, now) = lease_of(dataset, &row);
    if let Some(lease) = previous
        .as_ref()
        .filter(|l| l.expires.as_millisecond() > now)
    {
        return Ok(Acquired::HeldBy(lease.clone()));
    }
    let token = previous.map_or(1, |lease| lease.token + 1);
    tx.execute(
        "UPDATE leases SET token = $2, pid = $3, host = $4, acquired_ms = $5, expires_ms = $6
         WHERE dataset = $1",
        &[
            &dataset,
            &token,
            &i64::from(claimant.pid),
            &claimant.host,
            &now,
            &now.saturating_add(ttl_millis(ttl)),
        ],
    )
    .await?;
    Ok(Acquired::Granted(LeaseToken {
        dataset: dataset.to_string(),
        token,
    }))
}

/// Refuses unless `lease` is the dataset's lease in force now: the fencing check. The row
/// stays share-locked until the transaction ends, so no one takes the lease over while the
/// window it guards is being written.
pub(crate) async fn check(
    tx: &impl GenericClient,
    lease: &LeaseToken,
) -> Result<LeaseHolder, Fail> {
    let row = tx
        .query_opt(&select("FOR SHARE"), &[&lease.dataset])
        .await?;
    let current = row.and_then(|row| {
        let (lease, now) = lease_of(&lease.dataset, &row);
        lease.filter(|l| l.expires.as_millisecond() > now)
    });
    match current {
        Some(current) if current.token == lease.token => Ok(current.holder),
        current => Err(Fail::Store(StoreError::LeaseLost {
            dataset: lease.dataset.clone(),
            token: lease.token,
            now_held_by: current.map(|l| l.holder.to_string()),
        })),
    }
}

pub(crate) async fn renew(
    tx: &impl GenericClient,
    lease: &LeaseToken,
    ttl: Duration,
) -> Result<(), Fail> {
    check(tx, lease).await?;
    tx.execute(
        &format!("UPDATE leases SET expires_ms = {NOW_MS} + $3 WHERE dataset = $1 AND token = $2"),
        &[&lease.dataset, &lease.token, &ttl_millis(ttl)],
    )
    .await?;
    Ok(())
}

/// Lets the lease lapse now, if it is still `lease`'s; the token stays for the next holder to
/// count on from.
pub(crate) async fn release(tx: &impl GenericClient, lease: &LeaseToken) -> Result<(), Fail> {
    tx.execute(
        &format!(
            "UPDATE leases SET expires_ms = least(expires_ms, {NOW_MS}) WHERE dataset = $1 AND token = $2"
        ),
        &[&lease.dataset, &lease.token],
    )
    .await?;
    Ok(())
}

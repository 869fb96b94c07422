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

/// `lease` if it is the dataset's lease in force now, with the database's time; else the
/// refusal naming who holds the dataset now.
fn in_force(lease: &LeaseToken, row: Option<Row>) -> Result<(Lease, i64), Fail> {
    let current = row.and_then(|row| {
        let (stored, now) = lease_of(&lease.dataset, &row);
        stored
            .filter(|l| l.expires.as_millisecond() > now)
            .map(|l| (l, now))
    });
    match current {
        Some((current, now)) if current.token == lease.token => Ok((current, now)),
        current => Err(Fail::Store(StoreError::LeaseLost {
            dataset: lease.dataset.clone(),
            token: lease.token,
            now_held_by: current.map(|(l, _)| l.holder.to_string()),
        })),
    }
}

/// How long `lease` has left, in milliseconds, refused unless it is in force. Locks nothing:
/// a write checks this first, so its renewals go on while it runs.
pub(crate) async fn time_left(c: &impl GenericClient, lease: &LeaseToken) -> Result<i64, Fail> {
    let row = c.query_opt(&select(""), &[&lease.dataset]).await?;
    let (current, now) = in_force(lease, row)?;
    Ok(current.expires.as_millisecond() - now)
}

/// Refuses unless `lease` is the dataset's lease in force now: the fencing check, the last
/// step of a window's write before its commit. The row stays share-locked until the commit,
/// so no one takes the lease over between the check and the commit.
pub(crate) async fn check(
    tx: &impl GenericClient,
    lease: &LeaseToken,
) -> Result<LeaseHolder, Fail> {
    let row = tx
        .query_opt(&select("FOR SHARE"), &[&lease.dataset])
        .await?;
    Ok(in_force(lease, row)?.0.holder)
}

/// The `application_name` a leased write's transaction carries, so the next holder of the
/// dataset's lease can find it ([`end_writes_before`]): the lease's token and a tag of the
/// store's schema and the dataset. The tag keeps the marker within the 63 bytes PostgreSQL
/// keeps, whatever the names, and tells apart stores in other schemas of the same database
/// (two deployments, or tests side by side), whose writes to a dataset of the same name are
/// none of this lease's business.
pub(crate) fn write_marker(schema: &str, lease: &LeaseToken) -> String {
    format!(
        "genesys-bi:{}:{}",
        lease.token,
        dataset_tag(schema, &lease.dataset)
    )
}

/// FNV-1a of `schema.dataset`, in hex: the same on every host and build, unlike std's hasher.
fn dataset_tag(schema: &str, dataset: &str) -> String {
    use std::hash::Hasher;
    let mut hasher = crate::fnv::Fnv::default();
    hasher.write(schema.as_bytes());
    hasher.write_u8(b'.');
    hasher.write(dataset.as_bytes());
    format!("{:016x}", hasher.finish())
}

/// Ends the sessions of this store still writing `lease.dataset` under an older lease: a
/// holder frozen past its lease (a paused VM, SIGSTOP) mid-transaction holds the dataset's
/// locks, and every write to the dataset would wait until it woke. Only sessions of the same
/// role, the ones a role may end; returns how many were ended.
pub(crate) async fn end_writes_before(
    c: &impl GenericClient,
    schema: &str,
    lease: &LeaseToken,
) -> Result<u64, Fail> {
    let ended = c
        .query(
            r"SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND usename = current_user
                AND pid <> pg_backend_pid()
                AND split_part(application_name, ':', 3) = $1
                AND CASE WHEN application_name ~ '^genesys-bi:[0-9]{1,18}:'
                         THEN split_part(application_name, ':', 2)::bigint END < $2",
            &[&dataset_tag(schema, &lease.dataset), &lease.token],
        )
        .await?;
    Ok(ended.iter().filter(|r| r.get::<_, bool>(0)).count() as u64)
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

//! Where each dataset stands: rows stored, windows logged, watermark, last write.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension};

use super::parse_instant;
use crate::schema::quote;
use crate::{DatasetStatus, Result};

/// Every dataset's status, by name.
pub(crate) fn all(c: &Connection) -> Result<Vec<DatasetStatus>> {
    let names: Vec<String> = c
        .prepare("SELECT name FROM datasets ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    names.into_iter().map(|name| status_of(c, name)).collect()
}

pub(crate) fn status_of(c: &Connection, name: String) -> Result<DatasetStatus> {
    let rows: i64 = c.query_row(&format!("SELECT count(*) FROM {}", quote(&name)), [], |r| {
        r.get(0)
    })?;
    let progress = progress_of(c, &name)?;
    let restated: Option<(Option<String>, Option<i64>)> = c
        .query_row(
            "SELECT restated_at, rows_restated FROM watermarks WHERE dataset = ?1",
            [&name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let restated = match restated {
        Some((Some(at), Some(rows))) => Some((parse_instant(at)?, rows as u64)),
        _ => None,
    };
    Ok(DatasetStatus {
        name,
        complete_through: progress.complete_through,
        rows: rows as u64,
        windows: progress.windows,
        last_written_at: progress.last_written_at,
        restated,
    })
}

/// A dataset's watermark and window log, without counting its rows (a full index scan).
pub(crate) struct Progress {
    pub complete_through: Option<Timestamp>,
    pub windows: u64,
    pub last_written_at: Option<Timestamp>,
}

pub(crate) fn progress_of(c: &Connection, name: &str) -> Result<Progress> {
    let (windows, last): (i64, Option<String>) = c.query_row(
        "SELECT count(*), max(written_at) FROM windows WHERE dataset = ?1",
        [name],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mark: Option<String> = c
        .query_row(
            "SELECT complete_through FROM watermarks WHERE dataset = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?;
    Ok(Progress {
        complete_through: mark.map(parse_instant).transpose()?,
        windows: windows as u64,
        last_written_at: last.map(parse_instant).transpose()?,
    })
}
